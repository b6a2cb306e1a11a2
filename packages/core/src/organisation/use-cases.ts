import { randomUUID } from 'node:crypto'
import type { ActorContext, Principal } from '../access/principal.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  type DepartmentPlan,
  type DepartmentRow,
  type PlanReport,
  planDepartments,
  planStaff,
  type StaffDraft,
  type StaffPlan,
  type StaffRow,
} from './bulk-plan.js'
import type { IdType } from './id-number.js'
import {
  assertCanDeactivate,
  type Department,
  type DepartmentStatus,
  type Institution,
  ORG_LIMITS,
  requiredCode,
  requiredText,
  type StaffMember,
  type StaffStatus,
  subtreeIds,
  wouldCreateCycle,
} from './organisation.js'
import {
  idNumberIndexOf,
  phoneIndexOf,
  protectIdNumber,
  protectPhone,
  type StaffView,
  staffView,
} from './personal-data.js'
import { inScope, orgScopeOf } from './scope.js'

/** What the organisation use cases need from the composition root. */
export interface OrganisationDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  readonly newId?: () => string
}

async function institutionOrThrow(tx: Repositories, id: string): Promise<Institution> {
  const institution = await tx.institutions.find(id)
  if (!institution) throw new DomainError('INSTITUTION_NOT_FOUND', `机构 ${id} 不存在 / no institution ${id}`, { id })
  return institution
}

async function institutionByCodeOrThrow(tx: Repositories, code: string): Promise<Institution> {
  const institution = await tx.institutions.findByCode(code)
  if (!institution) {
    throw new DomainError('INSTITUTION_NOT_FOUND', `机构编码 ${code} 不存在 / no institution with code ${code}`, {
      field: 'institution',
      code,
    })
  }
  return institution
}

async function departmentOrThrow(tx: Repositories, id: string): Promise<Department> {
  const department = await tx.departments.find(id)
  if (!department) throw new DomainError('DEPARTMENT_NOT_FOUND', `科室 ${id} 不存在 / no department ${id}`, { id })
  return department
}

function checkVersion(kind: string, id: string, stored: number, given: number): void {
  if (stored !== given) {
    throw new DomainError('VERSION_CONFLICT', `${kind} ${id} is at version ${stored}, not ${given}`, {
      id,
      version: stored,
    })
  }
}

/** A staff member's fields as the console and the API change them. */
export interface StaffInput {
  readonly name?: string | undefined
  readonly title?: string | undefined
  readonly departmentIds?: readonly string[] | undefined
  /** Null clears. */
  readonly phone?: string | null | undefined
  readonly idType?: IdType | undefined
  /** Null clears. */
  readonly idNumber?: string | null | undefined
  readonly status?: StaffStatus | undefined
}

export interface BulkRequest<Row> {
  readonly institutionCode: string
  readonly rows: readonly Row[]
  readonly dryRun: boolean
  /** `import` (a file) or `sync` (the HIS sync API): only changes the audit event type. */
  readonly source: 'import' | 'sync'
  readonly fileName?: string | undefined
}

/** The plan, and whether it was applied (only a real run without row errors is). */
export type BulkOutcome = PlanReport & {
  readonly dryRun: boolean
  readonly applied: boolean
  readonly institutionId: string
}

