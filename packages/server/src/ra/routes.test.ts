import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, seedStaff, signInAs, sm2Csr, type TestApp } from '../testing.js'

const base = '/api/v1/ra/applications'

/** Four staff members: the first two in cardiology, the other two in surgery. */
async function seedOrganisation(t: TestApp): Promise<{ staff: string[]; cardId: string; surgId: string }> {
  const { departmentIds, staffIds } = await seedStaff(t, 4)
  const [cardId, surgId] = departmentIds
  // seedStaff alternates the two departments: E1 and E3 in the first, E2 and E4 in the second.
  const [e1, e2, e3, e4] = staffIds as [string, string, string, string]
  return { staff: [e1, e3, e2, e4], cardId, surgId }
}

describe('RA application routes', () => {
  let t: TestApp
  let officerA: SignedIn
  let officerB: SignedIn
  let auditor: SignedIn
  let sysadmin: SignedIn
  let org: { staff: string[]; cardId: string; surgId: string }

  beforeAll(async () => {
    t = await createTestApp()
    org = await seedOrganisation(t)
    ;[officerA, officerB, auditor, sysadmin] = await Promise.all([
      signInAs(t, ['ra-officer']),
      signInAs(t, ['ra-officer']),
      signInAs(t, ['auditor']),
      signInAs(t, ['sysadmin']),
    ])
  })
  afterAll(async () => {
    await t?.close()
  })

  const apply = (who: SignedIn, payload: unknown) =>
    t.app.inject({ method: 'POST', url: base, headers: who.headers, payload: payload as object })

  it('lets an RA officer apply, and refuses other roles with a 403 problem', async () => {
    const created = await apply(officerA, { staffId: org.staff[0], profileId: 'staff-signing' })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ status: 'pending', kind: 'apply', staffId: org.staff[0], version: 1 })
    for (const who of [auditor, sysadmin]) {
      const denied = await apply(who, { staffId: org.staff[1], profileId: 'staff-signing' })
      expect(denied.statusCode).toBe(403)
      expect(denied.headers['content-type']).toContain('application/problem+json')
    }
    const list = await t.app.inject({ method: 'GET', url: base, headers: auditor.headers })
    expect(list.statusCode).toBe(403)
    const again = await apply(officerA, { staffId: org.staff[0], profileId: 'staff-signing' })
    expect(again.statusCode).toBe(409)
    expect(again.json().code).toBe('CERTIFICATE_APPLICATION_OPEN')
  })

  it('answers 400 naming the field for bad input', async () => {
    const badProfile = await apply(officerA, { staffId: org.staff[1], profileId: 'bad profile' })
    expect(badProfile.statusCode).toBe(400)
    expect(badProfile.json().errors).toEqual([expect.objectContaining({ field: 'body.profileId' })])
    const longId = await apply(officerA, { staffId: 'x'.repeat(65), profileId: 'staff-signing' })
    expect(longId.json().errors).toEqual([expect.objectContaining({ field: 'body.staffId' })])
    const extra = await apply(officerA, { staffId: org.staff[1], profileId: 'p', status: 'approved' })
    expect(extra.statusCode).toBe(400)
    const page = await t.app.inject({ method: 'GET', url: `${base}?limit=100000`, headers: officerA.headers })
    expect(page.statusCode).toBe(400)
    expect(page.json().errors[0].field).toMatch(/^query(string)?\.limit$/)
    const unknown = await t.app.inject({ method: 'GET', url: `${base}/${randomUUID()}`, headers: officerA.headers })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().code).toBe('CERTIFICATE_APPLICATION_NOT_FOUND')
  })

  it('approves with four-eyes and returns the activation code once; rejects need a reason', async () => {
    const created = (await apply(officerA, { staffId: org.staff[2], profileId: 'staff-signing' })).json()
    const url = `${base}/${created.id}/approve`
    const own = await t.app.inject({ method: 'POST', url, headers: officerA.headers, payload: {} })
    expect(own.statusCode).toBe(403)
    expect(own.json().code).toBe('FOUR_EYES_REQUIRED')
    const approved = await t.app.inject({ method: 'POST', url, headers: officerB.headers, payload: { version: 1 } })
    expect(approved.statusCode, approved.body).toBe(200)
    expect(approved.headers['cache-control']).toBe('no-store')
    expect(approved.json().activationCode).toMatch(/^\d{8}$/)
    const read = await t.app.inject({ method: 'GET', url: `${base}/${created.id}`, headers: officerA.headers })
    expect(read.json()).toMatchObject({ status: 'approved', activation: { attempts: 0, redeemed: false } })
    expect(read.body).not.toContain(approved.json().activationCode)

    const other = (await apply(officerA, { staffId: org.staff[3], profileId: 'staff-signing' })).json()
    const noReason = await t.app.inject({
      method: 'POST',
      url: `${base}/${other.id}/reject`,
      headers: officerB.headers,
      payload: {},
    })
    expect(noReason.statusCode).toBe(400)
    expect(noReason.json().errors).toEqual([expect.objectContaining({ field: 'body.reason' })])
    const rejected = await t.app.inject({
      method: 'POST',
      url: `${base}/${other.id}/reject`,
      headers: officerB.headers,
      payload: { reason: '资料不全' },
    })
    expect(rejected.json()).toMatchObject({ status: 'rejected', reason: '资料不全' })
  })

  it('answers 503 CA_UNAVAILABLE for issuing without a CA', async () => {
    const approvedList = await t.app.inject({
      method: 'GET',
      url: `${base}?status=approved`,
      headers: officerA.headers,
    })
    const [approved] = approvedList.json().items
    const res = await t.app.inject({ method: 'POST', url: `${base}/${approved.id}/issue`, headers: officerB.headers })
    expect(res.statusCode).toBe(503)
    expect(res.json().code).toBe('CA_UNAVAILABLE')
  })

  it('bulk-applies by department with per-staff results; cancels', async () => {
    const bulk = await t.app.inject({
      method: 'POST',
      url: `${base}/bulk`,
      headers: officerA.headers,
      payload: { profileId: 'staff-signing', departmentId: org.cardId },
    })
    expect(bulk.statusCode, bulk.body).toBe(200)
    // Staff 0 already has an open application; staff 1 gets one.
    expect(bulk.json()).toMatchObject({ created: 1, skipped: 1 })
    const tooMany = await t.app.inject({
      method: 'POST',
      url: `${base}/bulk`,
      headers: officerA.headers,
      payload: { profileId: 'staff-signing', staffIds: Array.from({ length: 20_001 }, (_, i) => `s${i}`) },
    })
    expect(tooMany.statusCode).toBe(400)
    expect(tooMany.json().errors[0].field).toBe('body.staffIds')
    const pending = await t.app.inject({
      method: 'GET',
      url: `${base}?status=pending&departmentId=${org.cardId}`,
      headers: officerA.headers,
    })
    expect(pending.json().total).toBe(2)
    const first = pending.json().items[0]
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `${base}/${first.id}/cancel`,
      headers: officerA.headers,
      payload: { reason: '调岗' },
    })
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', version: 2 })
  })
})

