import type { SecretBox } from '../protection/secret-box.js'
import { ID_TYPES, type IdType, idNumberProblem, normaliseIdNumber } from './id-number.js'
import {
  codeProblem,
  DEPARTMENT_STATUSES,
  type Department,
  type DepartmentStatus,
  ORG_LIMITS,
  type StaffMember,
  type StaffStatus,
} from './organisation.js'
import { idNumberIndexOf, normalisePhone, phoneIndexOf, phoneProblem } from './personal-data.js'

// Bulk planning is pure: given the stored state and the incoming rows it says, row by row, what would be created,
// updated or left unchanged, and what is wrong. Import files and the HIS sync API share it.
//
// Field semantics: `undefined` means "the column is absent: keep the stored value"; an empty string means "clear it"
// (for optional fields) or is an error (for required ones).

export interface Message {
  readonly zh: string
  readonly en: string
}

export interface RowError {
  /** The row number in the file (header = 1, first data row = 2) or the 1-based index in a sync array. */
  readonly row: number
  /** The field at fault, by its English key (`employeeNumber`, `idNumber`, …). */
  readonly column: string
  readonly message: Message
}

export type PlanAction = 'create' | 'update' | 'unchanged'

export interface PlanSummary {
  readonly rows: number
  readonly create: number
  readonly update: number
  readonly unchanged: number
  readonly errors: number
}

export interface PlanReport {
  readonly summary: PlanSummary
  /** Every row error, in row order. */
  readonly errors: readonly RowError[]
  /** Row by row, what would happen (rows with errors are absent). */
  readonly actions: readonly { readonly row: number; readonly key: string; readonly action: PlanAction }[]
}

export interface DepartmentRow {
  readonly row: number
  readonly code?: string | undefined
  readonly name?: string | undefined
  /** Empty: a top-level department. */
  readonly parentCode?: string | undefined
  readonly status?: string | undefined
}

export interface StaffRow {
  readonly row: number
  readonly employeeNumber?: string | undefined
  readonly name?: string | undefined
  readonly title?: string | undefined
  /** Primary first. */
  readonly departmentCodes?: readonly string[] | undefined
  readonly phone?: string | undefined
  readonly idType?: string | undefined
  readonly idNumber?: string | undefined
  readonly status?: string | undefined
}

export interface DepartmentPlan {
  readonly report: PlanReport
  /** New departments, parents before children. */
  readonly inserts: readonly Department[]
  /** Changed departments with their version already incremented. */
  readonly updates: readonly Department[]
}

/** A planned staff member with personal data still in clear text: it is sealed only when applied. */
export interface StaffDraft {
  readonly member: Omit<StaffMember, 'phone' | 'idDocument'>
  /** Undefined: keep what is stored; null: clear; a string: set. */
  readonly phone: string | null | undefined
  readonly idDocument: { readonly type: IdType; readonly number: string } | null | undefined
  readonly stored: StaffMember | undefined
}

export interface StaffPlan {
  readonly report: PlanReport
  readonly inserts: readonly StaffDraft[]
  readonly updates: readonly StaffDraft[]
}

const msg = (zh: string, en: string): Message => ({ zh, en })

/** Checks a free-text field; returns the trimmed text or a problem. */
function textProblem(value: string, max: number, required: boolean): Message | undefined {
  const text = value.trim()
  if (required && text.length === 0) return msg('不能为空', 'must not be empty')
  if ([...text].length > max) return msg(`最多 ${max} 个字符`, `at most ${max} characters`)
  if (/\p{Cc}/u.test(text)) return msg('含有控制字符', 'contains control characters')
  return undefined
}

function finish(rows: number, errors: RowError[], actions: PlanReport['actions']): PlanReport {
  const errorRows = new Set(errors.map((e) => e.row)).size
  const count = (a: PlanAction) => actions.filter((x) => x.action === a).length
  return {
    summary: {
      rows,
      create: count('create'),
      update: count('update'),
      unchanged: count('unchanged'),
      errors: errorRows,
    },
    errors: [...errors].sort((a, b) => a.row - b.row),
    actions,
  }
}

