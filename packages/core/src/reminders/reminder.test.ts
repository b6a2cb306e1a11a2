import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { checkDaysBefore, checkWebhookUrl } from './policy.js'
import { nextAttemptAfter, REMINDER_LIMITS, reminderThreshold, reminderWindows } from './reminder.js'

const T0 = new Date('2026-11-28T08:00:00.000Z')
const inDays = (days: number) => new Date(T0.getTime() + days * 86_400_000)

function fieldOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    if (isDomainError(error, 'INVALID_INPUT')) return error.details.field
    throw error
  }
  throw new Error('expected INVALID_INPUT')
}

describe('reminderThreshold: the smallest threshold crossed', () => {
  it.each([
    ['40 days left', 40, undefined],
    ['exactly 30 days left', 30, 30],
    ['29.5 days left', 29.5, 30],
    ['7 days left', 7, 7],
    ['3 days left', 3, 7],
    ['half a day left', 0.5, 1],
    ['expired', 0, undefined],
    ['long expired', -3, undefined],
  ] as const)('%s → %s', (_, days, expected) => {
    expect(reminderThreshold(inDays(days), T0, [30, 7, 1])).toBe(expected)
  })

  it('gives nothing when reminders are off', () => {
    expect(reminderThreshold(inDays(1), T0, [])).toBeUndefined()
  })
})

describe('reminderWindows', () => {
  it('covers (now, 1 d], (1 d, 7 d], (7 d, 30 d] so that each certificate falls in one window', () => {
    expect(reminderWindows([30, 7, 1], T0)).toEqual([
      { daysBefore: 1, after: T0, until: inDays(1) },
      { daysBefore: 7, after: inDays(1), until: inDays(7) },
      { daysBefore: 30, after: inDays(7), until: inDays(30) },
    ])
  })

  it('agrees with reminderThreshold for every certificate it places', () => {
    const days = [60, 14, 3]
    const windows = reminderWindows(days, T0)
    for (const left of [0.1, 1, 3, 3.01, 10, 14, 30, 59.9, 60]) {
      const notAfter = inDays(left)
      const window = windows.find((w) => notAfter > w.after && notAfter <= w.until)
      expect(window?.daysBefore).toBe(reminderThreshold(notAfter, T0, days))
    }
  })
})

describe('nextAttemptAfter: back-off, then give up', () => {
  it('waits 10, 30, 90, 270 minutes and gives up after the fifth attempt', () => {
    const waits = [1, 2, 3, 4].map((n) => ((nextAttemptAfter(n, T0)?.getTime() ?? 0) - T0.getTime()) / 60_000)
    expect(waits).toEqual([10, 30, 90, 270])
    expect(nextAttemptAfter(REMINDER_LIMITS.attempts, T0)).toBeUndefined()
  })
})

describe('policy input', () => {
  it('keeps whole days 1–365, at most five, largest first', () => {
    expect(checkDaysBefore([1, 30, 7])).toEqual([30, 7, 1])
    expect(checkDaysBefore([])).toEqual([])
    expect(checkDaysBefore([365, 1])).toEqual([365, 1])
  })

  it.each([
    ['not an array', '30'],
    ['six thresholds', [1, 2, 3, 4, 5, 6]],
    ['zero', [0]],
    ['366', [366]],
    ['a fraction', [1.5]],
    ['a string', ['7']],
    ['a repeat', [7, 7]],
  ])('refuses %s, naming daysBefore', (_, value) => {
    expect(fieldOf(() => checkDaysBefore(value))).toBe('daysBefore')
  })

  it('accepts http and https webhook URLs', () => {
    expect(checkWebhookUrl('https://his.hospital.local/hooks/yiqian')).toBe('https://his.hospital.local/hooks/yiqian')
    expect(checkWebhookUrl('http://10.0.0.8:8080/cb')).toBe('http://10.0.0.8:8080/cb')
  })

  it.each([
    ['ftp', 'ftp://his.hospital.local/x'],
    ['javascript', 'javascript:alert(1)'],
    ['not a URL', 'his.hospital.local/x'],
    ['credentials', 'https://user:pw@his.hospital.local/x'],
    ['too long', `https://his.hospital.local/${'a'.repeat(500)}`],
    ['empty', ''],
  ])('refuses a %s webhook URL, naming webhook.url', (_, value) => {
    expect(fieldOf(() => checkWebhookUrl(value))).toBe('webhook.url')
  })
})
