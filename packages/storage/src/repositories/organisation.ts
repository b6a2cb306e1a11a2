import {
  type Department,
  type DepartmentRepository,
  type DepartmentStatus,
  DomainError,
  type IdType,
  type Institution,
  type InstitutionRepository,
  type StaffMember,
  type StaffRepository,
  type StaffStatus,
} from '@yiqian/core'
import { type Kysely, type Selectable, sql } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { Database, DepartmentsTable, InstitutionsTable, StaffTable } from '../schema.js'

// Bulk writes go in chunks that keep every statement well under both engines' bound-parameter limits
// (SQLite 32,766, PostgreSQL 65,535) while amortising the round trips over many rows.
const ROWS_PER_INSERT = 400
const IDS_PER_QUERY = 1000

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function institutionOf(row: Selectable<InstitutionsTable>): Institution {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    parentId: row.parent_id ?? undefined,
    createdAt: new Date(row.created_at),
    version: Number(row.version),
  }
}

export function institutionRepository(db: Kysely<Database>): InstitutionRepository {
  return {
    async list() {
      const rows = await db.selectFrom('institutions').selectAll().orderBy('code').execute()
      return rows.map(institutionOf)
    },
    async find(id) {
      const row = await db.selectFrom('institutions').selectAll().where('id', '=', id).executeTakeFirst()
      return row && institutionOf(row)
    },
    async findByCode(code) {
      const row = await db.selectFrom('institutions').selectAll().where('code', '=', code).executeTakeFirst()
      return row && institutionOf(row)
    },
    async insert(institution) {
      try {
        await db
          .insertInto('institutions')
          .values({
            id: institution.id,
            code: institution.code,
            name: institution.name,
            parent_id: institution.parentId ?? null,
            created_at: institution.createdAt.toISOString(),
            version: institution.version,
          })
          .execute()
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new DomainError('INSTITUTION_EXISTS', `institution ${institution.code} already exists`, {
            field: 'code',
          })
        }
        throw error
      }
    },
  }
}

function departmentOf(row: Selectable<DepartmentsTable>): Department {
  return {
    id: row.id,
    institutionId: row.institution_id,
    code: row.code,
    name: row.name,
    parentId: row.parent_id ?? undefined,
    status: row.status as DepartmentStatus,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    version: Number(row.version),
  }
}

function departmentRow(d: Department): DepartmentsTable {
  return {
    id: d.id,
    institution_id: d.institutionId,
    code: d.code,
    name: d.name,
    parent_id: d.parentId ?? null,
    status: d.status,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
    version: d.version,
  }
}

export function departmentRepository(db: Kysely<Database>): DepartmentRepository {
  return {
    async list(institutionId) {
      let query = db.selectFrom('departments').selectAll()
      if (institutionId !== undefined) query = query.where('institution_id', '=', institutionId)
      return (await query.orderBy('code').execute()).map(departmentOf)
    },
    async find(id) {
      const row = await db.selectFrom('departments').selectAll().where('id', '=', id).executeTakeFirst()
      return row && departmentOf(row)
    },
    async findByCode(institutionId, code) {
      const row = await db
        .selectFrom('departments')
        .selectAll()
        .where('institution_id', '=', institutionId)
        .where('code', '=', code)
        .executeTakeFirst()
      return row && departmentOf(row)
    },
    async insertMany(departments) {
      try {
        for (const chunk of chunks(departments, ROWS_PER_INSERT)) {
          await db.insertInto('departments').values(chunk.map(departmentRow)).execute()
        }
      } catch (error) {
        if (isUniqueViolation(error)) throw new DomainError('DEPARTMENT_EXISTS', 'a department code is taken')
        throw error
      }
    },
    async updateMany(departments) {
      for (const d of departments) {
        const { id: _id, created_at: _created, ...changes } = departmentRow(d)
        let result: { numUpdatedRows: bigint }
        try {
          result = await db
            .updateTable('departments')
            .set(changes)
            .where('id', '=', d.id)
            .where('version', '=', d.version - 1)
            .executeTakeFirst()
        } catch (error) {
          if (isUniqueViolation(error)) {
            throw new DomainError('DEPARTMENT_EXISTS', `department code ${d.code} is taken`, { field: 'code' })
          }
          throw error
        }
        if (Number(result.numUpdatedRows) !== 1) {
          throw new DomainError('VERSION_CONFLICT', `department ${d.id} was changed by someone else`, {
            id: d.id,
            version: d.version,
          })
        }
      }
    },
    async activeStaffCounts(departmentIds) {
      const counts = new Map<string, number>()
      for (const ids of chunks(departmentIds, IDS_PER_QUERY)) {
        const rows = await db
          .selectFrom('staff_departments')
          .innerJoin('staff', 'staff.id', 'staff_departments.staff_id')
          .select((eb) => ['staff_departments.department_id as id', eb.fn.countAll<number | string>().as('n')])
          .where('staff.status', '=', 'active')
          .where('staff_departments.department_id', 'in', ids)
          .groupBy('staff_departments.department_id')
          .execute()
        for (const row of rows) counts.set(row.id, Number(row.n))
      }
      return counts
    },
  }
}

function staffOf(row: Selectable<StaffTable>, departmentIds: readonly string[]): StaffMember {
  return {
    id: row.id,
    institutionId: row.institution_id,
    employeeNumber: row.employee_number,
    name: row.name,
    title: row.title,
    departmentIds,
    status: row.status as StaffStatus,
    phone: row.phone_sealed && row.phone_index ? { sealed: row.phone_sealed, index: row.phone_index } : undefined,
    idDocument:
      row.id_number_sealed && row.id_number_index && row.id_type
        ? { type: row.id_type as IdType, sealed: row.id_number_sealed, index: row.id_number_index }
        : undefined,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    version: Number(row.version),
  }
}

