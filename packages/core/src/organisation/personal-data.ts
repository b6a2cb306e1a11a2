import { maskMiddle, type SecretBox } from '../protection/secret-box.js'
import { type IdType, idNumberProblem, normaliseIdNumber } from './id-number.js'
import type { ProtectedValue, StaffMember } from './organisation.js'

/** Blind-index purposes: one per column, so equal phone and ID numbers do not share an index value. */
export const PHONE_INDEX = 'staff.phone'
export const ID_NUMBER_INDEX = 'staff.id_number'

/** The SecretBox context binds a value to its table, column and row: a value copied to another row will not open. */
export const phoneContext = (staffId: string) => `staff.phone:${staffId}`
export const idNumberContext = (staffId: string) => `staff.id_number:${staffId}`

/** Drops blanks and hyphens; keeps a leading + for international numbers. */
export function normalisePhone(value: string): string {
  return value.replace(/[\s-]/g, '')
}

export function phoneProblem(value: string): { zh: string; en: string } | undefined {
  return /^\+?\d{5,20}$/.test(normalisePhone(value))
    ? undefined
    : { zh: '电话号码须为5–20位数字（可带+）', en: 'a phone number has 5–20 digits (optionally after +)' }
}

export { idNumberProblem, normaliseIdNumber }

export function phoneIndexOf(box: SecretBox, phone: string): string {
  return box.blindIndex(PHONE_INDEX, normalisePhone(phone))
}

export function idNumberIndexOf(box: SecretBox, idNumber: string): string {
  return box.blindIndex(ID_NUMBER_INDEX, normaliseIdNumber(idNumber))
}

export function protectPhone(box: SecretBox, staffId: string, phone: string): ProtectedValue {
  const value = normalisePhone(phone)
  return { sealed: box.seal(value, phoneContext(staffId)), index: phoneIndexOf(box, value) }
}

export function protectIdNumber(
  box: SecretBox,
  staffId: string,
  type: IdType,
  idNumber: string,
): ProtectedValue & { type: IdType } {
  const value = normaliseIdNumber(idNumber)
  return { type, sealed: box.seal(value, idNumberContext(staffId)), index: idNumberIndexOf(box, value) }
}

/** Masks a phone number keeping the first 3 and last 4 characters: 138****5678. */
export const maskPhone = (phone: string) => maskMiddle(phone, 3, 4)

/** A resident ID keeps its region (6) and last 4 characters: 110101********123X; other documents keep 2 + 2. */
export const maskIdNumber = (type: IdType, idNumber: string) =>
  type === 'resident' ? maskMiddle(idNumber, 6, 4) : maskMiddle(idNumber, 2, 2)

/** What callers may see of a staff member: personal data masked unless `reveal`. */
export interface StaffView {
  readonly id: string
  readonly institutionId: string
  readonly employeeNumber: string
  readonly name: string
  readonly title: string
  readonly departmentIds: readonly string[]
  readonly status: StaffMember['status']
  readonly phone: string | null
  readonly idType: IdType | null
  readonly idNumber: string | null
  /** False when `phone` and `idNumber` are masked. */
  readonly revealed: boolean
  readonly createdAt: string
  readonly updatedAt: string
  readonly version: number
}

export function staffView(box: SecretBox, staff: StaffMember, reveal: boolean): StaffView {
  const phone = staff.phone && box.open(staff.phone.sealed, phoneContext(staff.id))
  const idNumber = staff.idDocument && box.open(staff.idDocument.sealed, idNumberContext(staff.id))
  return {
    id: staff.id,
    institutionId: staff.institutionId,
    employeeNumber: staff.employeeNumber,
    name: staff.name,
    title: staff.title,
    departmentIds: staff.departmentIds,
    status: staff.status,
    phone: phone === undefined ? null : reveal ? phone : maskPhone(phone),
    idType: staff.idDocument?.type ?? null,
    idNumber:
      idNumber === undefined || !staff.idDocument
        ? null
        : reveal
          ? idNumber
          : maskIdNumber(staff.idDocument.type, idNumber),
    revealed: reveal,
    createdAt: staff.createdAt.toISOString(),
    updatedAt: staff.updatedAt.toISOString(),
    version: staff.version,
  }
}
