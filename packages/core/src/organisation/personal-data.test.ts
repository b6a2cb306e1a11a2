import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSecretBox } from '../protection/secret-box.js'
import type { StaffMember } from './organisation.js'
import {
  idNumberContext,
  maskIdNumber,
  maskPhone,
  phoneContext,
  protectIdNumber,
  protectPhone,
  staffView,
} from './personal-data.js'

const box = createSecretBox(randomBytes(32))

function member(id: string): StaffMember {
  return {
    id,
    institutionId: 'inst',
    employeeNumber: 'E001',
    name: '张三',
    title: '主治医师',
    departmentIds: ['d1'],
    status: 'active',
    phone: protectPhone(box, id, '138 0013-8000'),
    idDocument: protectIdNumber(box, id, 'resident', '11010519491231002x'),
    createdAt: new Date('2026-11-28T00:00:00Z'),
    updatedAt: new Date('2026-11-28T00:00:00Z'),
    version: 1,
  }
}

describe('personal data of staff', () => {
  it('masks ID numbers 6+4 and phones 3+4', () => {
    expect(maskIdNumber('resident', '11010519491231002X')).toBe('110105********002X')
    expect(maskPhone('13800138000')).toBe('138****8000')
    expect(maskIdNumber('passport', 'E12345678')).toBe('E1*****78')
  })

  it('shows masked values by default and clear values only when revealed', () => {
    const m = member('s1')
    expect(staffView(box, m, false)).toMatchObject({
      phone: '138****8000',
      idNumber: '110105********002X',
      idType: 'resident',
      revealed: false,
    })
    expect(staffView(box, m, true)).toMatchObject({ phone: '13800138000', idNumber: '11010519491231002X' })
  })

  it('stores neither number in clear, and binds each to its row and column', () => {
    const m = member('s1')
    expect(JSON.stringify(m)).not.toContain('13800138000')
    expect(JSON.stringify(m)).not.toContain('11010519491231002X')
    // A sealed value copied to another row or column does not open.
    expect(() => box.open(m.phone?.sealed ?? '', phoneContext('s2'))).toThrowError(
      expect.objectContaining({ code: 'SECRET_UNREADABLE' }),
    )
    expect(() => box.open(m.phone?.sealed ?? '', idNumberContext('s1'))).toThrowError(
      expect.objectContaining({ code: 'SECRET_UNREADABLE' }),
    )
  })

  it('gives equal numbers equal blind indexes whatever their spelling, and phone/ID indexes differ', () => {
    const a = member('s1')
    const b = member('s2')
    expect(a.phone?.index).toBe(b.phone?.index)
    expect(a.phone?.sealed).not.toBe(b.phone?.sealed)
    expect(protectIdNumber(box, 's3', 'resident', '11010519491231002X').index).toBe(a.idDocument?.index)
    expect(protectPhone(box, 's1', '11010519491231002X').index).not.toBe(a.idDocument?.index)
  })
})
