import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../testing.js'
import { auditCheckpointKeyPem, purgeExpiredAuditRecords, runAuditCheckpointJob, startAuditSchedule } from './jobs.js'

for (const dialect of testDialects()) {
  describe(`${dialect}: audit jobs`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await createTestApp({ dialect })
    })
    afterAll(async () => t?.close())

    it('gives the same public key PEM each time, the key that signs the checkpoints', async () => {
      const pem = await auditCheckpointKeyPem(t.services)
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/)
      expect(await auditCheckpointKeyPem(t.services)).toBe(pem)
      await t.services.uow.run((tx) => tx.audit.append({ type: 'test.one', actor: 'system' }))
      const outcome = await runAuditCheckpointJob(t.services, { force: true })
      const keys = await t.services.uow.run((tx) => tx.auditSigningKeys.publicKeys())
      expect(outcome.status === 'issued' && outcome.checkpoint.keyId).toBe(keys[0]?.keyId)
      expect(keys).toEqual([{ keyId: keys[0]!.keyId, publicKeyPem: pem }])
    })

    it('runs on a schedule: a checkpoint once records wait, none when nothing is new', async () => {
      await t.services.uow.run((tx) => tx.audit.append({ type: 'test.two', actor: 'system' }))
      const errors: unknown[] = []
      const schedule = startAuditSchedule(t.services, {
        tickMs: 20,
        policy: { everyRecords: 1, everyMinutes: 10 },
        onError: (e) => errors.push(e),
      })
      const head = await t.services.uow.run((tx) => tx.audit.head())
      for (let i = 0; i < 100; i++) {
        const latest = await t.services.uow.run((tx) => tx.auditCheckpoints.latest())
        if (latest?.seq === head.seq) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await schedule.stop()
      expect(errors).toEqual([])
      expect((await t.services.uow.run((tx) => tx.auditCheckpoints.latest()))?.seq).toBe(head.seq)
      expect(await runAuditCheckpointJob(t.services)).toEqual({ status: 'not-due' })
    })

    it('refuses a retention shorter than 180 days', async () => {
      await expect(purgeExpiredAuditRecords(t.services, { retentionDays: 30 })).rejects.toMatchObject({
        code: 'AUDIT_RETENTION_INVALID',
      })
      expect(await purgeExpiredAuditRecords(t.services, { retentionDays: 180 })).toEqual({ status: 'nothing-to-purge' })
    })
  })
}
