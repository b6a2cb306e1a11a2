import { randomBytes, randomUUID } from 'node:crypto'
import type { CertificateAuthority, CertificateSearch, IssuedCertificate, UnitOfWork } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  openTestStorage,
  testAuthority,
  testCertificate,
  testDepartment,
  testDialects,
  testStaffMember,
} from '../testing.js'

const NOW = new Date('2026-11-28T08:00:00.000Z')
const DAY = 86_400_000
const day = (n: number) => new Date(NOW.getTime() + n * DAY)

function authority(): CertificateAuthority {
  return testAuthority({ name: '测试签发 CA', keyUri: `soft:${randomUUID()}`, createdAt: day(-400) })
}

let serialCounter = 0x1000
function certificate(issuerId: string, o: Partial<IssuedCertificate> = {}): IssuedCertificate {
  serialCounter += 1
  return testCertificate(issuerId, {
    serialHex: `5a${serialCounter.toString(16)}${randomBytes(6).toString('hex')}`,
    subject: 'C=CN, CN=someone',
    staffId: undefined,
    holderId: 'ca:x',
    notBefore: day(-10),
    notAfter: day(355),
    statusChangedAt: day(-10),
    createdAt: day(-10),
    ...o,
  })
}

for (const kind of testDialects()) {
  describe(`${kind}: certificate queries (search, reports, counts)`, () => {
    let uow: UnitOfWork
    let close = async () => {}
    const ca = authority()
    const other = authority()
    const inst = { id: `i-${randomUUID()}`, code: `H${randomBytes(3).toString('hex')}`, name: '第一医院' }
    const dept = (id: string, name: string, parentId?: string) =>
      testDepartment({ id, institutionId: inst.id, name, parentId, createdAt: NOW })
    const medicine = dept('d-med', '内科')
    const cardio = dept('d-cardio', '心内科', 'd-med')
    const surgery = dept('d-surg', '外科')
    const person = (id: string, name: string, departmentIds: string[]) =>
      testStaffMember({ id, institutionId: inst.id, name, departmentIds, createdAt: NOW })
    const wang = person('s-wang', '王医生', ['d-cardio'])
    const li = person('s-li', '李医生', ['d-surg', 'd-med'])
    const zhao = person('s-zhao', '赵护士', ['d-surg'])

    const c = {
      wangActive: certificate(ca.id, {
        staffId: 's-wang',
        subject: 'C=CN, O=第一医院, CN=王医生',
        createdAt: day(-40),
      }),
      wangExpiring: certificate(ca.id, {
        staffId: 's-wang',
        subject: 'C=CN, CN=王医生 2',
        notAfter: day(10),
        createdAt: day(-30),
      }),
      liRevoked: certificate(ca.id, {
        staffId: 's-li',
        subject: 'C=CN, CN=李医生',
        status: 'revoked',
        revocation: { reason: 'keyCompromise', at: day(-1), by: 'user:x', invalidityDate: day(-3) },
        version: 2,
        createdAt: day(-20),
      }),
      // Stored active but past notAfter: reads as expired.
      zhaoLapsed: certificate(ca.id, {
        staffId: 's-zhao',
        subject: 'C=CN, CN=赵护士',
        notBefore: day(-400),
        notAfter: day(-5),
        createdAt: day(-400),
      }),
      zhaoSuspended: certificate(ca.id, {
        staffId: 's-zhao',
        subject: 'C=CN, CN=赵护士 100%_x',
        status: 'suspended',
        version: 2,
        createdAt: day(-5),
      }),
      server: certificate(other.id, {
        subject: 'C=CN, CN=his.hospital.local',
        profile: 'tls-server',
        createdAt: day(-2),
      }),
    }

    beforeAll(async () => {
      ;({ uow, close } = await openTestStorage(kind, { now: () => NOW }))
      await uow.run(async (tx) => {
        await tx.institutions.insert({ ...inst, parentId: undefined, createdAt: NOW, version: 1 })
        await tx.departments.insertMany([medicine, cardio, surgery])
        await tx.staff.insertMany([wang, li, zhao])
        await tx.certificateAuthorities.insert(ca)
        await tx.certificateAuthorities.insert(other)
        for (const cert of Object.values(c)) await tx.certificates.insert(cert)
      })
    })
    afterAll(() => close())

    const search = (q: Partial<CertificateSearch>) =>
      uow.run((tx) => tx.certificateQueries.search({ now: NOW, offset: 0, limit: 50, ...q }))
    const ids = async (q: Partial<CertificateSearch>) => (await search(q)).items.map((i) => i.id)

    it('lists newest first with holder, primary department and institution joined', async () => {
      const page = await search({})
      expect(page.total).toBe(6)
      expect(page.items.map((i) => i.id)).toEqual([
        c.server.id,
        c.zhaoSuspended.id,
        c.liRevoked.id,
        c.wangExpiring.id,
        c.wangActive.id,
        c.zhaoLapsed.id,
      ])
      const li = page.items.find((i) => i.id === c.liRevoked.id)
      expect(li).toMatchObject({
        serialHex: c.liRevoked.serialHex,
        staffName: '李医生',
        departmentId: 'd-surg',
        departmentName: '外科',
        institutionId: inst.id,
        status: 'revoked',
        version: 2,
        revocation: { reason: 'keyCompromise', at: day(-1), invalidityDate: day(-3) },
      })
      expect(page.items.find((i) => i.id === c.server.id)).toMatchObject({
        staffId: undefined,
        departmentId: undefined,
      })
      const second = await search({ offset: 2, limit: 2 })
      expect(second.total).toBe(6)
      expect(second.items.map((i) => i.id)).toEqual([c.liRevoked.id, c.wangExpiring.id])
    })

    it('filters by effective status: past notAfter is expired whatever is stored', async () => {
      expect(await ids({ status: 'expired' })).toEqual([c.zhaoLapsed.id])
      expect(await ids({ status: 'revoked' })).toEqual([c.liRevoked.id])
      expect(await ids({ status: 'suspended' })).toEqual([c.zhaoSuspended.id])
      expect(new Set(await ids({ status: 'active' }))).toEqual(
        new Set([c.server.id, c.wangExpiring.id, c.wangActive.id]),
      )
    })

    it('matches q against the subject (any case) or a serial prefix, with LIKE wildcards taken literally', async () => {
      expect(new Set(await ids({ q: '王医生' }))).toEqual(new Set([c.wangActive.id, c.wangExpiring.id]))
      expect(await ids({ q: 'HIS.HOSPITAL' })).toEqual([c.server.id])
      expect(await ids({ q: c.liRevoked.serialHex.slice(0, 10) })).toEqual([c.liRevoked.id])
      expect(await ids({ q: '100%_' })).toEqual([c.zhaoSuspended.id])
      expect(await ids({ q: '%' })).toEqual([c.zhaoSuspended.id])
      expect(await ids({ q: '_' })).toEqual([c.zhaoSuspended.id])
    })

    it('filters by staff, serial, profile, departments (any of the holder’s) and expiry window', async () => {
      expect(new Set(await ids({ staffId: 's-zhao' }))).toEqual(new Set([c.zhaoLapsed.id, c.zhaoSuspended.id]))
      expect(await ids({ serial: c.wangActive.serialHex })).toEqual([c.wangActive.id])
      expect(await ids({ profile: 'tls-server' })).toEqual([c.server.id])
      // 李 is in surgery (primary) and medicine: a medicine filter finds him.
      expect(new Set(await ids({ departmentIds: ['d-med', 'd-cardio'] }))).toEqual(
        new Set([c.wangActive.id, c.wangExpiring.id, c.liRevoked.id]),
      )
      expect(await ids({ departmentIds: [] })).toEqual([])
      expect(await ids({ expiringBefore: day(30) })).toEqual([c.wangExpiring.id])
      expect(await ids({ expiringBefore: day(30), status: 'active', departmentIds: ['d-cardio'] })).toEqual([
        c.wangExpiring.id,
      ])
    })

    it('reads one listing by id', async () => {
      const one = await uow.run((tx) => tx.certificateQueries.listing(c.wangActive.id))
      expect(one).toMatchObject({ id: c.wangActive.id, staffName: '王医生', departmentName: '心内科' })
      expect(await uow.run((tx) => tx.certificateQueries.listing('nope'))).toBeUndefined()
    })

    it('reports by department, institution, profile and month: issued in [from, to), states now', async () => {
      const report = (q: Partial<Parameters<UnitOfWork['run']>[0]> & Record<string, unknown>) =>
        uow.run((tx) =>
          tx.certificateQueries.report({
            groupBy: 'department',
            now: NOW,
            expiringBefore: day(30),
            ...(q as object),
          }),
        )
      const byDept = await report({})
      expect(byDept).toEqual([
        {
          key: 'd-surg',
          label: '外科',
          issued: 3,
          active: 0,
          suspended: 1,
          revoked: 1,
          expired: 1,
          expiringIn30Days: 0,
        },
        {
          key: 'd-cardio',
          label: '心内科',
          issued: 2,
          active: 2,
          suspended: 0,
          revoked: 0,
          expired: 0,
          expiringIn30Days: 1,
        },
        { key: null, label: null, issued: 1, active: 1, suspended: 0, revoked: 0, expired: 0, expiringIn30Days: 0 },
      ])
      const windowed = await report({ from: day(-35), to: day(-3) })
      // 李 (day -20) and 赵's suspended one (day -5) in surgery, 王's second (day -30) in cardiology.
      expect(windowed.map((r) => [r.key, r.issued])).toEqual([
        ['d-surg', 2],
        ['d-cardio', 1],
      ])
      const scoped = await report({ groupBy: 'institution', departmentIds: ['d-surg'] })
      expect(scoped).toEqual([
        {
          key: inst.id,
          label: '第一医院',
          issued: 3,
          active: 0,
          suspended: 1,
          revoked: 1,
          expired: 1,
          expiringIn30Days: 0,
        },
      ])
      const byProfile = await report({ groupBy: 'profile' })
      expect(byProfile.map((r) => [r.key, r.issued])).toEqual([
        ['staff-sign', 5],
        ['tls-server', 1],
      ])
      const byMonth = await report({ groupBy: 'month' })
      expect(byMonth.map((r) => [r.key, r.issued])).toEqual([
        [day(-400).toISOString().slice(0, 7), 1],
        ['2026-10', 2],
        ['2026-11', 3],
      ])
    })

    it('counts certificates per issuer', async () => {
      const counts = await uow.run((tx) => tx.certificateQueries.issuedCounts())
      expect(counts.get(ca.id)).toBe(5)
      expect(counts.get(other.id)).toBe(1)
    })
  })
}
