import { residentIdCheckCharacter } from '@yiqian/core'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'
import { XLSX_TYPE } from './file-parsing.js'

// The hospital's real scale: 6,300 staff in ~120 departments, imported from an XLSX generated here with ExcelJS.
const STAFF = 6300
const DEPARTMENTS = 120

/** A valid resident ID for person n (region 440300, a real birth date, GB 11643 check character). */
function residentId(n: number): string {
  const birth = `19${String(60 + (n % 40)).padStart(2, '0')}${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}`
  const first17 = `440300${birth}${String(n % 1000).padStart(3, '0')}`
  return first17 + residentIdCheckCharacter(first17)
}

/** The same ID with a wrong check character. */
function withBadChecksum(id: string): string {
  return id.slice(0, 17) + (id[17] === '1' ? '2' : '1')
}

const departmentCode = (i: number) => `D${String(i).padStart(3, '0')}`

interface StaffLine {
  employeeNumber: string
  name: string
  title: string
  departments: string
  phone: string
  idNumber: string
}

function goodLine(i: number): StaffLine {
  return {
    employeeNumber: `E${String(i).padStart(5, '0')}`,
    name: `职工${i}`,
    title: i % 3 === 0 ? '主治医师' : '护师',
    departments:
      i % 10 === 0
        ? `${departmentCode(1 + (i % DEPARTMENTS))};${departmentCode(1)}`
        : departmentCode(1 + (i % DEPARTMENTS)),
    phone: `139${String(i).padStart(8, '0')}`,
    idNumber: residentId(i),
  }
}

/** Twenty deliberately bad rows, four of each kind, keyed by staff index (file row = index + 2). */
const BAD: Record<number, { column: string; spoil: (line: StaffLine) => StaffLine }> = {}
const kinds: [string, (line: StaffLine) => StaffLine][] = [
  ['idNumber', (l) => ({ ...l, idNumber: withBadChecksum(l.idNumber) })],
  ['employeeNumber', (l) => ({ ...l, employeeNumber: goodLine(7).employeeNumber })],
  ['departmentCodes', (l) => ({ ...l, departments: 'NO-SUCH-DEPT' })],
  ['name', (l) => ({ ...l, name: '' })],
  ['title', (l) => ({ ...l, title: '职'.repeat(65) })],
]
kinds.forEach(([column, spoil], k) => {
  for (let j = 0; j < 4; j++) BAD[500 + k * 1000 + j * 97] = { column, spoil }
})

async function staffWorkbook(spoiled: boolean): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook()
  const sheet = workbook.addWorksheet('人员')
  sheet.addRow(['工号', '姓名', '职称', '科室编码', '手机号', '身份证号'])
  for (let i = 0; i < STAFF; i++) {
    const bad = spoiled ? BAD[i] : undefined
    const line = bad ? bad.spoil(goodLine(i)) : goodLine(i)
    sheet.addRow([line.employeeNumber, line.name, line.title, line.departments, line.phone, line.idNumber])
  }
  return Buffer.from(await workbook.xlsx.writeBuffer())
}

function departmentCsv(): string {
  const lines = ['\uFEFF科室编码,科室名称,上级科室编码,状态']
  for (let i = 1; i <= DEPARTMENTS; i++) {
    // D001 is the hospital; D002–D011 are the divisions; the rest hang under a division.
    const parent = i === 1 ? '' : i <= 11 ? departmentCode(1) : departmentCode(2 + (i % 10))
    lines.push(`${departmentCode(i)},科室${i},${parent},启用`)
  }
  return `${lines.join('\r\n')}\r\n`
}