export function planDepartments(input: {
  readonly institutionId: string
  readonly stored: readonly Department[]
  readonly activeStaffCounts: ReadonlyMap<string, number>
  readonly rows: readonly DepartmentRow[]
  readonly now: Date
  readonly newId: () => string
}): DepartmentPlan {
  const { rows, now } = input
  const errors: RowError[] = []
  const fail = (row: number, column: string, message: Message) => errors.push({ row, column, message })
  const storedByCode = new Map(input.stored.map((d) => [d.code, d]))
  const storedById = new Map(input.stored.map((d) => [d.id, d]))

  // First pass: shape of each row, duplicates. The final state is keyed by code.
  interface Final {
    code: string
    name: string
    parentCode: string | undefined
    status: DepartmentStatus
    row: number | undefined
  }
  const final = new Map<string, Final>()
  for (const d of input.stored) {
    const parent = d.parentId === undefined ? undefined : storedById.get(d.parentId)
    final.set(d.code, { code: d.code, name: d.name, parentCode: parent?.code, status: d.status, row: undefined })
  }
  const seenRow = new Map<string, number>()
  const valid: { row: DepartmentRow; code: string }[] = []
  for (const r of rows) {
    const before = errors.length
    const code = (r.code ?? '').trim()
    const codeIssue = codeProblem(code, ORG_LIMITS.code)
    if (codeIssue) fail(r.row, 'code', codeIssue)
    else if (seenRow.has(code)) {
      fail(
        r.row,
        'code',
        msg(`科室编码与第 ${seenRow.get(code)} 行重复`, `duplicates the code of row ${seenRow.get(code)}`),
      )
    } else seenRow.set(code, r.row)
    const stored = storedByCode.get(code)
    const name = r.name?.trim()
    const nameIssue =
      r.name === undefined
        ? stored
          ? undefined
          : msg('新科室须有名称', 'a new department needs a name')
        : textProblem(r.name, ORG_LIMITS.departmentName, true)
    if (nameIssue) fail(r.row, 'name', nameIssue)
    const parentCode = r.parentCode?.trim()
    if (parentCode && codeProblem(parentCode, ORG_LIMITS.code)) {
      fail(r.row, 'parentCode', msg('上级科室编码格式错误', 'the parent code is not a valid code'))
    } else if (parentCode && parentCode === code) {
      fail(r.row, 'parentCode', msg('科室不能以自身为上级', 'a department cannot be its own parent'))
    }
    const status = r.status?.trim()
    if (status && !(DEPARTMENT_STATUSES as readonly string[]).includes(status)) {
      fail(r.row, 'status', msg('状态须为 active 或 inactive', 'status must be active or inactive'))
    }
    if (errors.length > before) continue
    valid.push({ row: r, code })
    final.set(code, {
      code,
      name: name ?? stored?.name ?? '',
      parentCode: parentCode === undefined ? final.get(code)?.parentCode : parentCode || undefined,
      status: (status || undefined) === undefined ? (stored?.status ?? 'active') : (status as DepartmentStatus),
      row: r.row,
    })
  }

  // Second pass: references, cycles and status rules against the final state.
  const activeChildren = new Map<string, number>()
  for (const f of final.values()) {
    if (f.parentCode !== undefined && f.status === 'active') {
      activeChildren.set(f.parentCode, (activeChildren.get(f.parentCode) ?? 0) + 1)
    }
  }
  const accepted: { row: DepartmentRow; code: string }[] = []
  for (const v of valid) {
    const f = final.get(v.code) as Final
    const before = errors.length
    if (f.parentCode !== undefined) {
      const parent = final.get(f.parentCode)
      if (!parent) {
        fail(
          v.row.row,
          'parentCode',
          msg(`上级科室编码 ${f.parentCode} 不存在`, `no department has code ${f.parentCode}`),
        )
      } else {
        const seen = new Set([v.code])
        for (let at: Final | undefined = parent; at; at = at.parentCode ? final.get(at.parentCode) : undefined) {
          if (seen.has(at.code)) {
            fail(v.row.row, 'parentCode', msg('上级科室关系形成了环', 'the parent chain loops back'))
            break
          }
          seen.add(at.code)
        }
        if (f.status === 'active' && parent.status === 'inactive') {
          fail(v.row.row, 'status', msg('上级科室已停用', 'the parent department is inactive'))
        }
      }
    }
    if (f.status === 'inactive') {
      const storedId = storedByCode.get(v.code)?.id
      const staff = storedId ? (input.activeStaffCounts.get(storedId) ?? 0) : 0
      const children = activeChildren.get(v.code) ?? 0
      if (staff > 0 || children > 0) {
        fail(
          v.row.row,
          'status',
          msg(
            `仍有 ${staff} 名在职人员、${children} 个启用的下级科室，不能停用`,
            `cannot deactivate: ${staff} active staff, ${children} active sub-departments`,
          ),
        )
      }
    }
    if (errors.length === before) accepted.push(v)
  }

  // Ids for new departments, then the concrete changes.
  const idOf = new Map(input.stored.map((d) => [d.code, d.id]))
  for (const v of accepted) if (!idOf.has(v.code)) idOf.set(v.code, input.newId())
  const actions: { row: number; key: string; action: PlanAction }[] = []
  const inserts: Department[] = []
  const updates: Department[] = []
  const hasError = errors.length > 0
  for (const v of accepted) {
    const f = final.get(v.code) as Final
    const parentId = f.parentCode === undefined ? undefined : idOf.get(f.parentCode)
    const stored = storedByCode.get(v.code)
    if (!stored) {
      actions.push({ row: v.row.row, key: v.code, action: 'create' })
      inserts.push({
        id: idOf.get(v.code) as string,
        institutionId: input.institutionId,
        code: v.code,
        name: f.name,
        parentId,
        status: f.status,
        createdAt: now,
        updatedAt: now,
        version: 1,
      })
    } else if (stored.name !== f.name || stored.parentId !== parentId || stored.status !== f.status) {
      actions.push({ row: v.row.row, key: v.code, action: 'update' })
      updates.push({ ...stored, name: f.name, parentId, status: f.status, updatedAt: now, version: stored.version + 1 })
    } else {
      actions.push({ row: v.row.row, key: v.code, action: 'unchanged' })
    }
  }
  // A parent is created before its children; a parent that fails leaves its children referencing nothing, but then
  // the plan has errors and nothing is applied.
  const depth = (code: string): number => {
    let n = 0
    for (let at = final.get(code); at?.parentCode && n <= final.size; at = final.get(at.parentCode)) n++
    return n
  }
  inserts.sort((a, b) => depth(a.code) - depth(b.code))
  return {
    report: finish(rows.length, errors, actions),
    inserts: hasError ? [] : inserts,
    updates: hasError ? [] : updates,
  }
}

