import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateSm2KeyPair, sm2PrivateKeyFromPkcs8, sm2PrivateKeyToPkcs8 } from '@yiqian/gm'
import { createUnitOfWork, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import type { UnitOfWork } from '../unit-of-work.js'
import type { KeyEncryptionKey } from './key-encryption-key.js'
import { kekFromKeyFile } from './key-encryption-key.js'
import type { KeyAlgorithm, KeyStore } from './key-store.js'
import { createSoftKeyStore, openPrivateKey } from './soft-key-store.js'

const actor: ActorContext = { actor: 'user:keyadmin', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-1' }
const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }

/** A private key in the forms it could leak in: each one a byte string to look for. */
interface Needles {
  readonly name: string
  readonly forms: ReadonlyArray<readonly [form: string, bytes: Buffer]>
}

function needlesOf(name: string, algorithm: KeyAlgorithm, pkcs8: Uint8Array): Needles {
  const der = Buffer.from(pkcs8)
  const secrets: Array<[string, Buffer]> = [['PKCS#8 DER', der]]
  if (algorithm === 'sm2') {
    secrets.push(['private scalar', Buffer.from(sm2PrivateKeyFromPkcs8(pkcs8).privateKey)])
  } else {
    const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })
    // EC: the scalar d. RSA: the private exponent and the primes.
    for (const part of ['d', 'p', 'q'] as const) {
      if (jwk[part]) secrets.push([`private ${part}`, Buffer.from(jwk[part], 'base64url')])
    }
  }
  const forms: Array<readonly [string, Buffer]> = []
  for (const [what, bytes] of secrets) {
    forms.push([`${what} (bytes)`, bytes])
    forms.push([`${what} (hex)`, Buffer.from(bytes.toString('hex'))])
    forms.push([`${what} (HEX)`, Buffer.from(bytes.toString('hex').toUpperCase())])
    forms.push([`${what} (base64)`, Buffer.from(bytes.toString('base64'))])
    forms.push([`${what} (base64url)`, Buffer.from(bytes.toString('base64url'))])
  }
  const pemBody = der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd()
  forms.push(['PEM body', Buffer.from(pemBody)])
  // The first PEM line alone: a PEM written with other line endings still contains it.
  forms.push(['PEM first line', Buffer.from(pemBody.split('\n')[0] ?? '')])
  return { name, forms }
}

/** Every `name: form` of `needles` found in `haystack`. */
function findIn(haystack: Buffer, needles: readonly Needles[]): string[] {
  const found: string[] = []
  for (const key of needles) {
    for (const [form, bytes] of key.forms) if (haystack.includes(bytes)) found.push(`${key.name}: ${form}`)
  }
  return found
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Every file of the data folder (the SQLite database, its -wal and -shm included). */
async function scanFiles(dir: string, needles: readonly Needles[]): Promise<string[]> {
  const found: string[] = []
  for (const file of await filesUnder(dir)) {
    for (const hit of findIn(await readFile(file), needles)) found.push(`${file} → ${hit}`)
  }
  return found
}

/** Every value of every row of every table, as the database returns it (a dump without pg_dump). */
async function scanTables(storage: Storage, kind: string, needles: readonly Needles[]): Promise<string[]> {
  const tables =
    kind === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(storage.db)
      : await sql<{
          name: string
        }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
          storage.db,
        )
  expect(tables.rows.map((t) => t.name)).toContain('keys')
  const found: string[] = []
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(storage.db)
    for (const row of rows.rows) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue
        const bytes =
          value instanceof Uint8Array
            ? Buffer.from(value)
            : Buffer.from(value instanceof Date ? value.toISOString() : String(value))
        for (const hit of findIn(bytes, needles)) found.push(`${name}.${column} → ${hit}`)
      }
    }
  }
  return found
}