export function createOrganisationUseCases(deps: OrganisationDeps) {
  const { uow, clock, secretBox: box } = deps
  const newId = deps.newId ?? randomUUID

  // ——— institutions ———

  async function createInstitution(
    actor: ActorContext,
    input: { code: string; name: string; parentId?: string | undefined },
  ): Promise<Institution> {
    return uow.run(async (tx) => {
      const code = requiredCode('code', input.code)
      const name = requiredText('name', input.name, ORG_LIMITS.institutionName)
      if (input.parentId !== undefined) await institutionOrThrow(tx, input.parentId)
      if (await tx.institutions.findByCode(code)) {
        throw new DomainError('INSTITUTION_EXISTS', `机构编码 ${code} 已存在 / institution ${code} exists`, {
          field: 'code',
        })
      }
      const institution: Institution = {
        id: newId(),
        code,
        name,
        parentId: input.parentId,
        createdAt: clock.now(),
        version: 1,
      }
      await tx.institutions.insert(institution)
      await tx.audit.append({
        ...actor,
        type: 'institution.created',
        subject: institution.id,
        data: { code, name, parentId: input.parentId ?? null },
        outcome: 'success',
      })
      return institution
    })
  }

  const listInstitutions = () => uow.run((tx) => tx.institutions.list())

  // ——— departments ———

  async function listDepartments(principal: Principal, institutionId?: string): Promise<Department[]> {
    return uow.run(async (tx) => {
      const all = await tx.departments.list()
      const scope = orgScopeOf(principal, all)
      return all
        .filter((d) => institutionId === undefined || d.institutionId === institutionId)
        .filter((d) => scope.all || scope.departmentIds.has(d.id))
        .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
    })
  }

  async function createDepartment(
    actor: ActorContext,
    input: { institutionId: string; code: string; name: string; parentId?: string | undefined },
  ): Promise<Department> {
    return uow.run(async (tx) => {
      await institutionOrThrow(tx, input.institutionId)
      const code = requiredCode('code', input.code)
      const name = requiredText('name', input.name, ORG_LIMITS.departmentName)
      if (input.parentId !== undefined) {
        const parent = await departmentOrThrow(tx, input.parentId)
        if (parent.institutionId !== input.institutionId) {
          throw new DomainError(
            'ORG_FIELD_INVALID',
            'parentId: 上级科室属于其他机构 / belongs to another institution',
            {
              field: 'parentId',
            },
          )
        }
        if (parent.status !== 'active') {
          throw new DomainError(
            'DEPARTMENT_INACTIVE',
            `上级科室 ${parent.code} 已停用 / parent ${parent.code} is inactive`,
            {
              field: 'parentId',
            },
          )
        }
      }
      if (await tx.departments.findByCode(input.institutionId, code)) {
        throw new DomainError('DEPARTMENT_EXISTS', `科室编码 ${code} 已存在 / department ${code} exists`, {
          field: 'code',
        })
      }
      const now = clock.now()
      const department: Department = {
        id: newId(),
        institutionId: input.institutionId,
        code,
        name,
        parentId: input.parentId,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        version: 1,
      }
      await tx.departments.insertMany([department])
      await tx.audit.append({
        ...actor,
        type: 'department.created',
        subject: department.id,
        data: { institutionId: department.institutionId, code, name, parentId: department.parentId ?? null },
        outcome: 'success',
      })
      return department
    })
  }

  /**
   * Renames, re-codes, moves (`parentId`, null for top level) and (de)activates a department, in one unit of work.
   * A move may not put a department under itself or a descendant; deactivation needs no active staff or children.
   */
  async function updateDepartment(
    actor: ActorContext,
    id: string,
    change: {
      version: number
      code?: string | undefined
      name?: string | undefined
      parentId?: string | null | undefined
      status?: DepartmentStatus | undefined
    },
  ): Promise<Department> {
    return uow.run(async (tx) => {
      const stored = await departmentOrThrow(tx, id)
      checkVersion('department', id, stored.version, change.version)
      const code = change.code === undefined ? stored.code : requiredCode('code', change.code)
      const name =
        change.name === undefined ? stored.name : requiredText('name', change.name, ORG_LIMITS.departmentName)
      const parentId = change.parentId === undefined ? stored.parentId : (change.parentId ?? undefined)
      const status = change.status ?? stored.status
      const all = await tx.departments.list(stored.institutionId)
      if (code !== stored.code && all.some((d) => d.code === code)) {
        throw new DomainError('DEPARTMENT_EXISTS', `科室编码 ${code} 已存在 / department ${code} exists`, {
          field: 'code',
        })
      }
      if (parentId !== undefined) {
        const parent = all.find((d) => d.id === parentId)
        if (!parent) {
          throw new DomainError('DEPARTMENT_NOT_FOUND', `上级科室 ${parentId} 不存在 / no parent ${parentId}`, {
            field: 'parentId',
          })
        }
        if (wouldCreateCycle(new Map(all.map((d) => [d.id, d.parentId])), id, parentId)) {
          throw new DomainError(
            'DEPARTMENT_CYCLE',
            `科室 ${stored.code} 不能移到自身或下级科室 ${parent.code} 之下 / cannot move under itself or a descendant`,
            { field: 'parentId' },
          )
        }
        if (status === 'active' && parent.status !== 'active') {
          throw new DomainError(
            'DEPARTMENT_INACTIVE',
            `上级科室 ${parent.code} 已停用 / parent ${parent.code} is inactive`,
            {
              field: 'parentId',
            },
          )
        }
      }
      if (status === 'inactive' && stored.status === 'active') {
        const counts = await tx.departments.activeStaffCounts([id])
        assertCanDeactivate(stored, all, counts.get(id) ?? 0)
      }
      const changed = {
        ...(code !== stored.code && { code }),
        ...(name !== stored.name && { name }),
        ...(parentId !== stored.parentId && { parentId: parentId ?? null }),
        ...(status !== stored.status && { status }),
      }
      if (Object.keys(changed).length === 0) return stored
      const next: Department = {
        ...stored,
        code,
        name,
        parentId,
        status,
        updatedAt: clock.now(),
        version: stored.version + 1,
      }
      await tx.departments.updateMany([next])
      const type =
        'status' in changed
          ? status === 'inactive'
            ? 'department.deactivated'
            : 'department.activated'
          : 'parentId' in changed
            ? 'department.moved'
            : 'department.updated'
      await tx.audit.append({ ...actor, type, subject: id, data: { code, changed }, outcome: 'success' })
      return next
    })
  }

  const moveDepartment = (actor: ActorContext, id: string, parentId: string | null, version: number) =>
    updateDepartment(actor, id, { parentId, version })
  const deactivateDepartment = (actor: ActorContext, id: string, version: number) =>
    updateDepartment(actor, id, { status: 'inactive', version })

  // ——— staff ———

  function seal(draft: StaffDraft): StaffMember {
    const { member, stored } = draft
    return {
      ...member,
      phone:
        draft.phone === undefined
          ? stored?.phone
          : draft.phone === null
            ? undefined
            : protectPhone(box, member.id, draft.phone),
      idDocument:
        draft.idDocument === undefined
          ? stored?.idDocument
          : draft.idDocument === null
            ? undefined
            : protectIdNumber(box, member.id, draft.idDocument.type, draft.idDocument.number),
    }
  }

  /** Plans one staff row with the bulk planner, so that the API and import files validate alike. */
  async function planOne(tx: Repositories, institutionId: string, row: StaffRow, stored: StaffMember | undefined) {
    const departments = await tx.departments.list(institutionId)
    const plan = planStaff({
      institutionId,
      stored: stored ? [stored] : [],
      departments,
      rows: [row],
      box,
      now: clock.now(),
      newId,
    })
    const error = plan.report.errors[0]
    if (error) {
      throw new DomainError('ORG_FIELD_INVALID', `${error.column}: ${error.message.zh} / ${error.message.en}`, {
        field: error.column,
        errors: plan.report.errors,
      })
    }
    return plan
  }

  function codesOf(departments: readonly Department[], ids: readonly string[] | undefined): string[] | undefined {
    if (ids === undefined) return undefined
    return ids.map((id) => {
      const department = departments.find((d) => d.id === id)
      if (!department) {
        throw new DomainError('DEPARTMENT_NOT_FOUND', `科室 ${id} 不存在 / no department ${id}`, {
          field: 'departmentIds',
        })
      }
      return department.code
    })
  }

  function rowOf(employeeNumber: string, input: StaffInput, departments: readonly Department[]): StaffRow {
    return {
      row: 1,
      employeeNumber,
      name: input.name,
      title: input.title,
      departmentCodes: codesOf(departments, input.departmentIds),
      phone: input.phone === null ? '' : input.phone,
      idType: input.idType,
      idNumber: input.idNumber === null ? '' : input.idNumber,
      status: input.status,
    }
  }

  async function createStaff(
    actor: ActorContext,
    input: StaffInput & { institutionId: string; employeeNumber: string; name: string; departmentIds: string[] },
  ): Promise<StaffView> {
    return uow.run(async (tx) => {
      await institutionOrThrow(tx, input.institutionId)
      const existing = await tx.staff.findByEmployeeNumber(input.institutionId, input.employeeNumber.trim())
      if (existing) {
        throw new DomainError('STAFF_EXISTS', `工号 ${input.employeeNumber} 已存在 / employee number exists`, {
          field: 'employeeNumber',
        })
      }
      const departments = await tx.departments.list(input.institutionId)
      const plan = await planOne(tx, input.institutionId, rowOf(input.employeeNumber, input, departments), undefined)
      const member = seal(plan.inserts[0] as StaffDraft)
      await tx.staff.insertMany([member])
      await tx.audit.append({
        ...actor,
        type: 'staff.created',
        subject: member.id,
        data: { employeeNumber: member.employeeNumber, departmentIds: member.departmentIds, status: member.status },
        outcome: 'success',
      })
      return staffView(box, member, false)
    })
  }

  async function updateStaff(
    actor: ActorContext,
    id: string,
    input: StaffInput & { version: number },
  ): Promise<StaffView> {
    return uow.run(async (tx) => {
      const stored = await tx.staff.find(id)
      if (!stored) throw new DomainError('STAFF_NOT_FOUND', `人员 ${id} 不存在 / no staff member ${id}`, { id })
      checkVersion('staff member', id, stored.version, input.version)
      const departments = await tx.departments.list(stored.institutionId)
      const plan = await planOne(tx, stored.institutionId, rowOf(stored.employeeNumber, input, departments), stored)
      const draft = plan.updates[0]
      if (!draft) return staffView(box, stored, false)
      const member = seal(draft)
      await tx.staff.updateMany([member])
      const changed = [
        ...(['name', 'title', 'status'] as const).filter((k) => member[k] !== stored[k]),
        ...(member.departmentIds.join() !== stored.departmentIds.join() ? ['departmentIds'] : []),
        ...(draft.phone !== undefined ? ['phone'] : []),
        ...(draft.idDocument !== undefined ? ['idNumber'] : []),
      ]
      const type =
        member.status !== stored.status && member.status !== 'active'
          ? member.status === 'left'
            ? 'staff.left'
            : 'staff.disabled'
          : 'staff.updated'
      // Never the personal data itself: only which fields changed.
      await tx.audit.append({
        ...actor,
        type,
        subject: id,
        data: { employeeNumber: member.employeeNumber, changed, status: member.status },
        outcome: 'success',
      })
      return staffView(box, member, false)
    })
  }

  const disableStaff = (actor: ActorContext, id: string, version: number) =>
    updateStaff(actor, id, { status: 'disabled', version })

  /** One staff member, masked; outside a department manager's scope it does not exist. */
  async function getStaff(principal: Principal, id: string): Promise<StaffView> {
    return uow.run(async (tx) => staffView(box, await scopedStaff(tx, principal, id), false))
  }

  async function scopedStaff(tx: Repositories, principal: Principal, id: string): Promise<StaffMember> {
    const member = await tx.staff.find(id)
    const visible = member && inScope(orgScopeOf(principal, await tx.departments.list()), member.departmentIds)
    if (!member || !visible)
      throw new DomainError('STAFF_NOT_FOUND', `人员 ${id} 不存在 / no staff member ${id}`, { id })
    return member
  }

  /** Unmasked personal data; the reveal itself is audited in the same unit of work. */
  async function revealStaff(actor: ActorContext, principal: Principal, id: string): Promise<StaffView> {
    return uow.run(async (tx) => {
      const member = await scopedStaff(tx, principal, id)
      const view = staffView(box, member, true)
      await tx.audit.append({
        ...actor,
        type: 'staff.personal-data.revealed',
        subject: id,
        data: {
          employeeNumber: member.employeeNumber,
          fields: [...(member.phone ? ['phone'] : []), ...(member.idDocument ? ['idNumber'] : [])],
        },
        outcome: 'success',
      })
      return view
    })
  }

  async function listStaff(
    principal: Principal,
    query: {
      institutionId?: string | undefined
      departmentId?: string | undefined
      /** Include the department's sub-departments (default true). */
      includeSubtree?: boolean | undefined
      name?: string | undefined
      employeeNumber?: string | undefined
      status?: StaffStatus | undefined
      phone?: string | undefined
      idNumber?: string | undefined
      offset?: number | undefined
      limit?: number | undefined
    },
  ): Promise<{ items: StaffView[]; total: number; offset: number; limit: number }> {
    const offset = Math.max(0, query.offset ?? 0)
    const limit = Math.min(ORG_LIMITS.pageSize, Math.max(1, query.limit ?? 50))
    return uow.run(async (tx) => {
      const all = await tx.departments.list()
      const scope = orgScopeOf(principal, all)
      let departmentIds: string[] | undefined
      if (query.departmentId !== undefined) {
        const wanted =
          query.includeSubtree === false ? new Set([query.departmentId]) : subtreeIds(all, [query.departmentId])
        departmentIds = [...wanted].filter((d) => scope.all || scope.departmentIds.has(d))
      } else if (!scope.all) departmentIds = [...scope.departmentIds]
      if (departmentIds?.length === 0) return { items: [], total: 0, offset, limit }
      const { items, total } = await tx.staff.search({
        institutionId: query.institutionId,
        departmentIds,
        name: query.name?.trim() || undefined,
        employeeNumber: query.employeeNumber?.trim() || undefined,
        status: query.status,
        phoneIndex: query.phone ? phoneIndexOf(box, query.phone) : undefined,
        idNumberIndex: query.idNumber ? idNumberIndexOf(box, query.idNumber) : undefined,
        offset,
        limit,
      })
      return { items: items.map((m) => staffView(box, m, false)), total, offset, limit }
    })
  }

  // ——— bulk: import files and the HIS sync API ———

  async function runBulk<Row, Plan extends DepartmentPlan | StaffPlan>(
    kind: 'departments' | 'staff',
    actor: ActorContext,
    request: BulkRequest<Row>,
    plan: (tx: Repositories, institution: Institution) => Promise<Plan>,
    apply: (tx: Repositories, plan: Plan) => Promise<void>,
  ): Promise<BulkOutcome> {
    if (request.rows.length > ORG_LIMITS.importRows) {
      throw new DomainError(
        'IMPORT_FILE_INVALID',
        `最多 ${ORG_LIMITS.importRows} 行 / at most ${ORG_LIMITS.importRows} rows`,
      )
    }
    return uow.run(async (tx) => {
      const institution = await institutionByCodeOrThrow(tx, request.institutionCode)
      const planned = await plan(tx, institution)
      const outcome = { ...planned.report, dryRun: request.dryRun, institutionId: institution.id }
      if (request.dryRun) return { ...outcome, applied: false }
      const data = {
        institutionId: institution.id,
        source: request.source,
        ...(request.fileName !== undefined && { fileName: request.fileName }),
        ...planned.report.summary,
      }
      const type = `${kind}.${request.source === 'sync' ? 'synced' : 'imported'}`
      if (planned.report.errors.length > 0) {
        await tx.audit.append({ ...actor, type, subject: institution.id, data, outcome: 'failure' })
        return { ...outcome, applied: false }
      }
      await apply(tx, planned)
      await tx.audit.append({ ...actor, type, subject: institution.id, data, outcome: 'success' })
      return { ...outcome, applied: true }
    })
  }

  /** Upserts departments by code: all rows or none (a real run with any row error writes nothing but its audit). */
  const importDepartments = (actor: ActorContext, request: BulkRequest<DepartmentRow>) =>
    runBulk<DepartmentRow, DepartmentPlan>(
      'departments',
      actor,
      request,
      async (tx, institution) => {
        const stored = await tx.departments.list(institution.id)
        return planDepartments({
          institutionId: institution.id,
          stored,
          activeStaffCounts: await tx.departments.activeStaffCounts(stored.map((d) => d.id)),
          rows: request.rows,
          now: clock.now(),
          newId,
        })
      },
      async (tx, plan) => {
        await tx.departments.insertMany(plan.inserts)
        await tx.departments.updateMany(plan.updates)
      },
    )

  /** Upserts staff by employee number: all rows or none, like `importDepartments`. */
  const importStaff = (actor: ActorContext, request: BulkRequest<StaffRow>) =>
    runBulk<StaffRow, StaffPlan>(
      'staff',
      actor,
      request,
      async (tx, institution) =>
        planStaff({
          institutionId: institution.id,
          stored: await tx.staff.listAll(institution.id),
          departments: await tx.departments.list(institution.id),
          rows: request.rows,
          box,
          now: clock.now(),
          newId,
        }),
      async (tx, plan) => {
        await tx.staff.insertMany(plan.inserts.map(seal))
        await tx.staff.updateMany(plan.updates.map(seal))
      },
    )

  return {
    createInstitution,
    listInstitutions,
    listDepartments,
    createDepartment,
    updateDepartment,
    moveDepartment,
    deactivateDepartment,
    createStaff,
    updateStaff,
    disableStaff,
    getStaff,
    revealStaff,
    listStaff,
    importDepartments,
    importStaff,
  }
}

export type OrganisationUseCases = ReturnType<typeof createOrganisationUseCases>
