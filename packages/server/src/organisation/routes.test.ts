import type { Principal } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'

// A stand-in for the HMAC authenticator: a request carrying this header is the HIS client system.
const HIS: Principal = { kind: 'client-system', id: 'his', name: 'HIS', roles: ['client-system'], departmentIds: [] }
const HIS_HEADER = { 'x-test-client-system': 'his' }

describe('organisation routes', () => {
  let t: TestApp
  let officer: SignedIn
  let sysadmin: SignedIn
  let auditor: SignedIn
  let institutionId: string
  const dept: Record<string, { id: string; version: number }> = {}

  beforeAll(async () => {
    t = await createTestApp({
      services: (base) => ({
        ...base,
        authenticators: [async (request) => (request.headers['x-test-client-system'] ? HIS : undefined)],
      }),
    })
    ;[officer, sysadmin, auditor] = await Promise.all([
      signInAs(t, ['ra-officer']),
      signInAs(t, ['sysadmin']),
      signInAs(t, ['auditor']),
    ])
    const inst = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/institutions',
      headers: sysadmin.headers,
      payload: { code: 'H01', name: '省人民医院' },
    })
    institutionId = inst.json().id
    for (const [code, parent] of [
      ['H', undefined],
      ['IM', 'H'],
      ['CARD', 'IM'],
      ['SURG', 'H'],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/org/departments',
        headers: officer.headers,
        payload: { institutionId, code, name: `科室${code}`, ...(parent && { parentId: dept[parent]?.id }) },
      })
      expect(res.statusCode, res.body).toBe(201)
      dept[code] = res.json()
    }
  })
  afterAll(async () => {
    await t?.close()
  })

  const staffPayload = (employeeNumber: string, departmentId: string) => ({
    institutionId,
    employeeNumber,
    name: '张三',
    title: '主任医师',
    departmentIds: [departmentId],
    phone: '13800138000',
    idNumber: '11010519491231002X',
  })

  it('lets org.write roles create and refuses others with a 403 problem', async () => {
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/staff',
      headers: auditor.headers,
      payload: staffPayload('E001', dept.CARD?.id as string),
    })
    expect(denied.statusCode).toBe(403)
    expect(denied.headers['content-type']).toContain('application/problem+json')
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/staff',
      headers: officer.headers,
      payload: staffPayload('E001', dept.CARD?.id as string),
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ phone: '138****8000', idNumber: '110105********002X', revealed: false })
  })

  it('answers 400 naming the field for bad input, including a bad ID checksum', async () => {
    const tooLong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/staff',
      headers: officer.headers,
      payload: { ...staffPayload('E002', dept.IM?.id as string), name: '名'.repeat(65) },
    })
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.json().errors).toEqual([expect.objectContaining({ field: 'body.name' })])
    const checksum = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/staff',
      headers: officer.headers,
      payload: { ...staffPayload('E002', dept.IM?.id as string), idNumber: '110105194912310021' },
    })
    expect(checksum.statusCode).toBe(400)
    expect(checksum.json()).toMatchObject({ code: 'ORG_FIELD_INVALID', detail: expect.stringMatching(/^idNumber:/) })
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/org/staff?limit=201', headers: officer.headers })
    expect(page.statusCode).toBe(400)
    expect(page.json().errors[0].field).toMatch(/^query(string)?\.limit$/)
  })

  it('reveals personal data only to staff.personal-data.read, and audits the reveal', async () => {
    const [member] = (
      await t.app.inject({ method: 'GET', url: '/api/v1/org/staff?employeeNumber=E001', headers: sysadmin.headers })
    ).json().items
    expect(member.phone).toBe('138****8000')
    const denied = await t.app.inject({
      method: 'POST',
      url: `/api/v1/org/staff/${member.id}/reveal`,
      headers: sysadmin.headers,
    })
    expect(denied.statusCode).toBe(403)
    const revealed = await t.app.inject({
      method: 'POST',
      url: `/api/v1/org/staff/${member.id}/reveal`,
      headers: officer.headers,
    })
    expect(revealed.statusCode).toBe(200)
    expect(revealed.json()).toMatchObject({ phone: '13800138000', idNumber: '11010519491231002X', revealed: true })
    const event = await t.storage.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'staff.personal-data.revealed')
      .executeTakeFirstOrThrow()
    expect(event).toMatchObject({ subject: member.id, actor: `user:${officer.account.id}` })
    expect(event.data).not.toContain('13800138000')
  })

  it('keeps a department manager inside their subtree', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/staff',
      headers: officer.headers,
      payload: { ...staffPayload('E100', dept.SURG?.id as string), phone: undefined, idNumber: undefined },
    })
    const manager = await signInAs(t, ['dept-manager'], { departmentIds: [dept.IM?.id as string] })
    const tree = await t.app.inject({ method: 'GET', url: '/api/v1/org/departments/tree', headers: manager.headers })
    expect(tree.statusCode).toBe(200)
    expect(tree.json()).toMatchObject([{ code: 'IM', children: [{ code: 'CARD', children: [] }] }])
    const staff = await t.app.inject({ method: 'GET', url: '/api/v1/org/staff', headers: manager.headers })
    expect(staff.json().items.map((s: { employeeNumber: string }) => s.employeeNumber)).toEqual(['E001'])
    const surgeon = (
      await t.app.inject({ method: 'GET', url: '/api/v1/org/staff?employeeNumber=E100', headers: officer.headers })
    ).json().items[0]
    const hidden = await t.app.inject({
      method: 'GET',
      url: `/api/v1/org/staff/${surgeon.id}`,
      headers: manager.headers,
    })
    expect(hidden.statusCode).toBe(404)
    const write = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/org/departments/${dept.CARD?.id}`,
      headers: manager.headers,
      payload: { version: 1, name: '改名' },
    })
    expect(write.statusCode).toBe(403)
  })

  it('refuses a cycle and a deactivation in use with 409 problems', async () => {
    const cycle = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/org/departments/${dept.IM?.id}`,
      headers: officer.headers,
      payload: { version: dept.IM?.version, parentId: dept.CARD?.id },
    })
    expect(cycle.statusCode).toBe(409)
    expect(cycle.json().code).toBe('DEPARTMENT_CYCLE')
    const inUse = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/org/departments/${dept.CARD?.id}`,
      headers: officer.headers,
      payload: { version: dept.CARD?.version, status: 'inactive' },
    })
    expect(inUse.statusCode).toBe(409)
    expect(inUse.json()).toMatchObject({ code: 'DEPARTMENT_IN_USE', detail: expect.stringContaining('1 active staff') })
  })

  it('accepts a GB18030 CSV (as Excel on Chinese Windows saves it)', async () => {
    // "科室编码,科室名称,上级科室编码\r\nGB1,心血管内科,\r\n" in GB18030.
    const gb = Buffer.from(
      'bfc6cad2b1e0c2eb2cbfc6cad2c3fbb3c62cc9cfbcb6bfc6cad2b1e0c2eb0d0a4742312cd0c4d1aab9dcc4dabfc62c0d0a',
      'hex',
    )
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/imports/departments?institution=H01&dryRun=false',
      headers: { ...officer.headers, 'content-type': 'text/csv' },
      payload: gb,
    })
    expect(res.statusCode, res.body).toBe(200)
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/org/departments', headers: officer.headers })
    expect(list.json().find((d: { code: string }) => d.code === 'GB1')?.name).toBe('心血管内科')
  })

  it('refuses unreadable files, unknown columns and other content types', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/imports/staff?institution=H01',
      headers: { ...officer.headers, 'content-type': 'text/csv' },
      payload: '工号,姓名,身分证号\nE1,张三,1\n',
    })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json()).toMatchObject({ code: 'IMPORT_FILE_INVALID', detail: expect.stringContaining('身分证号') })
    const garbage = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/imports/staff?institution=H01',
      headers: {
        ...officer.headers,
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      },
      payload: Buffer.from('PK\u0003\u0004 not really a zip'),
    })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.json().code).toBe('IMPORT_FILE_INVALID')
    const plain = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/imports/staff?institution=H01',
      headers: { ...officer.headers, 'content-type': 'text/plain' },
      payload: 'x',
    })
    expect(plain.statusCode).toBe(415)
  })

  it('lets the HIS sync staff by employee number (org.sync only), idempotently', async () => {
    const items = [
      { employeeNumber: 'H001', name: '李四', departmentCodes: ['SURG'], phone: '13700000001' },
      {
        employeeNumber: 'H002',
        name: '王五',
        departmentCodes: ['CARD', 'IM'],
        idType: 'passport',
        idNumber: 'E1234567',
      },
    ]
    const sync = (payload: object, headers: Record<string, string> = HIS_HEADER) =>
      t.app.inject({ method: 'PUT', url: '/api/v1/org/sync/staff?institution=H01', headers, payload })
    expect((await sync(items, officer.headers)).statusCode).toBe(403)
    const first = await sync(items)
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toMatchObject({ applied: true, summary: { create: 2, errors: 0 } })
    expect((await sync(items)).json().summary).toMatchObject({ create: 0, update: 0, unchanged: 2 })
    // null clears an optional field: a change the first time, nothing left to change the second.
    const clear = [{ employeeNumber: 'H001', phone: null, title: null }]
    expect((await sync(clear)).json().summary).toMatchObject({ update: 1, unchanged: 0 })
    expect((await sync(clear)).json().summary).toMatchObject({ update: 0, unchanged: 1 })
    const changed = await sync([
      { employeeNumber: 'H001', title: '主治医师' },
      { ...items[1], departmentCodes: ['NOPE'] },
    ])
    expect(changed.statusCode).toBe(422)
    expect(changed.json().rowErrors).toMatchObject([{ row: 2, column: 'departmentCodes' }])
    const tooMany = await sync(Array.from({ length: 5001 }, (_, i) => ({ employeeNumber: `X${i}` })))
    expect(tooMany.statusCode).toBe(400)
  })

  it('documents every organisation route under the organisation tag', async () => {
    const spec = (await t.app.inject('/openapi.json')).json() as {
      paths: Record<string, Record<string, { tags?: string[] }>>
    }
    const orgPaths = Object.entries(spec.paths).filter(([path]) => path.startsWith('/api/v1/org/'))
    expect(orgPaths.length).toBeGreaterThanOrEqual(10)
    for (const [, operations] of orgPaths) {
      for (const operation of Object.values(operations)) expect(operation.tags).toEqual(['organisation'])
    }
  })
})
