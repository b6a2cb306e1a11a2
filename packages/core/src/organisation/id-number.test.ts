import { describe, expect, it } from 'vitest'
import { idNumberProblem, residentIdCheckCharacter } from './id-number.js'

describe('GB 11643 resident ID numbers', () => {
  it('computes the check character of the standard example (X for 10)', () => {
    // GB 11643-1999 appendix: 11010519491231002X.
    expect(residentIdCheckCharacter('11010519491231002')).toBe('X')
    expect(residentIdCheckCharacter('44030019900101123')).toBe('8')
  })

  it.each([['11010519491231002X'], ['11010519491231002x'], [' 440300199001011238 '], ['110101199003077774']])(
    'accepts %s',
    (id) => {
      expect(idNumberProblem('resident', id)).toBeUndefined()
    },
  )

  it.each([
    ['wrong check digit', '110105194912310021', 'check character'],
    ['17 characters', '11010519491231002', '18 characters'],
    ['letters inside', '1101051949123A002X', '18 characters'],
    ['February 30th', '110105194902300028', 'birth date'],
    ['year before 1900', '110105189901010029', 'birth date'],
  ])('rejects %s', (_, id, reason) => {
    expect(idNumberProblem('resident', id)?.en).toContain(reason)
  })

  it('every single-digit change of a valid number is caught by the checksum', () => {
    const valid = '440300199001011238'
    for (let i = 0; i < 17; i++) {
      for (let d = 0; d <= 9; d++) {
        const digit = String(d)
        if (valid[i] === digit) continue
        const altered = valid.slice(0, i) + digit + valid.slice(i + 1)
        expect(idNumberProblem('resident', altered), altered).toBeDefined()
      }
    }
  })

  it('checks passports and other documents for shape only', () => {
    expect(idNumberProblem('passport', 'E12345678')).toBeUndefined()
    expect(idNumberProblem('passport', 'E1')).toBeDefined()
    expect(idNumberProblem('passport', 'E 1234567')).toBeDefined()
    expect(idNumberProblem('other', 'H0123456(7)')).toBeUndefined()
    expect(idNumberProblem('other', 'x'.repeat(33))).toBeDefined()
  })
})
