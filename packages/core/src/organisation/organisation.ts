import { DomainError } from '../errors.js'
import type { IdType } from './id-number.js'

/** The hospital, or an institution it manages (a branch campus, a community health centre). */
export interface Institution {
  readonly id: string
  /** Unique across the installation. */
  readonly code: string
  readonly name: string
  readonly parentId: string | undefined
  readonly createdAt: Date
  readonly version: number
}

export const DEPARTMENT_STATUSES = ['active', 'inactive'] as const
export type DepartmentStatus = (typeof DEPARTMENT_STATUSES)[number]

/** A node of one institution's department tree. */
export interface Department {
  readonly id: string
  readonly institutionId: string
  /** Unique within the institution; the key clinical systems and import files use. */
  readonly code: string
  readonly name: string
  readonly parentId: string | undefined
  readonly status: DepartmentStatus
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly version: number
}

export const STAFF_STATUSES = ['active', 'disabled', 'left'] as const
export type StaffStatus = (typeof STAFF_STATUSES)[number]

/** A personal-data value at rest: SM4 ciphertext bound to its row, and an HMAC blind index for exact look-up. */
export interface ProtectedValue {
  readonly sealed: string
  readonly index: string
}

export interface StaffMember {
  readonly id: string
  readonly institutionId: string
  /** 工号: unique within the institution. */
  readonly employeeNumber: string
  readonly name: string
  /** 职称, empty when unknown. */
  readonly title: string
  /** At least one; the first is the primary department. */
  readonly departmentIds: readonly string[]
  readonly status: StaffStatus
  readonly phone: ProtectedValue | undefined
  readonly idDocument: (ProtectedValue & { readonly type: IdType }) | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
  /** Optimistic-concurrency version, incremented by every save. */
  readonly version: number
}

/** Field limits, shared by the API schemas, the import planner and the database columns. */
export const ORG_LIMITS = {
  code: 32,
  institutionName: 128,
  departmentName: 128,
  employeeNumber: 32,
  staffName: 64,
  title: 64,
  phone: 20,
  idNumber: 32,
  departmentsPerStaff: 20,
  pageSize: 200,
  importRows: 20_000,
  importBytes: 10 * 1024 * 1024,
  syncItems: 5_000,
} as const

export interface StaffQuery {
  readonly institutionId?: string | undefined
  /** Staff in any of these departments; undefined means no department filter. */
  readonly departmentIds?: readonly string[] | undefined
  /** Substring of the name. */
  readonly name?: string | undefined
  /** Exact employee number. */
  readonly employeeNumber?: string | undefined
  readonly status?: StaffStatus | undefined
  readonly phoneIndex?: string | undefined
  readonly idNumberIndex?: string | undefined
  readonly offset: number
  readonly limit: number
}

export interface InstitutionRepository {
  list(): Promise<Institution[]>
  find(id: string): Promise<Institution | undefined>
  findByCode(code: string): Promise<Institution | undefined>
  /** A taken code fails with INSTITUTION_EXISTS. */
  insert(institution: Institution): Promise<void>
}

export interface DepartmentRepository {
  /** Every department (of one institution, when given), parents before children is not guaranteed. */
  list(institutionId?: string): Promise<Department[]>
  find(id: string): Promise<Department | undefined>
  findByCode(institutionId: string, code: string): Promise<Department | undefined>
  /** A taken code fails with DEPARTMENT_EXISTS. Parents must be inserted before their children. */
  insertMany(departments: readonly Department[]): Promise<void>
  /** Saves each department whose stored version is `version - 1`; otherwise VERSION_CONFLICT. */
  updateMany(departments: readonly Department[]): Promise<void>
  /** How many active staff members belong to each of the departments (absent means none). */
  activeStaffCounts(departmentIds: readonly string[]): Promise<Map<string, number>>
}

