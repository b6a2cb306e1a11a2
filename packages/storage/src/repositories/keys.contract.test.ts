import { createPrivateKey, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ActorContext,
  type Clock,
  createSoftKeyStore,
  isDomainError,
  type KeyAlgorithm,
  kekFromKeyFile,
  openPrivateKey,
  type StoredKey,
  type UnitOfWork,
} from '@yiqian/core'
import { createVerifier, sm2PrivateKeyFromPkcs8 } from '@yiqian/gm'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from '../database.js'
import { migrateToLatest } from '../migrate.js'
import { createTestDatabase, type TestDatabase, testDialects } from '../testing.js'
import { createUnitOfWork } from '../unit-of-work.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const actor: ActorContext = { actor: 'user:keyadmin', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-k' }
const data = new TextEncoder().encode('tbs')

function storedKey(overrides: Partial<StoredKey> = {}): StoredKey {
  return {
    id: `ca-${randomBytes(8).toString('hex')}`,
    algorithm: 'sm2',
    label: '医院根 CA',
    purpose: 'ca',
    origin: 'generated',
    publicKey: new Uint8Array(randomBytes(91)),
    sealedPrivateKey: new Uint8Array(randomBytes(167)),
    kekId: 'kek-aaaaaaaaaaaaaaaa',
    createdAt: new Date(T0),
    sealedAt: new Date(T0),
    retiredAt: undefined,
    ...overrides,
  }
}

/** Every way a private key's bytes could be written down: raw, hex, base64. */
function encodingsOf(secret: Uint8Array): { raw: Buffer; text: string[] } {
  const raw = Buffer.from(secret)
  return {
    raw,
    text: [raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64'), raw.toString('base64url')],
  }
}

/** The secret parts of a PKCS#8 key: the whole DER, and the private scalar / exponent on its own. */
function secretsOf(algorithm: KeyAlgorithm, pkcs8: Uint8Array): Uint8Array[] {
  if (algorithm === 'sm2') return [pkcs8, sm2PrivateKeyFromPkcs8(pkcs8).privateKey]
  const jwk = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })
  return [pkcs8, new Uint8Array(Buffer.from(String(jwk.d), 'base64url'))]
}