describe('RA policy routes', () => {
  it('lets a security administrator switch four-eyes, audited, with optimistic versioning', async () => {
    const t = await createTestApp()
    try {
      const [secadmin, officer] = await Promise.all([signInAs(t, ['secadmin']), signInAs(t, ['ra-officer'])])
      const url = '/api/v1/ra/policy'
      const initial = await t.app.inject({ method: 'GET', url, headers: secadmin.headers })
      expect(initial.json()).toEqual({ fourEyes: true, version: 0 })
      const denied = await t.app.inject({
        method: 'PUT',
        url,
        headers: officer.headers,
        payload: { fourEyes: false, version: 0 },
      })
      expect(denied.statusCode).toBe(403)
      const bad = await t.app.inject({ method: 'PUT', url, headers: secadmin.headers, payload: { fourEyes: 'no' } })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().errors[0].field).toBe('body.fourEyes')
      const off = await t.app.inject({
        method: 'PUT',
        url,
        headers: secadmin.headers,
        payload: { fourEyes: false, version: 0 },
      })
      expect(off.json()).toEqual({ fourEyes: false, version: 1 })
      const stale = await t.app.inject({
        method: 'PUT',
        url,
        headers: secadmin.headers,
        payload: { fourEyes: true, version: 0 },
      })
      expect(stale.statusCode).toBe(409)
      const audited = await t.services.uow.run((tx) =>
        tx.audit.countSince({ type: 'ra.policy.changed', since: new Date(0) }),
      )
      expect(audited).toBe(1)
    } finally {
      await t.close()
    }
  })
})

describe('RA application routes with a CA connected', () => {
  it('issues an approved application and department managers read only their scope', async () => {
    const t = await createTestApp({ ca: true })
    try {
      await t.services.ca?.createHierarchy(
        {
          algorithm: 'sm2',
          names: { root: { CN: 'Test Root', O: 'Test' }, issuing: { CN: 'Test Issuing', O: 'Test' } },
        },
        { actor: 'system', actorRole: '', source: 'local', requestId: 'test' },
      )
      const org = await seedOrganisation(t)
      const [a, b] = await Promise.all([signInAs(t, ['ra-officer']), signInAs(t, ['ra-officer'])])
      const manager = await signInAs(t, ['dept-manager'], { departmentIds: [org.surgId] })
      const created = (
        await t.app.inject({
          method: 'POST',
          url: base,
          headers: a.headers,
          payload: { staffId: org.staff[0], profileId: 'staff-sign' },
        })
      ).json()
      await t.app.inject({ method: 'POST', url: `${base}/${created.id}/approve`, headers: b.headers, payload: {} })
      const noKey = await t.app.inject({ method: 'POST', url: `${base}/${created.id}/issue`, headers: b.headers })
      expect(noKey.statusCode).toBe(400)
      expect(noKey.json().errors).toEqual([expect.objectContaining({ field: 'body.csr' })])
      const csr = await sm2Csr()
      const issued = await t.app.inject({
        method: 'POST',
        url: `${base}/${created.id}/issue`,
        headers: b.headers,
        payload: { csr },
      })
      expect(issued.statusCode, issued.body).toBe(200)
      expect(issued.json()).toMatchObject({ status: 'issued', version: 3, keyOrigin: 'csr' })
      expect(issued.json().certificateSerial).toMatch(/^[0-9a-f]{32}$/)
      // The manager of surgery does not see a cardiology application.
      const list = await t.app.inject({ method: 'GET', url: base, headers: manager.headers })
      expect(list.statusCode).toBe(200)
      expect(list.json()).toEqual({ items: [], total: 0 })
      const one = await t.app.inject({ method: 'GET', url: `${base}/${created.id}`, headers: manager.headers })
      expect(one.statusCode).toBe(404)
      const apply = await t.app.inject({
        method: 'POST',
        url: base,
        headers: manager.headers,
        payload: { staffId: org.staff[2], profileId: 'staff-signing' },
      })
      expect(apply.statusCode).toBe(403)
    } finally {
      await t.close()
    }
  })
})
