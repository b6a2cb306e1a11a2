import { randomBytes } from 'node:crypto'
import {
  type AuditEvent,
  type AuditQuery,
  type Clock,
  createIssueAuditCheckpoint,
  createPurgeExpiredAuditRecords,
  createSecretBox,
  createVerifyStoredAuditTrail,
  ensureAuditSigningKey,
  isDomainError,
  PURGE_EVENT_TYPE,
  storedCheckpointSigner,
  type UnitOfWork,
} from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Storage } from './database.js'
import { openTestStorage, testDialects } from './testing.js'

// Checkpoints, signing keys, auditor queries and retention, on every database this run covers.

const secretBox = createSecretBox(randomBytes(32))
let now = new Date('2026-01-01T00:00:00.000Z')
const clock: Clock = { now: () => now }
const advance = (ms: number) => {
  now = new Date(now.getTime() + ms)
}
const MINUTE = 60_000
const DAY = 86_400_000

async function append(uow: UnitOfWork, n: number, event: Partial<AuditEvent> = {}): Promise<void> {
  for (let done = 0; done < n; done += 100) {
    await uow.run(async (tx) => {
      for (let i = done; i < Math.min(n, done + 100); i++) {
        await tx.audit.append({ type: 'test.thing', actor: `user:${i % 3}`, data: { i }, ...event })
      }
    })
  }
}