describe('importing 6,300 staff from XLSX (SQLite)', () => {
  let t: TestApp
  let officer: SignedIn
  let staffFile: Buffer
  let fixedFile: Buffer

  beforeAll(async () => {
    t = await createTestApp()
    officer = await signInAs(t, ['ra-officer'])
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/org/institutions',
      headers: officer.headers,
      payload: { code: 'PH', name: '省人民医院' },
    })
    expect(created.statusCode).toBe(201)
    ;[staffFile, fixedFile] = await Promise.all([staffWorkbook(true), staffWorkbook(false)])
  }, 60_000)
  afterAll(async () => {
    await t?.close()
  })

  const post = (kind: 'staff' | 'departments', dryRun: boolean, body: Buffer | string, type: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/org/imports/${kind}?institution=PH&dryRun=${dryRun}&fileName=test.${type === XLSX_TYPE ? 'xlsx' : 'csv'}`,
      headers: { ...officer.headers, 'content-type': type },
      payload: body,
    })
  const count = async (table: 'staff' | 'departments' | 'audit_events') =>
    (
      await t.storage.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n

  it('imports the department tree from a UTF-8 CSV with BOM, and again as all unchanged', async () => {
    const dry = await post('departments', true, departmentCsv(), 'text/csv')
    expect(dry.statusCode, dry.body).toBe(200)
    expect(dry.json()).toMatchObject({ dryRun: true, applied: false, summary: { create: DEPARTMENTS, errors: 0 } })
    expect(Number(await count('departments'))).toBe(0)
    const real = await post('departments', false, departmentCsv(), 'text/csv')
    expect(real.json()).toMatchObject({ applied: true, summary: { create: DEPARTMENTS } })
    const again = await post('departments', false, departmentCsv(), 'text/csv')
    expect(again.json().summary).toEqual({ rows: DEPARTMENTS, create: 0, update: 0, unchanged: DEPARTMENTS, errors: 0 })
  })

  it('dry run reports exactly the twenty bad rows, each in its column, and writes nothing', async () => {
    const staffBefore = Number(await count('staff'))
    const auditBefore = Number(await count('audit_events'))
    const res = await post('staff', true, staffFile, XLSX_TYPE)
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as {
      summary: Record<string, number>
      errors: { row: number; column: string; header?: string; message: { zh: string; en: string } }[]
    }
    const expected = Object.entries(BAD)
      .map(([i, b]) => [Number(i) + 2, b.column] as const)
      .sort((a, b) => a[0] - b[0])
    expect(body.errors.map((e) => [e.row, e.column])).toEqual(expected)
    expect(body.summary).toEqual({ rows: STAFF, create: STAFF - 20, update: 0, unchanged: 0, errors: 20 })
    const checksum = body.errors.find((e) => e.column === 'idNumber')
    expect(checksum).toMatchObject({ header: '身份证号', message: { en: expect.stringContaining('check character') } })
    expect(body.errors.find((e) => e.column === 'employeeNumber')?.message.zh).toContain('第 9 行')
    // Nothing written; a dry run is not a change, so only the access audit (if any) may grow — never staff rows.
    expect(Number(await count('staff'))).toBe(staffBefore)
    expect(Number(await count('audit_events'))).toBeLessThanOrEqual(auditBefore + 1)
  }, 30_000)

  it('a real run of the bad file is refused whole with 422, naming the rows', async () => {
    const res = await post('staff', false, staffFile, XLSX_TYPE)
    expect(res.statusCode).toBe(422)
    expect(res.headers['content-type']).toContain('application/problem+json')
    const problem = res.json()
    expect(problem).toMatchObject({ code: 'IMPORT_REJECTED', summary: { errors: 20 } })
    expect(problem.rowErrors).toHaveLength(20)
    expect(Number(await count('staff'))).toBe(0)
  }, 30_000)

  it('the fixed file applies in one go with one summary audit event, and re-running it changes nothing', async () => {
    const audit = async () =>
      t.storage.db
        .selectFrom('audit_events')
        .select(['type', 'data', 'outcome'])
        .where('type', 'like', 'staff.%')
        .orderBy('seq')
        .execute()
    const auditBefore = (await audit()).length
    const res = await post('staff', false, fixedFile, XLSX_TYPE)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ applied: true, summary: { create: STAFF, errors: 0 } })
    expect(Number(await count('staff'))).toBe(STAFF)
    const events = (await audit()).slice(auditBefore)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'staff.imported', outcome: 'success' })
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ create: STAFF, fileName: 'test.xlsx' })
    // Personal data is sealed at rest.
    const row = await t.storage.db
      .selectFrom('staff')
      .selectAll()
      .where('employee_number', '=', 'E00042')
      .executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain(residentId(42))
    expect(JSON.stringify(row)).not.toContain('13900000042')

    const again = await post('staff', false, fixedFile, XLSX_TYPE)
    expect(again.json().summary).toEqual({ rows: STAFF, create: 0, update: 0, unchanged: STAFF, errors: 0 })
    const versions = await t.storage.db.selectFrom('staff').select('version').where('version', '!=', 1).execute()
    expect(versions).toEqual([])
    expect((await audit()).slice(auditBefore)).toHaveLength(2)
  }, 30_000)

  it('finds imported staff by phone and shows them masked, with both departments in order', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/org/staff?phone=13900000010',
      headers: officer.headers,
    })
    expect(res.statusCode, res.body).toBe(200)
    const [member] = res.json().items
    expect(member).toMatchObject({
      employeeNumber: 'E00010',
      phone: '139****0010',
      idNumber: `440300********${residentId(10).slice(-4)}`,
    })
    expect(member.departmentIds).toHaveLength(2)
  })
})