function staffRow(s: StaffMember): StaffTable {
  return {
    id: s.id,
    institution_id: s.institutionId,
    employee_number: s.employeeNumber,
    name: s.name,
    title: s.title,
    status: s.status,
    phone_sealed: s.phone?.sealed ?? null,
    phone_index: s.phone?.index ?? null,
    id_type: s.idDocument?.type ?? null,
    id_number_sealed: s.idDocument?.sealed ?? null,
    id_number_index: s.idDocument?.index ?? null,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    version: s.version,
  }
}

const membershipRows = (staff: readonly StaffMember[]) =>
  staff.flatMap((s) => s.departmentIds.map((department_id, position) => ({ staff_id: s.id, department_id, position })))

/** Appends each membership's department to its staff member's list; rows come ordered by staff and position. */
function groupByStaff(
  rows: readonly { staff_id: string; department_id: string }[],
  byStaff: Map<string, string[]>,
): Map<string, string[]> {
  for (const row of rows) {
    const list = byStaff.get(row.staff_id) ?? []
    list.push(row.department_id)
    byStaff.set(row.staff_id, list)
  }
  return byStaff
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export function staffRepository(db: Kysely<Database>): StaffRepository {
  async function departmentsOf(staffIds: readonly string[]): Promise<Map<string, string[]>> {
    const byStaff = new Map<string, string[]>()
    for (const ids of chunks(staffIds, IDS_PER_QUERY)) {
      const rows = await db
        .selectFrom('staff_departments')
        .select(['staff_id', 'department_id'])
        .where('staff_id', 'in', ids)
        .orderBy('staff_id')
        .orderBy('position')
        .execute()
      groupByStaff(rows, byStaff)
    }
    return byStaff
  }

  async function withDepartments(rows: Selectable<StaffTable>[]): Promise<StaffMember[]> {
    const departments = await departmentsOf(rows.map((r) => r.id))
    return rows.map((row) => staffOf(row, departments.get(row.id) ?? []))
  }

  async function insertMemberships(staff: readonly StaffMember[]): Promise<void> {
    for (const chunk of chunks(membershipRows(staff), ROWS_PER_INSERT * 3)) {
      await db.insertInto('staff_departments').values(chunk).execute()
    }
  }

  return {
    async find(id) {
      const row = await db.selectFrom('staff').selectAll().where('id', '=', id).executeTakeFirst()
      return row && (await withDepartments([row]))[0]
    },
    async findByEmployeeNumber(institutionId, employeeNumber) {
      const row = await db
        .selectFrom('staff')
        .selectAll()
        .where('institution_id', '=', institutionId)
        .where('employee_number', '=', employeeNumber)
        .executeTakeFirst()
      return row && (await withDepartments([row]))[0]
    },
    async listAll(institutionId) {
      const rows = await db.selectFrom('staff').selectAll().where('institution_id', '=', institutionId).execute()
      const memberships = await db
        .selectFrom('staff_departments')
        .innerJoin('staff', 'staff.id', 'staff_departments.staff_id')
        .select(['staff_departments.staff_id', 'staff_departments.department_id'])
        .where('staff.institution_id', '=', institutionId)
        .orderBy('staff_departments.staff_id')
        .orderBy('staff_departments.position')
        .execute()
      const byStaff = groupByStaff(memberships, new Map())
      return rows.map((row) => staffOf(row, byStaff.get(row.id) ?? []))
    },
    async search(query) {
      let q = db.selectFrom('staff')
      if (query.institutionId !== undefined) q = q.where('institution_id', '=', query.institutionId)
      if (query.departmentIds !== undefined) {
        const ids = query.departmentIds.length > 0 ? [...query.departmentIds] : ['']
        q = q.where('id', 'in', (eb) =>
          eb.selectFrom('staff_departments').select('staff_id').where('department_id', 'in', ids),
        )
      }
      if (query.name !== undefined) q = q.where(sql<boolean>`name like ${likePattern(query.name)} escape '\\'`)
      if (query.employeeNumber !== undefined) q = q.where('employee_number', '=', query.employeeNumber)
      if (query.status !== undefined) q = q.where('status', '=', query.status)
      if (query.phoneIndex !== undefined) q = q.where('phone_index', '=', query.phoneIndex)
      if (query.idNumberIndex !== undefined) q = q.where('id_number_index', '=', query.idNumberIndex)
      const { n } = await q.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()
      const rows = await q
        .selectAll()
        .orderBy('employee_number')
        .orderBy('id')
        .limit(query.limit)
        .offset(query.offset)
        .execute()
      return { items: await withDepartments(rows), total: Number(n) }
    },
    async insertMany(staff) {
      try {
        for (const chunk of chunks(staff, ROWS_PER_INSERT)) {
          await db.insertInto('staff').values(chunk.map(staffRow)).execute()
        }
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new DomainError('STAFF_EXISTS', 'an employee number is taken', { field: 'employeeNumber' })
        }
        throw error
      }
      await insertMemberships(staff)
    },
    async updateMany(staff) {
      for (const s of staff) {
        const { id: _id, created_at: _created, institution_id: _institution, ...changes } = staffRow(s)
        const result = await db
          .updateTable('staff')
          .set(changes)
          .where('id', '=', s.id)
          .where('version', '=', s.version - 1)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) !== 1) {
          throw new DomainError('VERSION_CONFLICT', `staff member ${s.id} was changed by someone else`, {
            id: s.id,
            version: s.version,
          })
        }
      }
      for (const ids of chunks(
        staff.map((s) => s.id),
        IDS_PER_QUERY,
      )) {
        await db.deleteFrom('staff_departments').where('staff_id', 'in', ids).execute()
      }
      await insertMemberships(staff)
    },
  }
}
