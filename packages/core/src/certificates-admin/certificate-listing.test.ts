import { describe, expect, it } from 'vitest'
import type { CertificateState } from '../certificates/lifecycle.js'
import { effectiveStatus } from './certificate-listing.js'
import { labelRow, reportTotals } from './certificate-report.js'

const now = new Date('2026-11-28T08:00:00Z')
const before = new Date('2026-11-27T08:00:00Z')
const after = new Date('2026-11-29T08:00:00Z')

describe('effectiveStatus', () => {
  it.each([
    ['active, valid', 'active', after, 'active'],
    ['active, past notAfter', 'active', before, 'expired'],
    ['active, ending exactly now', 'active', now, 'expired'],
    ['suspended, valid', 'suspended', after, 'suspended'],
    ['suspended, past notAfter', 'suspended', before, 'expired'],
    ['revoked, valid', 'revoked', after, 'revoked'],
    ['revoked, past notAfter (stays revoked: relying parties must still learn it)', 'revoked', before, 'revoked'],
    ['marked expired', 'expired', after, 'expired'],
  ] as const)('%s', (_, status, notAfter, expected) => {
    expect(effectiveStatus({ status: status as CertificateState, notAfter }, now)).toBe(expected)
  })
})

describe('report rows', () => {
  const row = (key: string | null, label: string | null, issued: number) => ({
    key,
    label,
    issued,
    active: issued - 1,
    suspended: 0,
    revoked: 1,
    expired: 0,
    expiringIn30Days: 1,
  })

  it('totals every count column', () => {
    expect(reportTotals([row('a', 'A', 3), row('b', 'B', 5)])).toEqual({
      issued: 8,
      active: 6,
      suspended: 0,
      revoked: 2,
      expired: 0,
      expiringIn30Days: 2,
    })
    expect(reportTotals([])).toEqual({
      issued: 0,
      active: 0,
      suspended: 0,
      revoked: 0,
      expired: 0,
      expiringIn30Days: 0,
    })
  })

  it('labels profiles by name, groups without a key by what they lack, months by themselves', () => {
    expect(labelRow('profile', row('staff-sign', 'staff-sign', 1)).label).not.toBe('staff-sign')
    expect(labelRow('profile', row('custom-x', 'custom-x', 1)).label).toBe('custom-x')
    expect(labelRow('department', row(null, null, 1)).label).toBe('无科室 / no department')
    expect(labelRow('institution', row(null, null, 1)).label).toBe('无机构 / no institution')
    expect(labelRow('month', row('2026-11', null, 1)).label).toBe('2026-11')
    expect(labelRow('department', row('d1', '心内科', 1)).label).toBe('心内科')
  })
})
