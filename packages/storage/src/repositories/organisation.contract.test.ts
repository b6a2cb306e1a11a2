import { randomBytes } from 'node:crypto'
import {
  type ActorContext,
  type Clock,
  createOrganisationUseCases,
  createSecretBox,
  isDomainError,
  type Principal,
  type StaffMember,
} from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from '../database.js'
import { migrateToLatest } from '../migrate.js'
import { createTestDatabase, type TestDatabase, testDialects } from '../testing.js'
import { createUnitOfWork } from '../unit-of-work.js'

const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }
const actor: ActorContext = { actor: 'user:officer', actorRole: 'ra-officer', source: '127.0.0.1', requestId: 'r1' }
const officer: Principal = { kind: 'user', id: 'officer', name: 'officer', roles: ['ra-officer'], departmentIds: [] }

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return error.code
    throw error
  }
  return undefined
}

for (const kind of testDialects()) {
  describe(`${kind}: organisation repositories and use cases`, () => {
    let testDb: TestDatabase
    let storage: Storage
    const box = createSecretBox(randomBytes(32))
    let org: ReturnType<typeof createOrganisationUseCases>
    let institutionId: string
    const ids: Record<string, string> = {}

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      org = createOrganisationUseCases({ uow: createUnitOfWork(storage.db, clock), clock, secretBox: box })
      institutionId = (await org.createInstitution(actor, { code: 'H01', name: '省人民医院' })).id
      // H ─ IM ─ CARD, H ─ SURG
      ids.H = (await org.createDepartment(actor, { institutionId, code: 'H', name: '医院' })).id
      ids.IM = (await org.createDepartment(actor, { institutionId, code: 'IM', name: '内科', parentId: ids.H })).id
      ids.CARD = (
        await org.createDepartment(actor, { institutionId, code: 'CARD', name: '心内科', parentId: ids.IM })
      ).id
      ids.SURG = (await org.createDepartment(actor, { institutionId, code: 'SURG', name: '外科', parentId: ids.H })).id
    })
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })

    it('refuses a second institution or department with a taken code', async () => {
      expect(await codeOf(org.createInstitution(actor, { code: 'H01', name: '重复' }))).toBe('INSTITUTION_EXISTS')
      expect(await codeOf(org.createDepartment(actor, { institutionId, code: 'IM', name: '重复' }))).toBe(
        'DEPARTMENT_EXISTS',
      )
      const other = await org.createInstitution(actor, { code: 'H02', name: '分院' })
      // The same code is fine in another institution.
      await org.createDepartment(actor, { institutionId: other.id, code: 'IM', name: '分院内科' })
    })

    it('stores staff with personal data sealed, finds them by phone and ID number, and masks by default', async () => {
      const created = await org.createStaff(actor, {
        institutionId,
        employeeNumber: 'E001',
        name: '张三',
        title: '主任医师',
        departmentIds: [ids.CARD as string, ids.SURG as string],
        phone: '13800138000',
        idNumber: '11010519491231002X',
      })
      expect(created).toMatchObject({ phone: '138****8000', idNumber: '110105********002X', version: 1 })
      const row = await storage.db
        .selectFrom('staff')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow()
      expect(JSON.stringify(row)).not.toContain('13800138000')
      expect(JSON.stringify(row)).not.toContain('11010519491231002X')
      expect(row.phone_index).toMatch(/^[0-9a-f]{64}$/)

      const byPhone = await org.listStaff(officer, { phone: '138-0013-8000' })
      expect(byPhone.items.map((s) => s.employeeNumber)).toEqual(['E001'])
      expect(byPhone.items[0]?.departmentIds).toEqual([ids.CARD, ids.SURG])
      expect((await org.listStaff(officer, { idNumber: '11010519491231002x' })).total).toBe(1)
      expect((await org.listStaff(officer, { phone: '13900000000' })).total).toBe(0)

      const before = await storage.db.selectFrom('audit_events').select('seq').execute()
      const revealed = await org.revealStaff(actor, officer, created.id)
      expect(revealed).toMatchObject({ phone: '13800138000', idNumber: '11010519491231002X', revealed: true })
      const audit = await storage.db
        .selectFrom('audit_events')
        .selectAll()
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow()
      expect(audit.type).toBe('staff.personal-data.revealed')
      expect(audit.data).not.toContain('13800138000')
      expect((await storage.db.selectFrom('audit_events').select('seq').execute()).length).toBe(before.length + 1)
    })

    it('refuses a duplicate employee number and a stale version', async () => {
      expect(
        await codeOf(
          org.createStaff(actor, {
            institutionId,
            employeeNumber: 'E001',
            name: '李四',
            departmentIds: [ids.IM as string],
          }),
        ),
      ).toBe('STAFF_EXISTS')
      const [e001] = (await org.listStaff(officer, { employeeNumber: 'E001' })).items
      const updated = await org.updateStaff(actor, e001?.id as string, { title: '副主任医师', version: 1 })
      expect(updated.version).toBe(2)
      expect(await codeOf(org.updateStaff(actor, e001?.id as string, { title: '医师', version: 1 }))).toBe(
        'VERSION_CONFLICT',
      )
      expect(
        await codeOf(org.updateStaff(actor, e001?.id as string, { idNumber: '110105194912310021', version: 2 })),
      ).toBe('ORG_FIELD_INVALID')
    })

    it('searches with paging, by subtree, name and status, and keeps a department manager inside their subtree', async () => {
      for (let i = 2; i <= 12; i++) {
        await org.createStaff(actor, {
          institutionId,
          employeeNumber: `E${String(i).padStart(3, '0')}`,
          name: i % 2 === 0 ? `王%${i}` : `赵${i}`,
          departmentIds: [(i <= 6 ? ids.IM : ids.SURG) as string],
        })
      }
      const page = await org.listStaff(officer, { departmentId: ids.H, limit: 5, offset: 5 })
      expect(page.total).toBe(12)
      expect(page.items.map((s) => s.employeeNumber)).toEqual(['E006', 'E007', 'E008', 'E009', 'E010'])
      // IM's subtree holds CARD (E001) and IM itself (E002–E006).
      expect((await org.listStaff(officer, { departmentId: ids.IM })).total).toBe(6)
      expect((await org.listStaff(officer, { departmentId: ids.IM, includeSubtree: false })).total).toBe(5)
      // A literal % in the name filter matches only itself.
      expect((await org.listStaff(officer, { name: '王%' })).total).toBe(6)
      expect((await org.listStaff(officer, { name: '%' })).total).toBe(6)

      const manager: Principal = { ...officer, roles: ['dept-manager'], departmentIds: [ids.IM as string] }
      expect((await org.listStaff(manager, {})).total).toBe(6)
      expect((await org.listStaff(manager, { departmentId: ids.SURG })).total).toBe(0)
      const departments = await org.listDepartments(manager)
      expect(departments.map((d) => d.code).sort()).toEqual(['CARD', 'IM'])
      const outside = (await org.listStaff(officer, { employeeNumber: 'E012' })).items[0]
      expect(await codeOf(org.getStaff(manager, outside?.id as string))).toBe('STAFF_NOT_FOUND')
      expect(await codeOf(org.revealStaff(actor, manager, outside?.id as string))).toBe('STAFF_NOT_FOUND')
    })

    it('moves departments but never under themselves, and deactivates only empty ones', async () => {
      const im = (await org.listDepartments(officer, institutionId)).find((d) => d.code === 'IM')
      expect(await codeOf(org.moveDepartment(actor, ids.IM as string, ids.CARD as string, im?.version ?? 0))).toBe(
        'DEPARTMENT_CYCLE',
      )
      const moved = await org.moveDepartment(actor, ids.CARD as string, ids.SURG as string, 1)
      expect(moved).toMatchObject({ parentId: ids.SURG, version: 2 })
      expect(await codeOf(org.deactivateDepartment(actor, ids.SURG as string, 1))).toBe('DEPARTMENT_IN_USE')
      const empty = await org.createDepartment(actor, { institutionId, code: 'EMPTY', name: '空科室', parentId: ids.H })
      const inactive = await org.deactivateDepartment(actor, empty.id, 1)
      expect(inactive.status).toBe('inactive')
      expect(
        await codeOf(org.createDepartment(actor, { institutionId, code: 'SUB', name: '下级', parentId: empty.id })),
      ).toBe('DEPARTMENT_INACTIVE')
      const types = await storage.db.selectFrom('audit_events').select('type').orderBy('seq').execute()
      expect(types.map((t) => t.type)).toEqual(expect.arrayContaining(['department.moved', 'department.deactivated']))
    })

    it('applies a staff bulk upsert all-or-nothing, with one audit event, and is idempotent', async () => {
      const rows = Array.from({ length: 30 }, (_, i) => ({
        row: i + 2,
        employeeNumber: `B${String(i).padStart(3, '0')}`,
        name: `批量${i}`,
        departmentCodes: ['IM'],
        phone: `1390000${String(i).padStart(4, '0')}`,
      }))
      const bad = [...rows, { row: 32, employeeNumber: 'B999', name: '坏', departmentCodes: ['NOPE'] }]
      const auditCount = async () => (await storage.db.selectFrom('audit_events').select('seq').execute()).length
      const staffCount = async () => (await storage.db.selectFrom('staff').select('id').execute()).length
      const [audits0, staff0] = [await auditCount(), await staffCount()]

      const dry = await org.importStaff(actor, { institutionCode: 'H01', rows: bad, dryRun: true, source: 'import' })
      expect(dry.summary).toEqual({ rows: 31, create: 30, update: 0, unchanged: 0, errors: 1 })
      const refused = await org.importStaff(actor, {
        institutionCode: 'H01',
        rows: bad,
        dryRun: false,
        source: 'import',
      })
      expect(refused.applied).toBe(false)
      expect([await auditCount(), await staffCount()]).toEqual([audits0 + 1, staff0])

      const applied = await org.importStaff(actor, { institutionCode: 'H01', rows, dryRun: false, source: 'sync' })
      expect(applied).toMatchObject({ applied: true, summary: { create: 30, errors: 0 } })
      expect([await auditCount(), await staffCount()]).toEqual([audits0 + 2, staff0 + 30])
      const last = await storage.db
        .selectFrom('audit_events')
        .selectAll()
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow()
      expect(last.type).toBe('staff.synced')
      expect(JSON.parse(last.data)).toMatchObject({ create: 30, update: 0, unchanged: 0, errors: 0 })

      const again = await org.importStaff(actor, { institutionCode: 'H01', rows, dryRun: false, source: 'sync' })
      expect(again.summary).toMatchObject({ create: 0, update: 0, unchanged: 30 })
      const member = (await org.listStaff(officer, { employeeNumber: 'B007' })).items[0]
      expect(member?.version).toBe(1)
      expect(member?.phone).toBe('139****0007')
    })

    it('reads back every field a repository stores', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      const member: StaffMember = {
        id: 'direct-1',
        institutionId,
        employeeNumber: 'D001',
        name: '直接写入',
        title: '',
        departmentIds: [ids.SURG as string, ids.H as string],
        status: 'left',
        phone: undefined,
        idDocument: { type: 'passport', sealed: 'c2VhbGVk', index: 'ab'.repeat(32) },
        createdAt: new Date('2026-01-01T00:00:00.000Z'),
        updatedAt: new Date('2026-01-02T00:00:00.000Z'),
        version: 1,
      }
      await uow.run((tx) => tx.staff.insertMany([member]))
      expect(await uow.run((tx) => tx.staff.find('direct-1'))).toEqual(member)
      expect(await uow.run((tx) => tx.staff.findByEmployeeNumber(institutionId, 'D001'))).toEqual(member)
      expect(await codeOf(uow.run((tx) => tx.staff.updateMany([{ ...member, version: 3 }])))).toBe('VERSION_CONFLICT')
    })
  })
}
