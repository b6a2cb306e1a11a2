import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type AuditCheckpoint,
  type Clock,
  createSecretBox,
  sealAuditRecord,
  sealCheckpoint,
  type UnitOfWork,
} from '@yiqian/core'
import { generateSm2KeyPair, sm2PublicKeyToPem, sm2Sign } from '@yiqian/gm'
import { auditCheckpointKeyPem, runAuditCheckpointJob } from '@yiqian/server'
import { createUnitOfWork, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { finish, yiqian as spawnYiqian } from '../../../../test/e2e/harness.js'
import { run } from '../cli.js'

// `yiqian audit verify` against a real database of 2,000 records and four checkpoints, tampered with directly in
// SQL the way someone with database access could: each tampering is found at the right sequence number.

let stdout = ''
async function yiqian(...args: string[]): Promise<number> {
  stdout = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    return await run(args)
  } finally {
    vi.restoreAllMocks()
  }
}

type ReportJson = { status: string; broken?: { seq: number; reason: string } } & Record<string, unknown>

const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }
const secretBox = createSecretBox(randomBytes(32))

for (const kind of testDialects()) {
  describe(`${kind}: yiqian audit verify`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let uow: UnitOfWork
    let target: string[]
    let keyFile: string

    async function verify(...extra: string[]): Promise<{ code: number; report: ReportJson }> {
      const code = await yiqian('audit', 'verify', ...target, '--json', ...extra)
      return { code, report: JSON.parse(stdout) }
    }
    async function brokenAt(): Promise<[number, number | undefined, string | undefined]> {
      const { code, report } = await verify('--public-key', keyFile)
      return [code, report.broken?.seq, report.broken?.reason]
    }
    const row = (seq: number) =>
      storage.db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow()
    const setHead = (seq: number, hash: string) =>
      storage.db.updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute()
    /** Moves every row after `after` by `by` (through a far-off range: a primary key is checked row by row). */
    async function shift(after: number, by: number) {
      await storage.db
        .updateTable('audit_events')
        .set((eb) => ({ seq: eb('seq', '+', 10_000_000) }))
        .where('seq', '>', after)
        .execute()
      await storage.db
        .updateTable('audit_events')
        .set((eb) => ({ seq: eb('seq', '-', 10_000_000 - by) }))
        .where('seq', '>', 10_000_000)
        .execute()
    }

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      uow = createUnitOfWork(storage.db, clock)
      const services = { uow, clock, secretBox }
      for (let block = 0; block < 20; block++) {
        await uow.run(async (tx) => {
          for (let i = 0; i < 100; i++) {
            await tx.audit.append({
              type: i % 2 ? 'account.updated' : 'document.signed',
              actor: `user:${i % 7}`,
              subject: `s-${block}-${i}`,
              data: { block, i, 科室: '心内科' },
              outcome: 'success',
              source: '10.0.0.8',
            })
          }
        })
        if (block % 5 === 4) expect((await runAuditCheckpointJob(services, { force: true })).status).toBe('issued')
      }
      keyFile = join(testDb.dataDir, 'audit-checkpoint-key.pem')
      writeFileSync(keyFile, await auditCheckpointKeyPem(services))
      target = kind === 'sqlite' ? ['--data', testDb.dataDir] : ['--database-url', testDb.databaseUrl!]
    }, 120_000)
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })

    it('reports an intact trail with exit 0, with the stored keys or the key file', async () => {
      for (const extra of [[], ['--public-key', keyFile]]) {
        const { code, report } = await verify(...extra)
        expect(code).toBe(0)
        expect(report).toMatchObject({
          status: 'ok',
          rowsChecked: 2000,
          checkpointsChecked: 4,
          firstSeq: 1,
          lastSeq: 2000,
          lastCheckpointSeq: 2000,
        })
      }
      expect(await yiqian('audit', 'verify', ...target)).toBe(0)
      expect(stdout).toContain('审计链完整 / audit trail intact: 2000')
    })

    it('(a) finds a row whose data was changed', async () => {
      const original = await row(777)
      await storage.db
        .updateTable('audit_events')
        .set({ data: '{"block":7,"i":77,"科室":"外科"}' })
        .where('seq', '=', 777)
        .execute()
      try {
        expect(await brokenAt()).toEqual([1, 777, 'hash-mismatch'])
      } finally {
        await storage.db.updateTable('audit_events').set({ data: original.data }).where('seq', '=', 777).execute()
      }
      expect((await verify()).code).toBe(0)
    })

    it('(b) finds a deleted row', async () => {
      const original = await row(1234)
      await storage.db.deleteFrom('audit_events').where('seq', '=', 1234).execute()
      try {
        expect(await brokenAt()).toEqual([1, 1234, 'seq-gap'])
      } finally {
        await storage.db.insertInto('audit_events').values(original).execute()
      }
      expect((await verify()).code).toBe(0)
    })

    it('(c) finds a forged row inserted in the middle, even one hashed correctly', async () => {
      const before = await row(1000)
      const last = await row(2000)
      const forged = sealAuditRecord(
        { seq: 1000, hash: before.hash },
        { type: 'account.updated', actor: 'user:0', data: { 改: '伪造' } },
        new Date(before.at),
      )
      await shift(1000, 1)
      await storage.db
        .insertInto('audit_events')
        .values({
          seq: forged.seq,
          at: forged.at.toISOString(),
          type: forged.type,
          actor: forged.actor,
          subject: null,
          data: JSON.stringify(forged.data),
          prev_hash: forged.prevHash,
          hash: forged.hash,
          actor_role: null,
          source: null,
          outcome: null,
          request_id: null,
        })
        .execute()
      await setHead(2001, last.hash)
      try {
        // The forged row itself fits; the row after it no longer links.
        expect(await brokenAt()).toEqual([1, 1002, 'prev-hash-mismatch'])
      } finally {
        await storage.db.deleteFrom('audit_events').where('seq', '=', 1001).execute()
        await shift(1001, -1)
        await setHead(2000, last.hash)
      }
      expect((await verify()).code).toBe(0)
    })

    it('(c) finds a forged row appended beyond the chain head', async () => {
      const last = await row(2000)
      const forged = sealAuditRecord({ seq: 2000, hash: last.hash }, { type: 'x.y', actor: 'mallory' }, clock.now())
      await storage.db
        .insertInto('audit_events')
        .values({
          ...last,
          seq: 2001,
          type: forged.type,
          actor: forged.actor,
          subject: null,
          data: '{}',
          actor_role: null,
          source: null,
          outcome: null,
          request_id: null,
          prev_hash: forged.prevHash,
          hash: forged.hash,
          at: forged.at.toISOString(),
        })
        .execute()
      try {
        expect(await brokenAt()).toEqual([1, 2001, 'head-mismatch'])
      } finally {
        await storage.db.deleteFrom('audit_events').where('seq', '=', 2001).execute()
      }
    })

    it('(d) finds an altered checkpoint signature', async () => {
      const original = await storage.db
        .selectFrom('audit_checkpoints')
        .select('signature')
        .where('seq', '=', 1000)
        .executeTakeFirstOrThrow()
      const bytes = Buffer.from(original.signature, 'base64')
      bytes[bytes.length - 2]! ^= 0x01
      await storage.db
        .updateTable('audit_checkpoints')
        .set({ signature: bytes.toString('base64') })
        .where('seq', '=', 1000)
        .execute()
      try {
        expect(await brokenAt()).toEqual([1, 1000, 'checkpoint-signature-invalid'])
      } finally {
        await storage.db.updateTable('audit_checkpoints').set(original).where('seq', '=', 1000).execute()
      }
      expect((await verify()).code).toBe(0)
    })

    it('(e) finds a truncated tail, with or without the head moved back', async () => {
      const tail = await storage.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', 1900)
        .orderBy('seq')
        .execute()
      await storage.db.deleteFrom('audit_events').where('seq', '>', 1900).execute()
      try {
        expect(await brokenAt()).toEqual([1, 1901, 'tail-missing'])
        await setHead(1900, tail[0]!.prev_hash)
        // The head agrees now, but checkpoint 2000 still covers the missing rows.
        expect(await brokenAt()).toEqual([1, 1901, 'tail-missing'])
      } finally {
        await storage.db.insertInto('audit_events').values(tail).execute()
        await setHead(2000, tail.at(-1)!.hash)
      }
      expect((await verify()).code).toBe(0)
    })

    it('trusts only the key file: checkpoints re-signed with a key planted in the database are caught', async () => {
      const { privateKey, publicKey } = generateSm2KeyPair()
      const planted = {
        keyId: 'audit-sm2-planted',
        algorithm: 'SM2-SM3' as const,
        publicKeyPem: sm2PublicKeyToPem(publicKey),
        sign: async (body: Uint8Array) => sm2Sign(body, privateKey),
      }
      const originals = await storage.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()
      const keysBefore = await storage.db.selectFrom('audit_signing_keys').selectAll().execute()
      const resigned: AuditCheckpoint[] = []
      for (const c of originals) {
        const record = { seq: Number(c.seq), hash: c.record_hash }
        resigned.push(await sealCheckpoint(resigned.at(-1), record, new Date(c.at), planted))
      }
      await storage.db.deleteFrom('audit_checkpoints').execute()
      await storage.db
        .insertInto('audit_checkpoints')
        .values(
          resigned.map((c) => ({
            seq: c.seq,
            record_hash: c.recordHash,
            at: c.at.toISOString(),
            record_count: c.count,
            prev_hash: c.prevHash,
            hash: c.hash,
            key_id: c.keyId,
            algorithm: c.algorithm,
            signature: c.signature,
            timestamp_token: null,
          })),
        )
        .execute()
      await storage.db.deleteFrom('audit_signing_keys').execute()
      await storage.db
        .insertInto('audit_signing_keys')
        .values({
          id: planted.keyId,
          algorithm: 'SM2-SM3',
          public_key_pem: planted.publicKeyPem,
          sealed_private_key: 'x',
          created_at: clock.now().toISOString(),
          retired_at: null,
        })
        .execute()
      try {
        expect((await verify()).code).toBe(0) // the database vouches for itself…
        expect(await brokenAt()).toEqual([1, 500, 'checkpoint-key-unknown']) // …the key file does not
      } finally {
        await storage.db.deleteFrom('audit_checkpoints').execute()
        await storage.db.insertInto('audit_checkpoints').values(originals).execute()
        await storage.db.deleteFrom('audit_signing_keys').execute()
        await storage.db.insertInto('audit_signing_keys').values(keysBefore).execute()
      }
      expect((await verify('--public-key', keyFile)).code).toBe(0)
    })

    it('answers usage and configuration errors with exit 2', async () => {
      const empty = join(testDb.dataDir, 'nothing-here')
      expect(await yiqian('audit', 'verify', '--data', empty)).toBe(2)
      expect(await yiqian('audit', 'verify', '--data', empty, '--database-url', 'postgres://x@127.0.0.1/none')).toBe(2)
      expect(await yiqian('audit', 'verify', ...target, '--public-key', join(testDb.dataDir, 'missing.pem'))).toBe(2)
      writeFileSync(join(testDb.dataDir, 'not-a-key.pem'), 'hello')
      expect(await yiqian('audit', 'verify', ...target, '--public-key', join(testDb.dataDir, 'not-a-key.pem'))).toBe(2)
      expect(await yiqian('audit', 'verify', '--database-url', 'mysql://nope')).toBe(2)
      if (kind === 'sqlite') {
        // A database this build has not migrated: refused, and left exactly as it was (opened read-only).
        const bare = join(testDb.dataDir, 'bare')
        mkdirSync(bare)
        await openStorage({ dataDir: bare }).close()
        const before = readFileSync(join(bare, 'yiqian.db'))
        expect(await yiqian('audit', 'verify', '--data', bare)).toBe(2)
        // (Reading a WAL database read-only may still create its -shm/-wal companions; the database is untouched.)
        expect(readFileSync(join(bare, 'yiqian.db'))).toEqual(before)
      }
    })

    it('runs as the real command: exit 1 and the first broken seq in Chinese and English', async () => {
      const original = await row(42)
      await storage.db.deleteFrom('audit_events').where('seq', '=', 42).execute()
      try {
        const done = await finish(
          spawnYiqian(['audit', 'verify', ...target, '--public-key', keyFile], { YIQIAN_DATA: '', DATABASE_URL: '' }),
        )
        expect(done.code).toBe(1)
        expect(done.stdout).toContain('audit trail BROKEN at seq 42 (seq-gap)')
        expect(done.stdout).toContain('第 42 条记录缺失')
        expect(done.stdout).toContain('record 42 is missing')
      } finally {
        await storage.db.insertInto('audit_events').values(original).execute()
      }
    }, 60_000)
  })
}
