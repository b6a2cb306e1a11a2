import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSecretBox } from '../protection/secret-box.js'
import { type DepartmentRow, planDepartments, planStaff, type StaffDraft, type StaffRow } from './bulk-plan.js'
import { assertCanDeactivate, type Department, type StaffMember, subtreeIds, wouldCreateCycle } from './organisation.js'
import { protectIdNumber, protectPhone } from './personal-data.js'
import { orgScopeOf } from './scope.js'

const box = createSecretBox(randomBytes(32))
const now = new Date('2026-11-28T08:00:00Z')
let counter = 0
const newId = () => `new-${++counter}`

function dept(code: string, parentId?: string, status: Department['status'] = 'active'): Department {
  return {
    id: `id-${code}`,
    institutionId: 'inst',
    code,
    name: `科室${code}`,
    parentId,
    status,
    createdAt: now,
    updatedAt: now,
    version: 1,
  }
}

// 医院 H ─ 内科 IM ─ 心内科 CARD
//        └ 外科 SURG
const tree = [dept('H'), dept('IM', 'id-H'), dept('CARD', 'id-IM'), dept('SURG', 'id-H')]

function planD(rows: DepartmentRow[], stored = tree, staffCounts = new Map<string, number>()) {
  return planDepartments({ institutionId: 'inst', stored, activeStaffCounts: staffCounts, rows, now, newId })
}

describe('department tree rules', () => {
  it('finds a subtree and ignores unknown roots', () => {
    expect(subtreeIds(tree, ['id-IM'])).toEqual(new Set(['id-IM', 'id-CARD']))
    expect(subtreeIds(tree, ['id-H']).size).toBe(4)
    expect(subtreeIds(tree, ['nope']).size).toBe(0)
  })

  it('refuses moves that would close a loop', () => {
    const parents = new Map(tree.map((d) => [d.id, d.parentId]))
    expect(wouldCreateCycle(parents, 'id-IM', 'id-CARD')).toBe(true)
    expect(wouldCreateCycle(parents, 'id-IM', 'id-IM')).toBe(true)
    expect(wouldCreateCycle(parents, 'id-CARD', 'id-SURG')).toBe(false)
  })

  it('refuses to deactivate a department with active staff or active children, naming both counts', () => {
    const im = tree[1] as Department
    expect(() => assertCanDeactivate(im, tree, 0)).toThrowError(expect.objectContaining({ code: 'DEPARTMENT_IN_USE' }))
    const card = tree[2] as Department
    expect(() => assertCanDeactivate(card, tree, 3)).toThrowError(/3 active staff/)
    expect(() => assertCanDeactivate(card, tree, 0)).not.toThrow()
  })

  it('limits a department manager to the subtrees of their departments', () => {
    const manager = { kind: 'user', id: 'u', name: 'm', roles: ['dept-manager'], departmentIds: ['id-IM'] } as const
    const scope = orgScopeOf(manager, tree)
    expect(scope.all).toBe(false)
    expect(!scope.all && [...scope.departmentIds].sort()).toEqual(['id-CARD', 'id-IM'])
    expect(orgScopeOf({ ...manager, roles: ['dept-manager', 'ra-officer'] }, tree).all).toBe(true)
    const nobody = orgScopeOf({ ...manager, roles: ['staff'] }, tree)
    expect(!nobody.all && nobody.departmentIds.size).toBe(0)
  })
})

describe('planning departments', () => {
  it('creates parents before children even when the file lists children first', () => {
    const plan = planD([
      { row: 2, code: 'NEURO2', name: '神经二科', parentCode: 'NEURO' },
      { row: 3, code: 'NEURO', name: '神经科', parentCode: 'IM' },
    ])
    expect(plan.report.errors).toEqual([])
    expect(plan.inserts.map((d) => d.code)).toEqual(['NEURO', 'NEURO2'])
    const neuro = plan.inserts[0] as Department
    expect(plan.inserts[1]?.parentId).toBe(neuro.id)
    expect(neuro.parentId).toBe('id-IM')
    expect(plan.report.summary).toMatchObject({ rows: 2, create: 2, update: 0, unchanged: 0, errors: 0 })
  })

  it('is idempotent: the stored tree itself plans as all unchanged', () => {
    const rows = tree.map((d, i) => ({
      row: i + 2,
      code: d.code,
      name: d.name,
      parentCode: tree.find((p) => p.id === d.parentId)?.code ?? '',
      status: d.status,
    }))
    const plan = planD(rows)
    expect(plan.report.summary).toEqual({ rows: 4, create: 0, update: 0, unchanged: 4, errors: 0 })
    expect(plan.inserts).toEqual([])
    expect(plan.updates).toEqual([])
  })

  it('reports every bad row with its column, and plans nothing to write', () => {
    const plan = planD(
      [
        { row: 2, code: 'OK', name: '好科室' },
        { row: 3, code: 'OK', name: '重复' },
        { row: 4, code: 'ORPHAN', name: '孤儿', parentCode: 'NOPE' },
        { row: 5, code: 'IM', parentCode: 'CARD' },
        { row: 6, code: 'bad code!', name: 'x' },
        { row: 7, code: 'LONG', name: '长'.repeat(129) },
        { row: 8, code: 'SURG', status: 'inactive' },
        { row: 9, code: 'NONAME' },
      ],
      tree,
      new Map([['id-SURG', 2]]),
    )
    expect(plan.report.errors.map((e) => [e.row, e.column])).toEqual([
      [3, 'code'],
      [4, 'parentCode'],
      [5, 'parentCode'],
      [6, 'code'],
      [7, 'name'],
      [8, 'status'],
      [9, 'name'],
    ])
    expect(plan.report.errors[0]?.message.zh).toContain('第 2 行')
    expect(plan.report.summary.errors).toBe(7)
    expect(plan.inserts).toEqual([])
    expect(plan.updates).toEqual([])
  })

  it('moves and deactivates when the rules allow, with incremented versions', () => {
    const plan = planD([
      { row: 2, code: 'CARD', parentCode: 'SURG' },
      { row: 3, code: 'SURG', status: 'inactive' },
    ])
    // SURG would have an active child (CARD moved under it), and CARD an inactive parent: both rows are refused.
    expect(plan.report.errors).toMatchObject([
      { row: 2, column: 'status' },
      { row: 3, column: 'status' },
    ])
    const ok = planD([{ row: 2, code: 'CARD', parentCode: '', status: 'inactive' }])
    expect(ok.report.errors).toEqual([])
    expect(ok.updates).toMatchObject([{ code: 'CARD', parentId: undefined, status: 'inactive', version: 2 }])
  })
})

