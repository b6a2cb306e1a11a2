/** Kinds of identity document a staff member can be registered with. */
export const ID_TYPES = ['resident', 'passport', 'other'] as const
export type IdType = (typeof ID_TYPES)[number]

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const
const CHECK_CHARACTERS = '10X98765432'

/** The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits. */
export function residentIdCheckCharacter(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (WEIGHTS[i] ?? 0)
  return CHECK_CHARACTERS[sum % 11] ?? ''
}

function isRealDate(yyyymmdd: string): boolean {
  const year = Number(yyyymmdd.slice(0, 4))
  const month = Number(yyyymmdd.slice(4, 6))
  const day = Number(yyyymmdd.slice(6, 8))
  const date = new Date(Date.UTC(year, month - 1, day))
  return year >= 1900 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** Upper-cases the check character and drops surrounding blanks, so that equal numbers compare equal. */
export function normaliseIdNumber(value: string): string {
  return value.trim().toUpperCase()
}

/**
 * Why `value` is not a valid identity-document number of `type`, or undefined when it is. A resident ID is the
 * 18-character PRC citizen number of GB 11643: 17 digits (region, birth date, sequence) and a MOD 11-2 check
 * character. Passports and other documents are checked for shape only.
 */
export function idNumberProblem(type: IdType, value: string): { zh: string; en: string } | undefined {
  const id = normaliseIdNumber(value)
  if (type === 'resident') {
    if (!/^\d{17}[\dX]$/.test(id)) {
      return {
        zh: '身份证号须为18位（最后一位可为X）',
        en: 'a resident ID has 18 characters (17 digits and a digit or X)',
      }
    }
    if (!isRealDate(id.slice(6, 14)))
      return { zh: '身份证号中的出生日期无效', en: 'the birth date in the ID is not valid' }
    if (residentIdCheckCharacter(id.slice(0, 17)) !== id[17]) {
      return { zh: '身份证号校验位错误', en: 'the check character of the ID is wrong (GB 11643)' }
    }
    return undefined
  }
  if (type === 'passport') {
    return /^[A-Z0-9]{5,20}$/.test(id)
      ? undefined
      : { zh: '护照号须为5–20位字母或数字', en: 'a passport number has 5–20 letters or digits' }
  }
  return /^[A-Z0-9()（）-]{4,32}$/u.test(id)
    ? undefined
    : {
        zh: '证件号码须为4–32位字母、数字、括号或连字符',
        en: 'a document number has 4–32 letters, digits, brackets or hyphens',
      }
}
