/**
 * The certificate schedule over the real app and database: two schedules (two "instances") on one database run each
 * job once per round, and a reminder reaches a real HTTP receiver, which checks its signature, exactly once.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ActorContext,
  type CaService,
  type CertificateAuthority,
  createReminderUseCases,
  createSendExpiryReminders,
  type IssuedCertificate,
} from '@yiqian/core'
import { bytesToHex, generateSm2KeyPair, hmacSm3, sm2PublicKeyToSpki } from '@yiqian/gm'
import { parseCertificate } from '@yiqian/pki'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caOf, createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'
import { CERTIFICATE_JOBS, type CertificateJobRun, leaseName, startCertificateSchedule } from './jobs.js'

const actor: ActorContext = { actor: 'user:ca-officer', actorRole: 'ra-officer', source: '10.0.0.7', requestId: 'r' }
const SECRET = 'his-webhook-secret-0123456789'
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** A clock the test moves. */
function movableClock(start: number) {
  let t = start
  return {
    now: () => new Date(t),
    set(ms: number) {
      t = ms
    },
    advance(ms: number) {
      t += ms
    },
  }
}

interface Received {
  readonly staffId: string
  readonly daysBefore: number
  readonly verified: boolean
}

/** An HIS stand-in: verifies each call's HMAC-SM3 signature; answers 503 to the first call about `failFirstFor`. */
async function startReceiver(failFirstFor: string) {
  const received: Received[] = []
  let failed = false
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const timestamp = String(req.headers['x-yiqian-timestamp'])
      const expected = bytesToHex(hmacSm3(Buffer.from(SECRET, 'utf8'), `${timestamp}.${raw}`))
      const body = JSON.parse(raw) as { staffId: string; daysBefore: number }
      received.push({
        staffId: body.staffId,
        daysBefore: body.daysBefore,
        verified: req.headers['x-yiqian-signature'] === expected,
      })
      if (body.staffId === failFirstFor && !failed) {
        failed = true
        return void res.writeHead(503).end()
      }
      res.writeHead(req.headers['x-yiqian-signature'] === expected ? 204 : 401).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/yiqian`,
    received,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const ranBy = (runs: CertificateJobRun[]) =>
  Object.fromEntries(runs.map((r) => [r.job, r.status === 'skipped' ? `skipped:${r.reason}` : r.status]))

for (const dialect of testDialects()) {
  describe(`${dialect}: certificate schedule on two instances`, () => {
    const clock = movableClock(Date.parse('2026-11-28T08:00:00.000Z'))
    let t: TestApp
    let ca: CaService
    let root: CertificateAuthority
    let issuing: CertificateAuthority
    let receiver: Awaited<ReturnType<typeof startReceiver>>
    const certs: Record<'a' | 'b' | 'c', IssuedCertificate> = {} as never

    const issueStaff = (staffId: string) =>
      ca.issueCertificate(
        {
          caId: issuing.id,
          profileId: 'staff-sign',
          subject: { CN: `医生 ${staffId}`, serialNumber: staffId, O: '医签测试医院' },
          publicKey: sm2PublicKeyToSpki(generateSm2KeyPair().publicKey),
          staffId,
        },
        actor,
      )

    beforeAll(async () => {
      t = await createTestApp({ dialect, clock, ca: true })
      ca = caOf(t)
      receiver = await startReceiver('staff-c')
      ;({ root, issuing } = await ca.createHierarchy(
        {
          algorithm: 'sm2',
          names: {
            root: { C: 'CN', O: '医签测试医院', CN: '医签测试根 CA' },
            issuing: { C: 'CN', O: '医签测试医院', CN: '医签测试签发 CA' },
          },
        },
        actor,
      ))
      const t0 = clock.now().getTime()
      certs.a = await issueStaff('staff-a')
      clock.set(t0 + 20 * DAY)
      certs.b = await issueStaff('staff-b')
      clock.set(t0 + 25 * DAY)
      certs.c = await issueStaff('staff-c')
      await createReminderUseCases(t.services).setPolicy(actor, {
        daysBefore: [30, 7, 1],
        inApp: true,
        webhook: { url: receiver.url, secret: SECRET },
        version: 0,
      })
      // a has just expired; b and c expire within 30 days; the OCSP responder (30 days) and the CRLs are long stale.
      clock.set(certs.a.notAfter.getTime() + HOUR)
    }, 60_000)
    afterAll(async () => {
      await receiver?.close()
      await t?.close()
    })

    it('runs each job once per round across two schedules, and delivers each reminder once', async () => {
      const errors: unknown[] = []
      const seen: CertificateJobRun[] = []
      const options = { intervalMs: HOUR, initialDelayMs: HOUR, onError: (e: unknown) => errors.push(e) }
      const one = startCertificateSchedule(t.services, { ...options, holder: 'instance-1', onRun: (r) => seen.push(r) })
      const two = startCertificateSchedule(t.services, { ...options, holder: 'instance-2' })
      try {
        const crlBefore = (await ca.list()).map((c) => c.crlNumber)
        const [r1, r2] = await Promise.all([one.runOnce(), two.runOnce()])
        for (const job of CERTIFICATE_JOBS) {
          expect([ranBy(r1)[job], ranBy(r2)[job]].sort()).toEqual(['ran', 'skipped:leased'])
        }
        expect(seen).toEqual(r1)
        const leases = await t.services.uow.run((tx) => tx.jobLeases.list())
        for (const job of CERTIFICATE_JOBS) {
          expect(leases.find((l) => l.name === leaseName(job))).toMatchObject({ runCount: 1, lastOutcome: 'success' })
        }

        // certificate-expiry: a is recorded expired (b and c are not).
        const stored = await t.services.uow.run(async (tx) => ({
          a: await tx.certificates.find(certs.a.id),
          b: await tx.certificates.find(certs.b.id),
        }))
        expect(stored.a?.status).toBe('expired')
        expect(stored.b?.status).toBe('active')
        // crl-refresh: both CAs published a new CRL; ocsp-responder-renewal: the issuing CA has a fresh responder.
        const after = await ca.list()
        expect(after.map((c) => c.crlNumber)).toEqual(crlBefore.map((n) => n + 1))
        const responder = after.find((c) => c.id === issuing.id)?.ocspResponder
        expect(parseCertificate(responder!.certificate).notAfter.getTime()).toBeGreaterThan(
          clock.now().getTime() + 7 * DAY,
        )
        expect(after.find((c) => c.id === root.id)?.ocspResponder).toBeUndefined()

        // expiry-reminders: b delivered once; c's first call failed and waits for a retry.
        expect(receiver.received).toEqual([
          { staffId: 'staff-b', daysBefore: 30, verified: true },
          { staffId: 'staff-c', daysBefore: 30, verified: true },
        ])
        const reminders = await t.services.uow.run(async (tx) => ({
          b: await tx.reminders.find(certs.b.id, 30),
          c: await tx.reminders.find(certs.c.id, 30),
          inApp: await tx.notifications.listByStaff('staff-b', 10),
        }))
        expect(reminders.b).toMatchObject({ status: 'delivered', attempts: 1 })
        expect(reminders.c).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503' })
        expect(reminders.inApp).toHaveLength(1)
        expect(reminders.inApp[0]).toMatchObject({ kind: 'certificate.expiring', body: { certificateId: certs.b.id } })

        // Later in the same round the instance that lost a job's lease still may not run it.
        clock.advance(HOUR / 2)
        const later = [await one.runOnce(), await two.runOnce()]
        for (const job of CERTIFICATE_JOBS) {
          const loser = ranBy(r1)[job] === 'ran' ? later[1]! : later[0]!
          expect(ranBy(loser)[job]).toBe('skipped:leased')
        }
        clock.advance(-HOUR / 2)

        // Next round, an interval later: each job runs once more; c's reminder is retried and delivered.
        clock.advance(HOUR)
        const [n1, n2] = await Promise.all([one.runOnce(), two.runOnce()])
        for (const job of CERTIFICATE_JOBS) {
          expect([ranBy(n1)[job], ranBy(n2)[job]].sort()).toEqual(['ran', 'skipped:leased'])
        }
        expect(receiver.received.filter((r) => r.staffId === 'staff-b')).toHaveLength(1)
        expect(receiver.received.filter((r) => r.staffId === 'staff-c')).toHaveLength(2)
        expect(receiver.received.every((r) => r.verified)).toBe(true)
        expect(await t.services.uow.run((tx) => tx.reminders.find(certs.c.id, 30))).toMatchObject({
          status: 'delivered',
          attempts: 2,
        })
        expect(await t.services.uow.run((tx) => tx.notifications.listByStaff('staff-b', 10))).toHaveLength(1)
        expect(errors).toEqual([])
      } finally {
        await one.stop()
        await two.stop()
      }

      const types = await t.services.db
        .selectFrom('audit_events')
        .select(['type', 'subject', 'outcome'])
        .where('type', 'in', ['certificate.expired', 'reminder.sent', 'reminder.failed'])
        .orderBy('seq')
        .execute()
      // a, and the OCSP responder certificate provisioned with the hierarchy (30 days), have expired.
      const expired = types.filter((r) => r.type === 'certificate.expired').map((r) => r.subject)
      expect(expired).toContain(certs.a.id)
      expect(expired).toHaveLength(2)
      expect(expired).not.toContain(certs.b.id)
      expect(types.filter((r) => r.type === 'reminder.failed').map((r) => r.subject)).toEqual([certs.c.id])
      // In-app for b and c, then the webhook for b, and for c after the retry.
      expect(types.filter((r) => r.type === 'reminder.sent')).toHaveLength(4)
    })

    it('lists the reminders over HTTP by status', async () => {
      // The jobs above signed with SM2 in this process; under-pressure may still report the event loop as busy.
      let officer: SignedIn | undefined
      for (let attempt = 0; !officer; attempt++) {
        officer = await signInAs(t, ['ra-officer']).catch((error: unknown) => {
          if (attempt >= 10 || !String(error).includes('SERVICE_UNAVAILABLE')) throw error
          return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500))
        })
      }
      const delivered = await t.app.inject({
        method: 'GET',
        url: '/api/v1/reminders?status=delivered',
        headers: officer.headers,
      })
      expect(delivered.statusCode).toBe(200)
      const page = delivered.json() as {
        items: { certificateId: string; status: string; serial: string }[]
        total: number
      }
      expect(page.items.map((r) => r.certificateId).sort()).toEqual([certs.b.id, certs.c.id].sort())
      expect(page.items.find((r) => r.certificateId === certs.b.id)?.serial).toBe(certs.b.serialHex)
      const pending = await t.app.inject({
        method: 'GET',
        url: '/api/v1/reminders?status=pending',
        headers: officer.headers,
      })
      expect(pending.json()).toEqual({ items: [], total: 0 })
    })

    it('runs on its timer and stops cleanly', async () => {
      const errors: unknown[] = []
      const schedule = startCertificateSchedule(t.services, {
        intervalMs: 40,
        initialDelayMs: 0,
        holder: 'timer-instance',
        onError: (e) => errors.push(e),
      })
      clock.advance(2 * HOUR)
      const name = leaseName('certificate-expiry')
      for (let i = 0; i < 200; i++) {
        const lease = await t.services.uow.run((tx) => tx.jobLeases.find(name))
        if (lease?.holder === 'timer-instance' && lease.lastFinishedAt) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await schedule.stop()
      expect(errors).toEqual([])
      expect(await t.services.uow.run((tx) => tx.jobLeases.find(name))).toMatchObject({
        holder: 'timer-instance',
        lastOutcome: 'success',
      })
      await expect(schedule.runOnce()).rejects.toThrow(/stopped/)
    })

    it('two instances sending reminders at the same moment, without leases, still deliver each once', async () => {
      const d = await issueStaff('staff-d')
      clock.set(d.notAfter.getTime() - 5 * DAY)
      const send = createSendExpiryReminders(t.services)
      const [x, y] = await Promise.all([send(), send()])
      expect(x.created + y.created).toBe(1)
      expect(x.delivered + y.delivered).toBe(1)
      expect(receiver.received.filter((r) => r.staffId === 'staff-d')).toEqual([
        { staffId: 'staff-d', daysBefore: 7, verified: true },
      ])
      expect(await t.services.uow.run((tx) => tx.notifications.listByStaff('staff-d', 10))).toHaveLength(1)
      expect(await send()).toEqual({ created: 0, notifications: 0, delivered: 0, failed: 0, gaveUp: 0 })
    })
  })
}