for (const kind of testDialects()) {
  describe(`${kind}: audit trail storage`, () => {
    let storage: Storage
    let uow: UnitOfWork
    let close = async () => {}

    beforeAll(async () => {
      ;({ storage, uow, close } = await openTestStorage(kind, clock))
    })
    afterAll(() => close())

    it('makes the signing key once, keeps its private half sealed, and names it by its public key', async () => {
      const key = await ensureAuditSigningKey({ uow, clock, secretBox })
      expect(await ensureAuditSigningKey({ uow, clock, secretBox })).toEqual(key)
      expect(key.id).toMatch(/^audit-sm2-[0-9a-f]{16}$/)
      expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/)
      const row = await storage.db.selectFrom('audit_signing_keys').selectAll().executeTakeFirstOrThrow()
      expect(row.sealed_private_key).not.toMatch(/PRIVATE KEY/)
      expect(() => storedCheckpointSigner(key, createSecretBox(randomBytes(32)))).toThrowError(
        expect.objectContaining({ code: 'SECRET_UNREADABLE' }),
      )
      expect(await uow.run((tx) => tx.auditSigningKeys.publicKeys())).toEqual([
        { keyId: key.id, publicKeyPem: key.publicKeyPem },
      ])
    })

    it('issues checkpoints every N records or T minutes, on demand, and never with nothing new', async () => {
      const signer = storedCheckpointSigner(await ensureAuditSigningKey({ uow, clock, secretBox }), secretBox)
      const issue = createIssueAuditCheckpoint({ uow, clock, signer, policy: { everyRecords: 50, everyMinutes: 10 } })
      expect(await issue()).toEqual({ status: 'not-due' })
      expect(await issue({ force: true })).toEqual({ status: 'not-due' })

      await append(uow, 3)
      const first = await issue()
      expect(first).toMatchObject({ status: 'issued', checkpoint: { seq: 3, count: 3, prevHash: '0'.repeat(64) } })
      await append(uow, 10)
      expect(await issue()).toEqual({ status: 'not-due' })
      advance(10 * MINUTE)
      const timed = await issue()
      expect(timed).toMatchObject({ status: 'issued', checkpoint: { seq: 13, count: 10 } })
      if (first.status !== 'issued' || timed.status !== 'issued') throw new Error('unreachable')
      expect(timed.checkpoint.prevHash).toBe(first.checkpoint.hash)

      await append(uow, 50)
      expect(await issue()).toMatchObject({ status: 'issued', checkpoint: { seq: 63, count: 50 } })
      await append(uow, 1)
      expect(await issue({ force: true })).toMatchObject({ status: 'issued', checkpoint: { seq: 64 } })

      const stored = await uow.run((tx) => tx.auditCheckpoints.get(13))
      expect(stored).toEqual(timed.checkpoint)
      expect(stored?.timestampToken).toBeUndefined()
      expect((await createVerifyStoredAuditTrail({ uow })()).status).toBe('ok')
    })

    it('lets exactly one of several racing instances write the checkpoint, without forking the chain', async () => {
      await append(uow, 5)
      const signer = storedCheckpointSigner(await ensureAuditSigningKey({ uow, clock, secretBox }), secretBox)
      const instances = Array.from({ length: 4 }, () => createIssueAuditCheckpoint({ uow, clock, signer }))
      const outcomes = await Promise.all(instances.map((issue) => issue({ force: true })))
      expect(outcomes.filter((o) => o.status === 'issued')).toHaveLength(1)
      const rows = await storage.db.selectFrom('audit_checkpoints').select(['seq', 'prev_hash']).execute()
      expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length)
      expect((await createVerifyStoredAuditTrail({ uow })()).status).toBe('ok')
    })

    it('filters, pages by seq cursor in both orders, and counts with a ceiling', async () => {
      const base = (await uow.run((tx) => tx.audit.head())).seq
      const from = new Date(now.getTime() + 1)
      advance(MINUTE)
      await uow.run(async (tx) => {
        await tx.audit.append({
          type: 'account.created',
          actor: 'user:a',
          subject: 's-1',
          source: '10.1.1.1',
          outcome: 'success',
        })
        await tx.audit.append({
          type: 'account.locked',
          actor: 'user:b',
          subject: 's-1',
          source: '10.1.1.2',
          outcome: 'denied',
        })
        await tx.audit.append({ type: 'accounting.x', actor: 'user:a', subject: 's-2' })
        await tx.audit.append({
          type: 'department.created',
          actor: 'user:a',
          data: { 名称: '心内科' },
          outcome: 'failure',
        })
      })
      const q = (filter: AuditQuery, order: 'asc' | 'desc' = 'asc') =>
        uow.run((tx) => tx.audit.query(filter, { limit: 100, order })).then((rs) => rs.map((r) => r.seq - base))
      expect(await q({ typePrefix: 'account.' })).toEqual([1, 2])
      expect(await q({ typePrefix: 'account' })).toEqual([1, 2, 3])
      expect(await q({ typePrefix: 'Account.' })).toEqual([])
      expect(await q({ actor: 'user:a', from })).toEqual([1, 3, 4])
      expect(await q({ outcome: 'denied' })).toEqual([2])
      // No outcome recorded counts as success.
      expect(await q({ outcome: 'success', from })).toEqual([1, 3])
      expect(await q({ subject: 's-1', source: '10.1.1.2' })).toEqual([2])
      expect(await q({ from, to: new Date(now.getTime() + 1) }, 'desc')).toEqual([4, 3, 2, 1])
      expect(await q({ to: from, typePrefix: 'account.' })).toEqual([])

      const page1 = await uow.run((tx) => tx.audit.query({ from }, { limit: 2, order: 'desc' }))
      const page2 = await uow.run((tx) => tx.audit.query({ from }, { limit: 2, order: 'desc', cursor: page1[1]!.seq }))
      expect([...page1, ...page2].map((r) => r.seq - base)).toEqual([4, 3, 2, 1])
      const asc = await uow.run((tx) => tx.audit.query({ from }, { limit: 3, order: 'asc', cursor: base + 1 }))
      expect(asc.map((r) => r.seq - base)).toEqual([2, 3, 4])
      expect(asc[2]?.data).toEqual({ 名称: '心内科' })

      expect(await uow.run((tx) => tx.audit.count({ from }, 100))).toBe(4)
      expect(await uow.run((tx) => tx.audit.count({}, 10))).toBe(10)
      expect(await uow.run((tx) => tx.audit.get(base + 2))).toMatchObject({ type: 'account.locked', outcome: 'denied' })
      expect(await uow.run((tx) => tx.audit.get(999_999))).toBeUndefined()
    })

    it('purges only expired records covered by a checkpoint, records it, and still verifies', async () => {
      const purge = createPurgeExpiredAuditRecords({ uow, clock })
      for (const retentionDays of [179, 180.5, 0, -1]) {
        await expect(purge({ retentionDays })).rejects.toSatisfy((e) => isDomainError(e, 'AUDIT_RETENTION_INVALID'))
      }
      // Everything so far is recent: nothing may go.
      expect(await purge({ retentionDays: 180 })).toEqual({ status: 'nothing-to-purge' })

      const signer = storedCheckpointSigner(await ensureAuditSigningKey({ uow, clock, secretBox }), secretBox)
      const issue = createIssueAuditCheckpoint({ uow, clock, signer })
      await issue({ force: true })
      const lastOld = (await uow.run((tx) => tx.audit.head())).seq
      advance(DAY)
      await append(uow, 20) // a day younger than the rest
      await issue({ force: true })
      const checkpointsBefore = await storage.db.selectFrom('audit_checkpoints').select('seq').execute()

      // 180 days after the old records, the young ones are 179 days old: only the old part goes.
      now = new Date(now.getTime() + 179 * DAY + MINUTE)
      // Three instances at once: one purges, the others find nothing left to do.
      const outcomes = await Promise.all([1, 2, 3].map(() => purge({ retentionDays: 180 })))
      expect(outcomes.filter((o) => o.status === 'nothing-to-purge')).toHaveLength(2)
      const outcome = outcomes.find((o) => o.status === 'purged')
      expect(outcome).toMatchObject({ status: 'purged', boundarySeq: lastOld, purgedRows: lastOld })
      const remaining = await storage.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()
      expect(Number(remaining[0]?.seq)).toBe(lastOld + 1)
      const [event] = await uow.run((tx) =>
        tx.audit.query({ typePrefix: PURGE_EVENT_TYPE }, { limit: 5, order: 'asc' }),
      )
      expect(event).toMatchObject({
        actor: 'system',
        data: { boundarySeq: lastOld, purgedRows: lastOld, retentionDays: 180 },
      })
      // Checkpoints stay: they anchor what is left.
      expect(await storage.db.selectFrom('audit_checkpoints').select('seq').execute()).toEqual(checkpointsBefore)

      const report = await createVerifyStoredAuditTrail({ uow })()
      expect(report).toMatchObject({ status: 'ok', anchoredAt: lastOld, firstSeq: lastOld + 1 })
      expect(await purge({ retentionDays: 180 })).toEqual({ status: 'nothing-to-purge' })

      // The anchor cannot be moved to hide rows: the next record no longer fits.
      await storage.db
        .deleteFrom('audit_events')
        .where('seq', '=', lastOld + 1)
        .execute()
      const broken = await createVerifyStoredAuditTrail({ uow })()
      expect(broken.broken).toMatchObject({ seq: lastOld + 1, reason: 'anchor-mismatch' })
    })
  })
}
