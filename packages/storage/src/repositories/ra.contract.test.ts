import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import {
  type ActorContext,
  type CertificateIssuer,
  type Clock,
  createRaUseCases,
  createSecretBox,
  type Department,
  isDomainError,
  type Principal,
  RA_LIMITS,
  RA_POLICY_KEY,
  type RaApplication,
  type StaffMember,
  type StaffStatus,
  type UnitOfWork,
} from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from '../database.js'
import { migrateToLatest } from '../migrate.js'
import { createTestDatabase, type TestDatabase, testDialects } from '../testing.js'
import { createUnitOfWork } from '../unit-of-work.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')

function officer(id: string): { principal: Principal; actor: ActorContext } {
  return {
    principal: { kind: 'user', id, name: id, roles: ['ra-officer'], departmentIds: [] },
    actor: { actor: `user:${id}`, actorRole: 'ra-officer', source: '10.0.0.1', requestId: `req-${id}` },
  }
}
const A = officer('officer-a')
const B = officer('officer-b')
const phone: ActorContext = { actor: 'anonymous', actorRole: '', source: '10.9.9.9', requestId: 'req-phone' }

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return error.code
    throw error
  }
  return undefined
}

/** A test double of the CA behind the issuer port: hands out serials and remembers what it issued. */
function inMemoryIssuerForTests(options: { fail?: boolean } = {}): CertificateIssuer & { issued: string[] } {
  const issued: string[] = []
  return {
    issued,
    async prepare() {
      return {
        async issue(_tx, application) {
          if (options.fail) throw new Error('CA down')
          issued.push(application.id)
          const serial = randomBytes(16).toString('hex')
          return { certificateId: randomUUID(), serial, issuerId: 'ca-test', certificate: new Uint8Array() }
        },
        async change() {
          throw new Error('not used here')
        },
      }
    },
  }
}

/** A PKCS #10 request made by OpenSSL for a fresh P-256 key. */
function opensslCsr(): string {
  return execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=x',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  )
}

