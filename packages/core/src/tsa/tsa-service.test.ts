import type { ParsedTimeStampRequest } from '@yiqian/pki'
import { parseTimeStampResp } from '@yiqian/pki'
import { describe, expect, it } from 'vitest'
import { accuracyOf, isPolicyOid, isTimeSourceAddress, planTimeStamp, timeStampRejection } from './tsa-service.js'

const P1 = '0.4.0.2023.1.1'
const P2 = '1.2.156.112562.7.2'
const request = (over: Partial<ParsedTimeStampRequest> = {}): ParsedTimeStampRequest => ({
  imprint: new Uint8Array(32),
  hashAlgorithm: 'SM3',
  certReq: false,
  extensions: [],
  ...over,
})
const running = { policies: [P1, P2], defaultPolicy: P1, state: 'running' as const }
const units = [
  { id: 'tsa-default', policy: undefined, isDefault: true },
  { id: 'tsa-p2', policy: P2, isDefault: false },
]

describe('planTimeStamp', () => {
  it.each([
    [
      'no policy: the default policy, the default unit',
      request(),
      running,
      units,
      { policy: P1, unitId: 'tsa-default' },
    ],
    ['the default policy named', request({ policy: P1 }), running, units, { policy: P1, unitId: 'tsa-default' }],
    ['a policy with its own unit', request({ policy: P2 }), running, units, { policy: P2, unitId: 'tsa-p2' }],
    [
      'a configured policy without a unit of its own',
      request({ policy: P2 }),
      running,
      units.slice(0, 1),
      {
        policy: P2,
        unitId: 'tsa-default',
      },
    ],
  ] as const)('grants %s', (_, req, settings, list, expected) => {
    expect(planTimeStamp(req, settings, list)).toEqual({ ok: true, ...expected })
  })

  it.each([
    ['an extension', request({ extensions: ['1.2.3'] }), running, units, 'unacceptedExtension'],
    ['a policy not configured', request({ policy: '1.2.3.4' }), running, units, 'unacceptedPolicy'],
    ['while stopped', request(), { ...running, state: 'stopped' as const }, units, 'timeNotAvailable'],
    ['without a default unit', request(), running, [units[1] as (typeof units)[1]], 'systemFailure'],
    ['without any unit', request(), running, [], 'systemFailure'],
  ] as const)('refuses %s', (_, req, settings, list, failure) => {
    expect(planTimeStamp(req, settings, list)).toEqual({ ok: false, failure })
  })
})

describe('accuracyOf', () => {
  it.each([
    [0, { millis: 501 }],
    [20, { millis: 520 }],
    [499.2, { seconds: 1 }],
    [1500, { seconds: 2 }],
    [12_345, { seconds: 12, millis: 845 }],
  ])('%s ms error bound, plus 500 ms for rounding to whole seconds → %o', (ms, expected) => {
    expect(accuracyOf(ms)).toEqual(expected)
  })
})

describe('isTimeSourceAddress', () => {
  it.each(['ntp.ntsc.ac.cn', 'ntp.ntsc.ac.cn:123', '10.0.0.1', '10.0.0.1:1123', '[2001:db8::1]', '[::1]:123', 'time'])(
    'accepts %s',
    (address) => expect(isTimeSourceAddress(address)).toBe(true),
  )
  it.each([
    '',
    'ntp..cn',
    '-ntp.cn',
    'ntp.cn:0',
    'ntp.cn:65536',
    'ntp.cn:',
    '999.1.1.1',
    '1.2.3',
    '::1',
    '[ntp.cn]:123',
    'a b',
    'ntp.cn/x',
    `${'a'.repeat(64)}.cn`,
  ])('refuses %s', (address) => expect(isTimeSourceAddress(address)).toBe(false))
})

describe('isPolicyOid', () => {
  it.each([
    [P1, true],
    [P2, true],
    ['1', false],
    ['3.1', false],
    ['1.02', false],
    ['1.2.', false],
    ['1.2.3456789012', false],
  ])('%s → %s', (oid, ok) => expect(isPolicyOid(oid)).toBe(ok))
})

describe('rejection', () => {
  it('is a TimeStampResp with status rejection, the failure bit and a bilingual statusString', () => {
    const resp = parseTimeStampResp(timeStampRejection('unacceptedPolicy', '不接受 / not accepted'))
    expect(resp).toEqual({
      status: 'rejection',
      failInfo: ['unacceptedPolicy'],
      statusStrings: ['不接受 / not accepted'],
    })
  })
})