/** File and API spellings of staff statuses and ID types, both languages. */
const STAFF_STATUS_WORDS: Readonly<Record<string, StaffStatus>> = {
  active: 'active',
  disabled: 'disabled',
  left: 'left',
  在职: 'active',
  正常: 'active',
  启用: 'active',
  停用: 'disabled',
  禁用: 'disabled',
  离职: 'left',
}
const ID_TYPE_WORDS: Readonly<Record<string, IdType>> = {
  resident: 'resident',
  passport: 'passport',
  other: 'other',
  身份证: 'resident',
  居民身份证: 'resident',
  护照: 'passport',
  其他: 'other',
}

const equalLists = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i])

export function planStaff(input: {
  readonly institutionId: string
  readonly stored: readonly StaffMember[]
  readonly departments: readonly Department[]
  readonly rows: readonly StaffRow[]
  readonly box: SecretBox
  readonly now: Date
  readonly newId: () => string
}): StaffPlan {
  const { rows, now, box } = input
  const errors: RowError[] = []
  const fail = (row: number, column: string, message: Message) => errors.push({ row, column, message })
  const storedByNumber = new Map(input.stored.map((s) => [s.employeeNumber, s]))
  const departmentByCode = new Map(input.departments.map((d) => [d.code, d]))
  const seenRow = new Map<string, number>()
  const actions: { row: number; key: string; action: PlanAction }[] = []
  const inserts: StaffDraft[] = []
  const updates: StaffDraft[] = []

  for (const r of rows) {
    const before = errors.length
    const employeeNumber = (r.employeeNumber ?? '').trim()
    const numberIssue = codeProblem(employeeNumber, ORG_LIMITS.employeeNumber)
    if (numberIssue) fail(r.row, 'employeeNumber', numberIssue)
    else if (seenRow.has(employeeNumber)) {
      const first = seenRow.get(employeeNumber)
      fail(r.row, 'employeeNumber', msg(`工号与第 ${first} 行重复`, `duplicates the employee number of row ${first}`))
    } else seenRow.set(employeeNumber, r.row)
    const stored = numberIssue ? undefined : storedByNumber.get(employeeNumber)

    const nameIssue =
      r.name === undefined
        ? stored
          ? undefined
          : msg('新人员须有姓名', 'a new staff member needs a name')
        : textProblem(r.name, ORG_LIMITS.staffName, true)
    if (nameIssue) fail(r.row, 'name', nameIssue)
    const titleIssue = r.title === undefined ? undefined : textProblem(r.title, ORG_LIMITS.title, false)
    if (titleIssue) fail(r.row, 'title', titleIssue)

    let status: StaffStatus | undefined
    if (r.status !== undefined && r.status.trim() !== '') {
      status = STAFF_STATUS_WORDS[r.status.trim().toLowerCase()]
      if (!status) fail(r.row, 'status', msg('状态须为 在职/停用/离职', 'status must be active, disabled or left'))
    }
    const finalStatus = status ?? stored?.status ?? 'active'

    let departmentIds: string[] | undefined
    if (r.departmentCodes !== undefined) {
      const codes = [...new Set(r.departmentCodes.map((c) => c.trim()).filter(Boolean))]
      if (codes.length === 0) fail(r.row, 'departmentCodes', msg('至少须有一个科室', 'at least one department'))
      else if (codes.length > ORG_LIMITS.departmentsPerStaff) {
        fail(r.row, 'departmentCodes', msg('科室过多', `at most ${ORG_LIMITS.departmentsPerStaff} departments`))
      } else {
        const unknown = codes.filter((c) => !departmentByCode.has(c))
        const inactive = codes.filter((c) => departmentByCode.get(c)?.status === 'inactive')
        if (unknown.length > 0) {
          fail(
            r.row,
            'departmentCodes',
            msg(`科室编码不存在：${unknown.join('、')}`, `unknown department ${unknown.join(', ')}`),
          )
        } else if (inactive.length > 0 && finalStatus === 'active') {
          fail(
            r.row,
            'departmentCodes',
            msg(`科室已停用：${inactive.join('、')}`, `inactive department ${inactive.join(', ')}`),
          )
        } else departmentIds = codes.map((c) => (departmentByCode.get(c) as Department).id)
      }
    } else if (!stored) fail(r.row, 'departmentCodes', msg('新人员须有科室', 'a new staff member needs a department'))

    let phone: string | null | undefined
    if (r.phone !== undefined) {
      if (r.phone.trim() === '') phone = null
      else {
        const issue = r.phone.length > ORG_LIMITS.phone + 10 ? msg('电话号码过长', 'too long') : phoneProblem(r.phone)
        if (issue) fail(r.row, 'phone', issue)
        else phone = normalisePhone(r.phone)
      }
    }

    let idDocument: { type: IdType; number: string } | null | undefined
    let idType: IdType | undefined
    if (r.idType !== undefined && r.idType.trim() !== '') {
      idType = ID_TYPE_WORDS[r.idType.trim().toLowerCase()]
      if (!idType)
        fail(r.row, 'idType', msg(`证件类型须为 ${ID_TYPES.join('/')}`, `idType must be ${ID_TYPES.join(', ')}`))
    }
    if (r.idNumber !== undefined) {
      if (r.idNumber.trim() === '') idDocument = null
      else if (r.idNumber.length > ORG_LIMITS.idNumber + 10) fail(r.row, 'idNumber', msg('证件号码过长', 'too long'))
      else {
        const type = idType ?? 'resident'
        const issue = idNumberProblem(type, r.idNumber)
        if (issue) fail(r.row, 'idNumber', issue)
        else idDocument = { type, number: normaliseIdNumber(r.idNumber) }
      }
    }
    if (errors.length > before) continue

    const name = r.name === undefined ? (stored?.name ?? '') : r.name.trim().normalize('NFC')
    const title = r.title === undefined ? (stored?.title ?? '') : r.title.trim().normalize('NFC')
    const depts = departmentIds ?? [...(stored?.departmentIds ?? [])]
    if (!stored) {
      actions.push({ row: r.row, key: employeeNumber, action: 'create' })
      inserts.push({
        member: {
          id: input.newId(),
          institutionId: input.institutionId,
          employeeNumber,
          name,
          title,
          departmentIds: depts,
          status: finalStatus,
          createdAt: now,
          updatedAt: now,
          version: 1,
        },
        phone: phone ?? undefined,
        idDocument: idDocument ?? undefined,
        stored: undefined,
      })
      continue
    }
    // Personal data compare by blind index: no decryption needed to know whether a value changed.
    const phoneChanged =
      phone !== undefined &&
      (phone === null ? stored.phone !== undefined : stored.phone?.index !== phoneIndexOf(box, phone))
    const idChanged =
      idDocument !== undefined &&
      (idDocument === null
        ? stored.idDocument !== undefined
        : stored.idDocument?.type !== idDocument.type ||
          stored.idDocument.index !== idNumberIndexOf(box, idDocument.number))
    const changed =
      phoneChanged ||
      idChanged ||
      stored.name !== name ||
      stored.title !== title ||
      stored.status !== finalStatus ||
      !equalLists(stored.departmentIds, depts)
    if (!changed) {
      actions.push({ row: r.row, key: employeeNumber, action: 'unchanged' })
      continue
    }
    actions.push({ row: r.row, key: employeeNumber, action: 'update' })
    updates.push({
      member: {
        ...stored,
        name,
        title,
        departmentIds: depts,
        status: finalStatus,
        updatedAt: now,
        version: stored.version + 1,
      },
      phone: phoneChanged ? phone : undefined,
      idDocument: idChanged ? idDocument : undefined,
      stored,
    })
  }
  const hasError = errors.length > 0
  return {
    report: finish(rows.length, errors, actions),
    inserts: hasError ? [] : inserts,
    updates: hasError ? [] : updates,
  }
}
