import { describe, expect, it } from 'vitest'
import {
  APP_ID_PATTERN,
  assertWithinScope,
  checkCode,
  checkFingerprint,
  checkIpAllowList,
  checkName,
  checkRateLimit,
  checkScope,
  generateAppId,
  generateSecret,
  normaliseFingerprint,
} from './client-system.js'

const system = (departmentIds: string[], documentTypes: string[]) => ({
  id: 'cs-1',
  appId: 'ys_abcdefghijklmnop',
  scope: { departmentIds, documentTypes },
})

describe('client-system scope', () => {
  it.each([
    ['listed department and type', ['d1', 'd2'], ['emr.note'], 'd2', 'emr.note'],
    ['any department', ['*'], ['emr.note'], 'd9', 'emr.note'],
    ['any type', ['d1'], ['*'], 'd1', 'lab.report'],
  ])('allows %s', (_, departments, types, departmentId, documentType) => {
    expect(() => assertWithinScope(system(departments, types), { departmentId, documentType })).not.toThrow()
  })

  it.each([
    ['another department', ['d1'], ['*'], 'd2', 'x', 'departmentId'],
    ['another type', ['*'], ['emr.note'], 'd1', 'lab.report', 'documentType'],
    ['an empty department scope (nothing granted yet)', [], ['*'], 'd1', 'x', 'departmentId'],
    ['an empty type scope', ['*'], [], 'd1', 'x', 'documentType'],
  ])('refuses %s', (_, departments, types, departmentId, documentType, field) => {
    expect(() => assertWithinScope(system(departments, types), { departmentId, documentType })).toThrowError(
      expect.objectContaining({ code: 'CLIENT_SYSTEM_OUT_OF_SCOPE', details: expect.objectContaining({ field }) }),
    )
  })
})

describe('client-certificate fingerprints', () => {
  it.each([
    ['AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01', 'abcdef0123456789abcdef0123456789abcdef01'],
    [` ${'A1'.repeat(32)} `, 'a1'.repeat(32)],
    ['a1'.repeat(32), 'a1'.repeat(32)],
    ['a1'.repeat(31), undefined],
    ['a1'.repeat(33), undefined],
    ['g1'.repeat(32), undefined],
    [undefined, undefined],
  ])('normalises %j to %j', (given, expected) => {
    expect(normaliseFingerprint(given)).toBe(expected)
  })

  it('treats null and blank as no pin', () => {
    expect(checkFingerprint(null)).toBeUndefined()
    expect(checkFingerprint('  ')).toBeUndefined()
  })
})

describe('client-system fields', () => {
  it('generates app ids and secrets of the documented shape, different every time', () => {
    const ids = new Set(Array.from({ length: 50 }, generateAppId))
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(APP_ID_PATTERN)
    const secret = generateSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32)
    expect(generateSecret()).not.toBe(secret)
  })

  it('normalises what it accepts', () => {
    expect(checkCode('his-icu_2')).toBe('HIS-ICU_2')
    expect(checkName('  住院医生工作站 ')).toBe('住院医生工作站')
    expect(checkIpAllowList([' 10.0.0.0/8', '10.0.0.0/8', '2001:DB8::/32'])).toEqual(['10.0.0.0/8', '2001:db8::/32'])
    expect(checkScope({ departmentIds: ['d1', 'd1'], documentTypes: ['*'] })).toEqual({
      departmentIds: ['d1'],
      documentTypes: ['*'],
    })
  })

  it.each([
    ['code', () => checkCode(''), 'code'],
    ['code', () => checkCode('-his'), 'code'],
    ['code', () => checkCode('H'.repeat(33)), 'code'],
    ['code', () => checkCode('his lis'), 'code'],
    ['name', () => checkName('   '), 'name'],
    ['name', () => checkName('名'.repeat(65)), 'name'],
    ['name', () => checkName('a\u0007b'), 'name'],
    ['ipAllowList', () => checkIpAllowList(['10.0.0.0/8', '10.0.0.1/8']), 'ipAllowList[1]'],
    ['ipAllowList', () => checkIpAllowList(Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`)), 'ipAllowList'],
    ['fingerprint', () => checkFingerprint('ab'.repeat(31)), 'certificateFingerprint'],
    ['fingerprint', () => checkFingerprint('zz'.repeat(32)), 'certificateFingerprint'],
    ['rate', () => checkRateLimit(0), 'rateLimitPerMinute'],
    ['rate', () => checkRateLimit(1.5), 'rateLimitPerMinute'],
    ['rate', () => checkRateLimit(100_001), 'rateLimitPerMinute'],
    ['scope', () => checkScope({ departmentIds: ['*', 'd1'], documentTypes: [] }), 'scope.departmentIds'],
    ['scope', () => checkScope({ departmentIds: [' d1'], documentTypes: [] }), 'scope.departmentIds[0]'],
    ['scope', () => checkScope({ departmentIds: [], documentTypes: ['x'.repeat(65)] }), 'scope.documentTypes[0]'],
  ])('refuses a bad %s naming the field %s', (_, fn, field) => {
    expect(fn).toThrowError(
      expect.objectContaining({ code: 'CLIENT_SYSTEM_FIELD_INVALID', details: expect.objectContaining({ field }) }),
    )
  })
})