for (const kind of testDialects()) {
  describe(`${kind}: keys`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let uow: UnitOfWork
    const clock: Clock = { now: () => new Date(T0) }

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      uow = createUnitOfWork(storage.db, clock)
    })
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })

    describe('repository', () => {
      it('stores and reads a key with its bytes intact', async () => {
        const key = storedKey()
        await uow.run((tx) => tx.keys.insert(key))
        expect(await uow.run((tx) => tx.keys.find(key.id))).toEqual(key)
        expect(await uow.run((tx) => tx.keys.find('ca-missing'))).toBeUndefined()
      })

      it('refuses a second key with the same id', async () => {
        const key = storedKey()
        await uow.run((tx) => tx.keys.insert(key))
        await expect(uow.run((tx) => tx.keys.insert({ ...key, label: 'again' }))).rejects.toThrow()
        expect((await uow.run((tx) => tx.keys.find(key.id)))?.label).toBe(key.label)
      })

      it('lists oldest first, and lists what is not yet under a KEK', async () => {
        const later = storedKey({ createdAt: new Date(T0 + 2000), kekId: 'kek-bbbbbbbbbbbbbbbb' })
        const earlier = storedKey({ createdAt: new Date(T0 - 2000), kekId: 'kek-cccccccccccccccc' })
        await uow.run(async (tx) => {
          await tx.keys.insert(later)
          await tx.keys.insert(earlier)
        })
        const ids = (await uow.run((tx) => tx.keys.list())).map((k) => k.id)
        expect(ids.indexOf(earlier.id)).toBeLessThan(ids.indexOf(later.id))
        const pending = (await uow.run((tx) => tx.keys.listSealedOtherThan('kek-bbbbbbbbbbbbbbbb'))).map((k) => k.id)
        expect(pending).toContain(earlier.id)
        expect(pending).not.toContain(later.id)
      })

      it('re-seals only from the KEK the caller expects', async () => {
        const key = storedKey({ kekId: 'kek-1111111111111111' })
        await uow.run((tx) => tx.keys.insert(key))
        const sealed = new Uint8Array(randomBytes(167))
        const at = new Date(T0 + 60_000)
        expect(await uow.run((tx) => tx.keys.reseal(key.id, 'kek-9999999999999999', sealed, 'kek-2', at))).toBe(false)
        expect(await uow.run((tx) => tx.keys.reseal(key.id, 'kek-1111111111111111', sealed, 'kek-2', at))).toBe(true)
        expect(await uow.run((tx) => tx.keys.reseal(key.id, 'kek-1111111111111111', sealed, 'kek-3', at))).toBe(false)
        expect(await uow.run((tx) => tx.keys.find(key.id))).toEqual({
          ...key,
          sealedPrivateKey: sealed,
          kekId: 'kek-2',
          sealedAt: at,
        })
      })

      it('retires once and keeps the row', async () => {
        const key = storedKey()
        await uow.run((tx) => tx.keys.insert(key))
        const at = new Date(T0 + 1000)
        expect(await uow.run((tx) => tx.keys.retire(key.id, at))).toBe(true)
        expect(await uow.run((tx) => tx.keys.retire(key.id, new Date(T0 + 2000)))).toBe(false)
        expect(await uow.run((tx) => tx.keys.retire('ca-missing', at))).toBe(false)
        expect((await uow.run((tx) => tx.keys.find(key.id)))?.retiredAt).toEqual(at)
      })
    })

    describe('soft key store', () => {
      const kek = kekFromKeyFile(randomBytes(32))
      const algorithms: KeyAlgorithm[] = ['sm2', 'ecdsa-p256', 'rsa-2048', 'rsa-3072']

      it('writes no private key in plaintext anywhere in the database or the data folder', async () => {
        const keys = createSoftKeyStore({ uow, clock, kek })
        const made = []
        for (const algorithm of algorithms) {
          made.push(await keys.generate({ algorithm, label: `scan ${algorithm}`, purpose: 'ca' }, actor))
        }
        // Sign once with each, so that any cache or log the store might write has happened.
        for (const key of made) {
          const signature = await (await keys.signer(key.uri)).sign(data)
          expect(await createVerifier(key.publicKey).verify(data, signature)).toBe(true)
        }
        // The test holds the KEK, so it can recover the plaintext it then looks for.
        const secrets = []
        for (const key of made) {
          const row = await uow.run((tx) => tx.keys.find(key.uri.slice('soft:'.length)))
          if (!row) throw new Error(`${key.uri} not stored`)
          expect(row.kekId).toBe(kek.id)
          secrets.push(...secretsOf(row.algorithm, openPrivateKey(row.sealedPrivateKey, kek, row)).map(encodingsOf))
        }
        expect(secrets).toHaveLength(8)

        const files = await readdir(testDb.dataDir)
        if (kind === 'sqlite') expect(files).toContain('yiqian.db')
        for (const file of files) {
          const bytes = await readFile(join(testDb.dataDir, file))
          const text = bytes.toString('latin1')
          for (const secret of secrets) {
            expect(bytes.includes(secret.raw), `raw private key bytes in ${file}`).toBe(false)
            for (const t of secret.text) expect(text.includes(t), `encoded private key in ${file}`).toBe(false)
          }
        }
        if (kind === 'postgres') {
          const tables = await sql<{
            tablename: string
          }>`select tablename from pg_tables where schemaname = 'public'`.execute(storage.db)
          expect(tables.rows.map((r) => r.tablename)).toContain('keys')
          for (const { tablename } of tables.rows) {
            const rows = await sql<{
              row: string
            }>`select row_to_json(t)::text as row from ${sql.table(tablename)} t`.execute(storage.db)
            for (const { row } of rows.rows) {
              for (const secret of secrets) {
                for (const t of secret.text) expect(row.includes(t), `encoded private key in ${tablename}`).toBe(false)
              }
            }
          }
        }
      })

      it('audits each change in the same transaction, and rotates the KEK atomically', async () => {
        const keys = createSoftKeyStore({ uow, clock, kek })
        const key = await keys.generate({ algorithm: 'sm2', label: 'rotation', purpose: 'tsa' }, actor)
        const audited = await storage.db
          .selectFrom('audit_events')
          .select(['type', 'subject'])
          .where('subject', '=', key.uri)
          .execute()
        expect(audited).toEqual([{ type: 'key.generated', subject: key.uri }])

        const next = kekFromKeyFile(randomBytes(32))
        // Rows from the repository tests above carry made-up KEK ids; the store refuses to rotate what it cannot open,
        // and changes nothing.
        await expect(keys.rotateKek(next, actor)).rejects.toMatchObject({ code: 'KEY_UNREADABLE' })
        expect(await storage.db.selectFrom('keys').select('id').where('kek_id', '=', next.id).execute()).toEqual([])
        await storage.db.deleteFrom('keys').where('kek_id', '<>', kek.id).execute()

        // A rotation that fails half way: the transaction rolls back, every row keeps its old KEK.
        let calls = 0
        const failing: UnitOfWork = {
          read: (fn) => uow.read(fn),
          run: (fn) =>
            uow.run((tx) =>
              fn({
                ...tx,
                keys: {
                  ...tx.keys,
                  reseal: async (...args) => {
                    if (++calls === 2) throw new Error('interrupted')
                    return tx.keys.reseal(...args)
                  },
                },
              }),
            ),
        }
        const interrupted = createSoftKeyStore({ uow: failing, clock, kek })
        await expect(interrupted.rotateKek(next, actor)).rejects.toThrow('interrupted')
        const after = await uow.run((tx) => tx.keys.list())
        expect(after).toHaveLength(5)
        expect(after.every((k) => k.kekId !== next.id)).toBe(true)
        expect(await createSoftKeyStore({ uow, clock, kek }).checkReadable()).toMatchObject({ unreadable: [] })

        const rotation = await keys.rotateKek(next, actor)
        expect(rotation).toEqual({ to: next.id, from: [kek.id], resealed: 5 })
        expect(await createSoftKeyStore({ uow, clock, kek: next }).checkReadable()).toEqual({
          total: 5,
          unreadable: [],
        })
        const old = await createSoftKeyStore({ uow, clock, kek }).checkReadable()
        expect(old.unreadable).toHaveLength(5)
        try {
          await createSoftKeyStore({ uow, clock, kek }).signer(key.uri)
          throw new Error('expected KEY_UNREADABLE')
        } catch (error) {
          expect(isDomainError(error, 'KEY_UNREADABLE')).toBe(true)
        }
        const rotations = await storage.db
          .selectFrom('audit_events')
          .select(['type', 'subject', 'actor'])
          .where('type', '=', 'key.kek-rotated')
          .execute()
        expect(rotations).toEqual([{ type: 'key.kek-rotated', subject: next.id, actor: 'user:keyadmin' }])
        expect(await keys.rotateKek(next, actor)).toEqual({ to: next.id, from: [], resealed: 0 })
      })
    })
  })
}