export interface StaffRepository {
  find(id: string): Promise<StaffMember | undefined>
  findByEmployeeNumber(institutionId: string, employeeNumber: string): Promise<StaffMember | undefined>
  /** Everyone in an institution, for bulk planning. */
  listAll(institutionId: string): Promise<StaffMember[]>
  search(query: StaffQuery): Promise<{ items: StaffMember[]; total: number }>
  /** A taken employee number fails with STAFF_EXISTS. */
  insertMany(staff: readonly StaffMember[]): Promise<void>
  /** Saves each member whose stored version is `version - 1`; otherwise VERSION_CONFLICT. */
  updateMany(staff: readonly StaffMember[]): Promise<void>
}

/** Ids of `rootIds` and of every department below them. */
export function subtreeIds(departments: readonly Department[], rootIds: readonly string[]): Set<string> {
  const children = new Map<string, string[]>()
  for (const d of departments) {
    if (d.parentId === undefined) continue
    const list = children.get(d.parentId) ?? []
    list.push(d.id)
    children.set(d.parentId, list)
  }
  const known = new Set(departments.map((d) => d.id))
  const result = new Set<string>()
  const stack = rootIds.filter((id) => known.has(id))
  while (stack.length > 0) {
    const id = stack.pop() as string
    if (result.has(id)) continue
    result.add(id)
    stack.push(...(children.get(id) ?? []))
  }
  return result
}

/** Whether following parents from `parentId` reaches `departmentId` (moving it there would close a loop). */
export function wouldCreateCycle(
  parentOf: ReadonlyMap<string, string | undefined>,
  departmentId: string,
  parentId: string | undefined,
): boolean {
  const seen = new Set<string>()
  for (let at = parentId; at !== undefined; at = parentOf.get(at)) {
    if (at === departmentId) return true
    if (seen.has(at)) return true
    seen.add(at)
  }
  return false
}

/** Refuses to deactivate a department that still has active staff or active children. */
export function assertCanDeactivate(
  department: Department,
  departments: readonly Department[],
  activeStaff: number,
): void {
  const activeChildren = departments.filter((d) => d.parentId === department.id && d.status === 'active')
  if (activeStaff > 0 || activeChildren.length > 0) {
    throw new DomainError(
      'DEPARTMENT_IN_USE',
      `科室 ${department.code} 仍有 ${activeStaff} 名在职人员、${activeChildren.length} 个启用的下级科室，不能停用 / ` +
        `department ${department.code} still has ${activeStaff} active staff and ${activeChildren.length} active sub-departments`,
      { id: department.id, activeStaff, activeChildren: activeChildren.map((d) => d.code) },
    )
  }
}

/** Trims and checks a required text field; throws ORG_FIELD_INVALID naming it. */
export function requiredText(field: string, value: string, max: number): string {
  const text = value.normalize('NFC').trim()
  if (text.length === 0) throw new DomainError('ORG_FIELD_INVALID', `${field}: 不能为空 / must not be empty`, { field })
  if ([...text].length > max) {
    throw new DomainError('ORG_FIELD_INVALID', `${field}: 最多 ${max} 个字符 / at most ${max} characters`, { field })
  }
  if (/\p{Cc}/u.test(text)) {
    throw new DomainError('ORG_FIELD_INVALID', `${field}: 含有控制字符 / contains control characters`, { field })
  }
  return text
}

/** Codes are printable ASCII without blanks, so that files and clinical systems agree on them. */
export function codeProblem(value: string, max: number): { zh: string; en: string } | undefined {
  if (value.length === 0) return { zh: '不能为空', en: 'must not be empty' }
  if (value.length > max) return { zh: `最多 ${max} 个字符`, en: `at most ${max} characters` }
  if (!/^[A-Za-z0-9._-]+$/.test(value)) {
    return { zh: '只能包含字母、数字、点、下划线和连字符', en: 'only letters, digits, dots, underscores and hyphens' }
  }
  return undefined
}

export function requiredCode(field: string, value: string, max: number = ORG_LIMITS.code): string {
  const code = value.trim()
  const problem = codeProblem(code, max)
  if (problem) throw new DomainError('ORG_FIELD_INVALID', `${field}: ${problem.zh} / ${problem.en}`, { field })
  return code
}
