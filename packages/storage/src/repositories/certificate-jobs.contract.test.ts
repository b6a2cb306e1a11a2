import { randomUUID } from 'node:crypto'
import type { CertificateAuthority, IssuedCertificate, UnitOfWork } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestStorage, testAuthority, testCertificate, testDialects } from '../testing.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const at = (seconds: number) => new Date(T0 + seconds * 1000)
const DAY = 86_400

function authority(): CertificateAuthority {
  return testAuthority({ name: 'Issuing', createdAt: at(0) })
}

function certificate(issuerId: string, overrides: Partial<IssuedCertificate> = {}): IssuedCertificate {
  return testCertificate(issuerId, { subject: 'CN=王医生', notBefore: at(0), notAfter: at(365 * DAY), ...overrides })
}

for (const kind of testDialects()) {
  describe(`${kind}: job leases, certificate job queries, reminders`, () => {
    let uow: UnitOfWork
    let close = async () => {}

    beforeAll(async () => {
      ;({ uow, close } = await openTestStorage(kind, { now: () => at(0) }))
    })
    afterAll(() => close())

    const acquire = (name: string, holder: string, now: Date, ttlMs = 60_000) =>
      uow.run((tx) => tx.jobLeases.tryAcquire(name, holder, now, ttlMs))

    it('gives a lease to exactly one of many holders racing for it', async () => {
      const holders = Array.from({ length: 12 }, (_, i) => `instance-${i}`)
      const won = await Promise.all(holders.map((h) => acquire('race', h, at(0))))
      expect(won.filter(Boolean)).toHaveLength(1)
      const lease = await uow.run((tx) => tx.jobLeases.find('race'))
      expect(lease?.holder).toBe(holders[won.indexOf(true)])
      expect(lease?.runCount).toBe(1)
      expect(lease?.expiresAt).toEqual(at(60))
    })

    it('refuses a held lease to others, renews it for its holder, and lets anyone take it once expired', async () => {
      expect(await acquire('crl', 'a', at(0))).toBe(true)
      expect(await acquire('crl', 'b', at(30))).toBe(false)
      expect(await acquire('crl', 'a', at(30))).toBe(true)
      expect(await acquire('crl', 'b', at(89))).toBe(false)
      // a's renewal at 30 s runs to 90 s; at 90 s it has expired.
      expect(await acquire('crl', 'b', at(90))).toBe(true)
      const lease = await uow.run((tx) => tx.jobLeases.find('crl'))
      expect(lease).toMatchObject({ holder: 'b', runCount: 3, lastStartedAt: at(90), expiresAt: at(150) })
      // The former holder cannot record its outcome over the new holder's lease.
      const done = { finishedAt: at(91), outcome: 'success' as const, until: at(91) }
      expect(await uow.run((tx) => tx.jobLeases.release('crl', 'a', done))).toBe(false)
    })

    it('two holders racing for an expired lease: one takes it over', async () => {
      expect(await acquire('expiry', 'old', at(0))).toBe(true)
      const won = await Promise.all(['x', 'y', 'z'].map((h) => acquire('expiry', h, at(120))))
      expect(won.filter(Boolean)).toHaveLength(1)
      expect((await uow.run((tx) => tx.jobLeases.find('expiry')))?.runCount).toBe(2)
    })

    it('release records the outcome and keeps the lease until the given time', async () => {
      expect(await acquire('ocsp', 'a', at(0))).toBe(true)
      const released = await uow.run((tx) =>
        tx.jobLeases.release('ocsp', 'a', {
          finishedAt: at(5),
          outcome: 'partial',
          error: 'ca-1: boom',
          until: at(540),
        }),
      )
      expect(released).toBe(true)
      expect(await uow.run((tx) => tx.jobLeases.find('ocsp'))).toMatchObject({
        holder: 'a',
        expiresAt: at(540),
        lastFinishedAt: at(5),
        lastOutcome: 'partial',
        lastError: 'ca-1: boom',
      })
      expect(await acquire('ocsp', 'b', at(539))).toBe(false)
      expect(await acquire('ocsp', 'b', at(540))).toBe(true)
      expect((await uow.run((tx) => tx.jobLeases.list())).map((l) => l.name)).toContain('ocsp')
    })

    it('lists active and suspended certificates past notAfter, earliest first, in batches', async () => {
      const ca = authority()
      const past = certificate(ca.id, { notAfter: at(10) })
      const pastSuspended = certificate(ca.id, { notAfter: at(5), status: 'suspended' })
      const pastRevoked = certificate(ca.id, { notAfter: at(1), status: 'revoked' })
      const future = certificate(ca.id, { notAfter: at(1000) })
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(ca)
        for (const c of [past, pastSuspended, pastRevoked, future]) await tx.certificates.insert(c)
      })
      const ids = await uow.run((tx) => tx.certificateJobs.listExpiredIds(at(100), 10))
      expect(ids.filter((id) => [past.id, pastSuspended.id, pastRevoked.id, future.id].includes(id))).toEqual([
        pastSuspended.id,
        past.id,
      ])
      expect(await uow.run((tx) => tx.certificateJobs.listExpiredIds(at(100), 1))).toHaveLength(1)
      // Exactly at notAfter the certificate has expired.
      expect(await uow.run((tx) => tx.certificateJobs.listExpiredIds(at(10), 10))).toContain(past.id)
    })

    it('tells whether a CA issued end-entity certificates other than its OCSP responders', async () => {
      const ca = authority()
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(ca)
        await tx.certificates.insert(certificate(ca.id, { profile: 'ocsp-signer', staffId: undefined }))
        await tx.certificates.insert(certificate(ca.id, { profile: 'issuing-ca', ca: true, staffId: undefined }))
      })
      expect(await uow.run((tx) => tx.certificateJobs.hasEndEntityCertificates(ca.id))).toBe(false)
      await uow.run((tx) => tx.certificates.insert(certificate(ca.id)))
      expect(await uow.run((tx) => tx.certificateJobs.hasEndEntityCertificates(ca.id))).toBe(true)
    })

    it('creates a reminder once per certificate and threshold, even when inserted concurrently', async () => {
      const ca = authority()
      const soon = certificate(ca.id, { staffId: 'staff-r', notAfter: at(3 * DAY) })
      const noStaff = certificate(ca.id, { staffId: undefined, notAfter: at(3 * DAY) })
      const suspended = certificate(ca.id, { status: 'suspended', notAfter: at(3 * DAY) })
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(ca)
        for (const c of [soon, noStaff, suspended]) await tx.certificates.insert(c)
      })
      const window = { after: at(DAY), until: at(7 * DAY), daysBefore: 7, limit: 100 }
      const listed = await uow.run((tx) => tx.reminders.listExpiring(window))
      const mine = listed.filter((c) => [soon.id, noStaff.id, suspended.id].includes(c.certificateId))
      expect(mine).toEqual([
        { certificateId: soon.id, serialHex: soon.serialHex, staffId: 'staff-r', notAfter: soon.notAfter },
      ])
      const row = {
        certificate: mine[0]!,
        daysBefore: 7,
        createdAt: at(0),
        deliveredAt: undefined,
        nextAttemptAt: at(300),
      }
      const inserted = await Promise.all([1, 2, 3, 4].map(() => uow.run((tx) => tx.reminders.insert(row))))
      expect(inserted.filter(Boolean)).toHaveLength(1)
      expect((await uow.run((tx) => tx.reminders.listExpiring(window))).map((c) => c.certificateId)).not.toContain(
        soon.id,
      )
      // Another threshold is another reminder.
      expect(await uow.run((tx) => tx.reminders.insert({ ...row, daysBefore: 30 }))).toBe(true)
    })

    it('retries: claim once, count attempts, give up, and filter by status', async () => {
      const ca = authority()
      const c = certificate(ca.id, { staffId: 'staff-q', notAfter: at(2 * DAY) })
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(ca)
        await tx.certificates.insert(c)
      })
      const expiring = { certificateId: c.id, serialHex: c.serialHex, staffId: 'staff-q', notAfter: c.notAfter }
      await uow.run((tx) =>
        tx.reminders.insert({
          certificate: expiring,
          daysBefore: 7,
          createdAt: at(0),
          deliveredAt: undefined,
          nextAttemptAt: at(60),
        }),
      )
      expect(
        (await uow.run((tx) => tx.reminders.listRetryable(at(59), 100))).map((r) => r.certificateId),
      ).not.toContain(c.id)
      const due = (await uow.run((tx) => tx.reminders.listRetryable(at(60), 100))).find((r) => r.certificateId === c.id)
      expect(due).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: at(60) })
      const claims = await Promise.all(
        ['a', 'b'].map(() => uow.run((tx) => tx.reminders.claim(c.id, 7, at(60), at(360)))),
      )
      expect(claims.filter(Boolean)).toHaveLength(1)
      await uow.run((tx) =>
        tx.reminders.recordAttempt(c.id, 7, { delivered: false, error: 'HTTP 503', nextAttemptAt: at(900) }),
      )
      expect(await uow.run((tx) => tx.reminders.find(c.id, 7))).toMatchObject({
        attempts: 1,
        lastError: 'HTTP 503',
        status: 'pending',
        nextAttemptAt: at(900),
      })
      await uow.run((tx) =>
        tx.reminders.recordAttempt(c.id, 7, { delivered: false, error: 'timeout', nextAttemptAt: undefined }),
      )
      expect(await uow.run((tx) => tx.reminders.find(c.id, 7))).toMatchObject({ attempts: 2, status: 'failed' })
      const failed = await uow.run((tx) => tx.reminders.search({ status: 'failed', offset: 0, limit: 50 }))
      expect(failed.items.map((r) => r.certificateId)).toContain(c.id)
      expect(failed.items.every((r) => r.status === 'failed')).toBe(true)
      expect(failed.total).toBe(failed.items.length)

      await uow.run((tx) =>
        tx.reminders.insert({
          certificate: expiring,
          daysBefore: 1,
          createdAt: at(10),
          deliveredAt: undefined,
          nextAttemptAt: at(60),
        }),
      )
      await uow.run((tx) => tx.reminders.recordAttempt(c.id, 1, { delivered: true, at: at(61) }))
      expect(await uow.run((tx) => tx.reminders.find(c.id, 1))).toMatchObject({
        status: 'delivered',
        attempts: 1,
        deliveredAt: at(61),
        nextAttemptAt: undefined,
      })
      const delivered = await uow.run((tx) => tx.reminders.search({ status: 'delivered', offset: 0, limit: 50 }))
      expect(delivered.items.map((r) => [r.certificateId, r.daysBefore])).toContainEqual([c.id, 1])
      const all = await uow.run((tx) => tx.reminders.search({ offset: 0, limit: 1 }))
      expect(all.items).toHaveLength(1)
      expect(all.total).toBeGreaterThanOrEqual(3)
    })

    it('stores in-app notifications per staff member, newest first', async () => {
      const base = { staffId: 'staff-n', kind: 'certificate.expiring' as const, readAt: undefined }
      const title = { zh: '您的证书将在 7 天内到期', en: 'Your certificate expires within 7 days' }
      await uow.run(async (tx) => {
        await tx.notifications.insert({ ...base, id: randomUUID(), title, body: { daysBefore: 30 }, createdAt: at(0) })
        await tx.notifications.insert({ ...base, id: randomUUID(), title, body: { daysBefore: 7 }, createdAt: at(10) })
      })
      const list = await uow.run((tx) => tx.notifications.listByStaff('staff-n', 10))
      expect(list.map((n) => n.body)).toEqual([{ daysBefore: 7 }, { daysBefore: 30 }])
      expect(list[0]?.title).toEqual(title)
    })
  })
}