for (const kind of testDialects()) {
  describe(`${kind}: no private key is stored in plaintext`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let uow: UnitOfWork
    let kek: KeyEncryptionKey
    let keys: KeyStore
    const needles: Needles[] = []

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      uow = createUnitOfWork(storage.db, clock)
      kek = kekFromKeyFile(randomBytes(32))
      keys = createSoftKeyStore({ uow, clock, kek })

      // Imported keys: their plaintext is known from outside.
      const sm2 = sm2PrivateKeyToPkcs8(generateSm2KeyPair().privateKey)
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' })
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'der',
      })
      const imported = [
        ['imported SM2', 'sm2', sm2],
        ['imported ECDSA', 'ecdsa-p256', new Uint8Array(ec)],
        ['imported RSA', 'rsa-2048', new Uint8Array(rsa)],
      ] as const
      const uris: string[] = []
      for (const [name, algorithm, pkcs8] of imported) {
        needles.push(needlesOf(name, algorithm, pkcs8))
        const info = await keys.importPrivateKey(pkcs8.slice(), { label: name, purpose: 'seal', algorithm }, actor)
        uris.push(info.uri)
      }
      // Generated keys: their plaintext is learnt through the test-only path, opening the sealed row with the KEK.
      for (const algorithm of ['sm2', 'ecdsa-p256', 'rsa-2048'] as const) {
        const info = await keys.generate({ algorithm, label: `generated ${algorithm}`, purpose: 'tsa' }, actor)
        const id = info.uri.slice('soft:'.length)
        const stored = await uow.run((tx) => tx.keys.find(id))
        if (!stored) throw new Error(`${info.uri} was not stored`)
        needles.push(
          needlesOf(`generated ${algorithm}`, algorithm, openPrivateKey(stored.sealedPrivateKey, kek, stored)),
        )
        uris.push(info.uri)
      }
      for (const uri of uris) {
        const signer = await keys.signer(uri)
        expect((await signer.sign(new TextEncoder().encode('签名数据'))).length).toBeGreaterThan(60)
      }
    }, 60_000)

    afterAll(async () => {
      await keys?.close()
      await storage?.close()
      await testDb?.drop()
    })

    it('knows six keys in at least eleven forms each', () => {
      expect(needles).toHaveLength(6)
      for (const key of needles) expect(key.forms.length).toBeGreaterThanOrEqual(11)
    })

    it('no table holds any form of any private key', async () => {
      expect(await scanTables(storage, kind, needles)).toEqual([])
    })

    it('no file of the data folder holds one, while the database is open and after it is closed', async () => {
      const files = await filesUnder(testDb.dataDir)
      if (kind === 'sqlite') expect(files.some((f) => f.endsWith('-wal'))).toBe(true)
      expect(await scanFiles(testDb.dataDir, needles)).toEqual([])
      if (kind === 'sqlite') {
        // Closing checkpoints the WAL into the database file: scan what is left then too.
        await storage.close()
        expect(await scanFiles(testDb.dataDir, needles)).toEqual([])
        storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      }
    })

    it('is not vacuous: a key written in plaintext on purpose is found, in a table and in a file', async () => {
      const [sm2, ec] = needles
      if (!sm2 || !ec) throw new Error('no needles')
      const scalarHex = sm2.forms.find(([form]) => form === 'private scalar (hex)')?.[1].toString()
      await sql`create table leak_probe (value text not null)`.execute(storage.db)
      await sql`insert into leak_probe (value) values (${`prefix ${scalarHex} suffix`})`.execute(storage.db)
      expect(await scanTables(storage, kind, [sm2])).toContain('leak_probe.value → imported SM2: private scalar (hex)')
      await writeFile(join(testDb.dataDir, 'ec-key.pem'), `-----BEGIN PRIVATE KEY-----\n${ec.forms.at(-2)?.[1]}\n`)
      const inFiles = await scanFiles(testDb.dataDir, [ec])
      expect(inFiles.some((hit) => hit.endsWith('ec-key.pem → imported ECDSA: PEM body'))).toBe(true)
      if (kind === 'sqlite') {
        await storage.close()
        expect((await scanFiles(testDb.dataDir, [sm2])).some((hit) => hit.includes('private scalar (hex)'))).toBe(true)
        storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      }
    })
  })
}