describe('planning staff', () => {
  const departments = [...tree, dept('OLD', 'id-H', 'inactive')]
  function stored(overrides: Partial<StaffMember> = {}): StaffMember {
    return {
      id: 's1',
      institutionId: 'inst',
      employeeNumber: 'E001',
      name: '张三',
      title: '主治医师',
      departmentIds: ['id-CARD', 'id-IM'],
      status: 'active',
      phone: protectPhone(box, 's1', '13800138000'),
      idDocument: protectIdNumber(box, 's1', 'resident', '11010519491231002X'),
      createdAt: now,
      updatedAt: now,
      version: 3,
      ...overrides,
    }
  }
  const row: StaffRow = {
    row: 2,
    employeeNumber: 'E001',
    name: '张三',
    title: '主治医师',
    departmentCodes: ['CARD', 'IM'],
    phone: '138-0013-8000',
    idType: '身份证',
    idNumber: '11010519491231002x',
    status: '在职',
  }
  const plan = (rows: StaffRow[], existing = [stored()]) =>
    planStaff({ institutionId: 'inst', stored: existing, departments, rows, box, now, newId })

  it('sees an identical row as unchanged, comparing personal data by blind index only', () => {
    const p = plan([row])
    expect(p.report.summary).toEqual({ rows: 1, create: 0, update: 0, unchanged: 1, errors: 0 })
  })

  it('updates only what changed and keeps sealed values that did not', () => {
    const p = plan([{ ...row, title: '副主任医师', departmentCodes: ['IM', 'CARD'] }])
    expect(p.report.summary.update).toBe(1)
    const draft = p.updates[0] as StaffDraft
    expect(draft.member).toMatchObject({ title: '副主任医师', departmentIds: ['id-IM', 'id-CARD'], version: 4 })
    expect(draft.phone).toBeUndefined()
    expect(draft.idDocument).toBeUndefined()
    const phoneOnly = plan([{ ...row, phone: '13900139000' }]).updates[0] as StaffDraft
    expect(phoneOnly.phone).toBe('13900139000')
  })

  it('keeps what an absent column would have said, and clears on an empty cell', () => {
    expect(plan([{ row: 2, employeeNumber: 'E001' }]).report.summary.unchanged).toBe(1)
    const cleared = plan([{ row: 2, employeeNumber: 'E001', phone: '' }]).updates[0] as StaffDraft
    expect(cleared.phone).toBeNull()
  })

  it('creates a new member with defaults', () => {
    const p = plan([{ ...row, employeeNumber: 'E002', status: undefined, idType: undefined }])
    expect(p.report.summary.create).toBe(1)
    expect(p.inserts[0]?.member).toMatchObject({ employeeNumber: 'E002', status: 'active', version: 1 })
    expect(p.inserts[0]?.idDocument).toEqual({ type: 'resident', number: '11010519491231002X' })
  })

  it.each([
    ['bad ID checksum', { idNumber: '110105194912310021' }, 'idNumber'],
    ['unknown department', { departmentCodes: ['NOPE'] }, 'departmentCodes'],
    ['inactive department', { departmentCodes: ['OLD'] }, 'departmentCodes'],
    ['missing name', { name: '' }, 'name'],
    ['too-long name', { name: '名'.repeat(65) }, 'name'],
    ['too-long title', { title: 't'.repeat(65) }, 'title'],
    ['bad phone', { phone: '12ab' }, 'phone'],
    ['bad status', { status: 'retired' }, 'status'],
    ['bad ID type', { idType: 'driver' }, 'idType'],
    ['bad employee number', { employeeNumber: 'E 1' }, 'employeeNumber'],
  ] as const)('reports %s in its column', (_, change, column) => {
    const p = plan([{ ...row, employeeNumber: 'E009', ...change }])
    expect(p.report.errors).toMatchObject([{ row: 2, column }])
    expect(p.inserts).toEqual([])
  })

  it('reports the second of two rows with the same employee number, naming the first', () => {
    const p = plan([
      { ...row, employeeNumber: 'E010' },
      { ...row, row: 3, employeeNumber: 'E010' },
    ])
    expect(p.report.errors).toMatchObject([{ row: 3, column: 'employeeNumber' }])
    expect(p.report.errors[0]?.message.en).toContain('row 2')
    expect(p.report.summary).toMatchObject({ create: 1, errors: 1 })
    expect(p.inserts).toEqual([])
  })
})