for (const kind of testDialects()) {
  describe(`${kind}: RA certificate applications`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let uow: UnitOfWork
    let now = T0
    const clock: Clock = { now: () => new Date(now) }
    const box = createSecretBox(randomBytes(32))
    const institutionId = randomUUID()
    const dept: Record<string, string> = {}
    const staff: Record<string, string> = {}
    const ra = (issuer?: CertificateIssuer) =>
      createRaUseCases({
        uow,
        clock,
        secretBox: box,
        issuer,
      })

    function department(code: string, parent?: string): Department {
      const id = randomUUID()
      dept[code] = id
      return {
        id,
        institutionId,
        code,
        name: code,
        parentId: parent ? dept[parent] : undefined,
        status: 'active',
        createdAt: new Date(T0),
        updatedAt: new Date(T0),
        version: 1,
      }
    }
    function member(employeeNumber: string, departmentCode: string, status: StaffStatus = 'active'): StaffMember {
      return {
        id: randomUUID(),
        institutionId,
        employeeNumber,
        name: `员工${employeeNumber}`,
        title: '医师',
        departmentIds: [dept[departmentCode] as string],
        status,
        phone: undefined,
        idDocument: undefined,
        createdAt: new Date(T0),
        updatedAt: new Date(T0),
        version: 1,
      }
    }

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      uow = createUnitOfWork(storage.db, clock)
      await uow.run(async (tx) => {
        await tx.institutions.insert({
          id: institutionId,
          code: 'H01',
          name: '省人民医院',
          parentId: undefined,
          createdAt: new Date(T0),
          version: 1,
        })
        // H ─ IM ─ CARD, H ─ SURG, H ─ BULK
        await tx.departments.insertMany([department('H')])
        await tx.departments.insertMany([department('IM', 'H'), department('SURG', 'H'), department('BULK', 'H')])
        await tx.departments.insertMany([department('CARD', 'IM')])
        const people = [
          member('c1', 'CARD'),
          member('c2', 'CARD'),
          member('c3', 'CARD'),
          member('s1', 'SURG'),
          member('s2', 'SURG'),
          member('gone', 'CARD', 'left'),
        ]
        for (const p of people) staff[p.employeeNumber] = p.id
        await tx.staff.insertMany(people)
      })
    })
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })

    it('stores every field and reads it back; a stale version is a VERSION_CONFLICT', async () => {
      const application = await ra().apply(A.principal, A.actor, {
        staffId: staff.s2 as string,
        profileId: 'staff-signing',
        kind: 'renew',
        replaces: 'cert-old',
        subject: { CN: ' 员工s2 ', OU: '外科' },
      })
      const stored = (await uow.run((tx) => tx.raApplications.find(application.id))) as RaApplication
      expect(stored).toEqual(application)
      expect(stored).toMatchObject({
        applicationKind: 'renew',
        purpose: 'renewal',
        replaces: 'cert-old',
        status: 'pending',
        subject: { CN: '员工s2', OU: '外科' },
        departmentId: dept.SURG,
        institutionId,
        requestedBy: A.actor.actor,
        version: 1,
      })
      const saved = {
        ...stored,
        status: 'approved' as const,
        version: 2,
        activation: { hash: 'h', expiresAt: new Date(T0 + 1000), attempts: 2, redeemedAt: undefined },
      }
      await uow.run((tx) => tx.raApplications.update(saved))
      expect(await uow.run((tx) => tx.raApplications.find(application.id))).toEqual(saved)
      expect(await codeOf(uow.run((tx) => tx.raApplications.update(saved)))).toBe('VERSION_CONFLICT')
      // One open application per staff member, enforced by the database as well.
      expect(
        await codeOf(uow.run((tx) => tx.raApplications.insertMany([{ ...stored, id: randomUUID(), version: 1 }]))),
      ).toBe('CERTIFICATE_APPLICATION_OPEN')
      await ra().cancel(A.principal, A.actor, application.id, '测试结束')
    })

    it('applies for an active staff member in scope only, once while open', async () => {
      const uc = ra()
      expect(await codeOf(uc.apply(A.principal, A.actor, { staffId: 'nobody', profileId: 'staff-signing' }))).toBe(
        'STAFF_NOT_FOUND',
      )
      expect(
        await codeOf(uc.apply(A.principal, A.actor, { staffId: staff.gone as string, profileId: 'staff-signing' })),
      ).toBe('STAFF_NOT_ACTIVE')
      const manager: Principal = {
        kind: 'user',
        id: 'mgr',
        name: 'mgr',
        roles: ['dept-manager'],
        departmentIds: [dept.IM as string],
      }
      expect(
        await codeOf(uc.apply(manager, A.actor, { staffId: staff.s1 as string, profileId: 'staff-signing' })),
      ).toBe('STAFF_NOT_FOUND')
      const first = await uc.apply(A.principal, A.actor, { staffId: staff.c1 as string, profileId: 'staff-signing' })
      expect(first.status).toBe('pending')
      expect(
        await codeOf(uc.apply(A.principal, A.actor, { staffId: staff.c1 as string, profileId: 'staff-signing' })),
      ).toBe('CERTIFICATE_APPLICATION_OPEN')
      expect(
        await codeOf(uc.apply(A.principal, A.actor, { staffId: staff.c2 as string, profileId: 'bad profile' })),
      ).toBe('INVALID_INPUT')
      // The submission is in the audit trail, in the same unit of work.
      const audited = await uow.run((tx) =>
        tx.audit.countSince({ type: 'certificate-application.submitted', since: new Date(T0 - 1) }),
      )
      expect(audited).toBeGreaterThanOrEqual(2)
      await uc.cancel(A.principal, A.actor, first.id)
    })

    it('four-eyes: the requesting officer cannot approve; a second officer can; the policy can switch it off', async () => {
      const uc = ra()
      const app = await uc.apply(A.principal, A.actor, { staffId: staff.c2 as string, profileId: 'staff-signing' })
      expect(await codeOf(uc.approve(A.principal, A.actor, app.id))).toBe('FOUR_EYES_REQUIRED')
      expect(await codeOf(uc.approve(B.principal, B.actor, app.id, 7))).toBe('VERSION_CONFLICT')
      const { application, activationCode } = await uc.approve(B.principal, B.actor, app.id, 1)
      expect(application).toMatchObject({ status: 'approved', decidedBy: B.actor.actor, version: 2 })
      expect(activationCode).toMatch(/^\d{8}$/)
      // Only a keyed hash is stored, never the code.
      expect(application.activation?.hash).not.toContain(activationCode)
      expect(JSON.stringify(await uow.run((tx) => tx.raApplications.find(app.id)))).not.toContain(activationCode)
      expect(await codeOf(uc.approve(B.principal, B.actor, app.id))).toBe('INVALID_TRANSITION')

      await uow.run((tx) => tx.settings.put(RA_POLICY_KEY, { fourEyes: false }, 1, new Date(now), 'user:secadmin'))
      try {
        const own = await uc.apply(A.principal, A.actor, { staffId: staff.c3 as string, profileId: 'staff-signing' })
        expect((await uc.approve(A.principal, A.actor, own.id)).application.status).toBe('approved')
        await uc.cancel(A.principal, A.actor, own.id, '撤销')
      } finally {
        await uow.run((tx) => tx.settings.put(RA_POLICY_KEY, { fourEyes: true }, 2, new Date(now), 'user:secadmin'))
      }
    })

    it('rejects with a reason and cancels; both are final', async () => {
      const uc = ra()
      const app = await uc.apply(A.principal, A.actor, { staffId: staff.s1 as string, profileId: 'staff-signing' })
      expect(await codeOf(uc.reject(B.principal, B.actor, app.id, ''))).toBe('INVALID_INPUT')
      const rejected = await uc.reject(B.principal, B.actor, app.id, '资料不全')
      expect(rejected).toMatchObject({ status: 'rejected', decisionReason: '资料不全', decidedBy: B.actor.actor })
      expect(await codeOf(uc.cancel(A.principal, A.actor, app.id))).toBe('INVALID_TRANSITION')
    })

    it('redeems an activation code once; wrong guesses are counted and burn it; it expires', async () => {
      const uc = ra()
      const app = await uc.apply(A.principal, A.actor, { staffId: staff.s1 as string, profileId: 'staff-signing' })
      const { activationCode } = await uc.approve(B.principal, B.actor, app.id)
      const wrong = (code: string) => (code === '00000000' ? '00000001' : '00000000')
      expect(
        await codeOf(uc.redeemActivationCode(phone, { applicationId: app.id, code: wrong(activationCode as string) })),
      ).toBe('ACTIVATION_CODE_INVALID')
      // The failed attempt was committed although the call failed.
      expect((await uc.get(A.principal, app.id)).activation?.attempts).toBe(1)
      const redeemed = await uc.redeemActivationCode(phone, { applicationId: app.id, code: activationCode as string })
      expect(redeemed.activation?.redeemedAt).toEqual(new Date(now))
      expect(
        await codeOf(uc.redeemActivationCode(phone, { applicationId: app.id, code: activationCode as string })),
      ).toBe('ACTIVATION_CODE_INVALID')
      await uc.cancel(A.principal, A.actor, app.id)

      const second = await uc.apply(A.principal, A.actor, { staffId: staff.s1 as string, profileId: 'staff-signing' })
      const approval = await uc.approve(B.principal, B.actor, second.id)
      for (let i = 0; i < RA_LIMITS.activationAttempts; i++) {
        await codeOf(
          uc.redeemActivationCode(phone, { applicationId: second.id, code: wrong(approval.activationCode as string) }),
        )
      }
      // Burnt: even the right code no longer works.
      expect(
        await codeOf(
          uc.redeemActivationCode(phone, { applicationId: second.id, code: approval.activationCode as string }),
        ),
      ).toBe('ACTIVATION_CODE_INVALID')
      await uc.cancel(A.principal, A.actor, second.id)

      const third = await uc.apply(A.principal, A.actor, { staffId: staff.s1 as string, profileId: 'staff-signing' })
      const late = await uc.approve(B.principal, B.actor, third.id)
      now += RA_LIMITS.activationHours * 3600_000
      try {
        expect(
          await codeOf(
            uc.redeemActivationCode(phone, { applicationId: third.id, code: late.activationCode as string }),
          ),
        ).toBe('ACTIVATION_CODE_INVALID')
      } finally {
        now = T0
      }
      await uc.cancel(A.principal, A.actor, third.id)
    })

    it('issues through the CA port in the same unit of work; without a CA it is CA_UNAVAILABLE', async () => {
      const issuer = inMemoryIssuerForTests()
      const uc = ra(issuer)
      const app = await uc.apply(A.principal, A.actor, { staffId: staff.c3 as string, profileId: 'staff-signing' })
      expect(await codeOf(uc.issue(B.principal, B.actor, app.id))).toBe('INVALID_TRANSITION')
      expect(issuer.issued).toEqual([])
      await uc.approve(B.principal, B.actor, app.id)
      expect(await codeOf(ra().issue(B.principal, B.actor, app.id))).toBe('CA_UNAVAILABLE')
      // A CA failure leaves the application approved, ready to try again.
      await expect(
        ra(inMemoryIssuerForTests({ fail: true })).issue(B.principal, B.actor, app.id, { csr: opensslCsr() }),
      ).rejects.toThrow('CA down')
      expect((await uc.get(A.principal, app.id)).status).toBe('approved')
      expect(await codeOf(uc.issue(B.principal, B.actor, app.id))).toBe('INVALID_INPUT')
      const issued = await uc.issue(B.principal, B.actor, app.id, { csr: opensslCsr() })
      expect(issued).toMatchObject({ status: 'issued', version: 3, keyOrigin: 'csr' })
      expect(issued.serialHex).toMatch(/^[0-9a-f]{32}$/)
      expect(issuer.issued).toEqual([app.id])
      expect((await uc.get(A.principal, app.id)).serialHex).toBe(issued.serialHex)
    })

    it('of two concurrent approvals one wins, the other gets VERSION_CONFLICT or INVALID_TRANSITION', async () => {
      const uc = ra()
      const C = officer('officer-c')
      const app = await uc.apply(A.principal, A.actor, { staffId: staff.c1 as string, profileId: 'staff-signing' })
      const outcomes = await Promise.allSettled([
        uc.approve(B.principal, B.actor, app.id),
        uc.approve(C.principal, C.actor, app.id),
      ])
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []))
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(isDomainError(lost[0]) && ['VERSION_CONFLICT', 'INVALID_TRANSITION'].includes(lost[0].code)).toBe(true)
      const stored = await uc.get(A.principal, app.id)
      expect(stored.version).toBe(2)
      await uc.cancel(A.principal, A.actor, app.id)
    })

    it('lists with filters and paging; a department manager sees only their subtree', async () => {
      const uc = ra()
      const all = await uc.list(A.principal, { offset: 0, limit: 500 })
      expect(all.total).toBeGreaterThan(5)
      const page = await uc.list(A.principal, { offset: 1, limit: 2 })
      expect(page.items.map((a) => a.id)).toEqual(all.items.slice(1, 3).map((a) => a.id))
      expect(page.total).toBe(all.total)
      const cancelled = await uc.list(A.principal, { status: 'cancelled', offset: 0, limit: 500 })
      expect(cancelled.items.length).toBeGreaterThan(0)
      expect(cancelled.items.every((a) => a.status === 'cancelled')).toBe(true)
      const renewals = await uc.list(A.principal, { kind: 'renew', offset: 0, limit: 500 })
      expect(renewals.items.map((a) => a.holderId)).toEqual([staff.s2])
      const ofS1 = await uc.list(A.principal, { staffId: staff.s1, offset: 0, limit: 500 })
      expect(ofS1.items.every((a) => a.holderId === staff.s1)).toBe(true)
      expect(ofS1.total).toBe(4)
      // IM covers CARD below it.
      const underIm = await uc.list(A.principal, { departmentId: dept.IM, offset: 0, limit: 500 })
      expect(underIm.total).toBeGreaterThan(0)
      expect(underIm.items.every((a) => a.departmentId === dept.CARD)).toBe(true)

      const manager: Principal = {
        kind: 'user',
        id: 'mgr',
        name: 'mgr',
        roles: ['dept-manager'],
        departmentIds: [dept.IM as string],
      }
      const seen = await uc.list(manager, { offset: 0, limit: 500 })
      expect(seen.total).toBe(underIm.total)
      expect(await uc.list(manager, { departmentId: dept.SURG, offset: 0, limit: 500 })).toEqual({
        items: [],
        total: 0,
      })
      const surgery = all.items.find((a) => a.departmentId === dept.SURG) as RaApplication
      expect(await codeOf(uc.get(manager, surgery.id))).toBe('CERTIFICATE_APPLICATION_NOT_FOUND')
    })

    it('bulk-applies by staff ids with a result per staff member', async () => {
      const uc = ra()
      const result = await uc.applyBulk(A.principal, A.actor, {
        profileId: 'staff-signing',
        staffIds: [staff.c2 as string, staff.gone as string, 'nobody', staff.s2 as string, staff.s2 as string],
      })
      expect(result.created).toBe(1)
      expect(result.results.map((r) => [r.outcome, r.code])).toEqual([
        ['skipped', 'CERTIFICATE_APPLICATION_OPEN'], // c2 was approved above and is still open
        ['skipped', 'STAFF_NOT_ACTIVE'],
        ['skipped', 'STAFF_NOT_FOUND'],
        ['created', undefined],
        ['skipped', 'INVALID_INPUT'],
      ])
      expect(await codeOf(uc.applyBulk(A.principal, A.actor, { profileId: 'staff-signing' }))).toBe('INVALID_INPUT')
    })

    it.runIf(kind === 'sqlite')(
      'bulk-applies for a department of 6,300 staff in one unit of work within seconds',
      async () => {
        const people = Array.from({ length: 6300 }, (_, i) => member(`b${i}`, 'BULK'))
        await uow.run((tx) => tx.staff.insertMany(people))
        const started = performance.now()
        const result = await ra().applyBulk(A.principal, A.actor, {
          profileId: 'staff-signing',
          departmentId: dept.BULK as string,
        })
        const elapsed = performance.now() - started
        expect(result.created).toBe(6300)
        expect(result.skipped).toBe(0)
        expect(elapsed).toBeLessThan(10_000)
        const listed = await ra().list(A.principal, { departmentId: dept.BULK, status: 'pending', offset: 0, limit: 1 })
        expect(listed.total).toBe(6300)
        // Again: every one is now open, so nothing is created.
        const again = await ra().applyBulk(A.principal, A.actor, {
          profileId: 'staff-signing',
          departmentId: dept.BULK as string,
        })
        expect(again).toMatchObject({ created: 0, skipped: 6300 })
        console.info(`bulk 6,300 applications on ${kind}: ${Math.round(elapsed)} ms`)
      },
    )
  })
}
