import { describe, expect, it } from 'vitest'
import { majorityOf, selectTime, type TimeSample, type TimeSelectionConfig } from './time-selection.js'

const now = new Date('2026-11-28T08:00:00.000Z')
const config: TimeSelectionConfig = { toleranceMs: 1000, holdoverMs: 60_000 }

function sample(sourceId: string, offsetMs: number, overrides: Partial<TimeSample> = {}): TimeSample {
  return {
    sourceId,
    offsetMs,
    delayMs: 2,
    stratum: 1,
    leap: 0,
    receivedAt: new Date(now.getTime() - 500),
    ...overrides,
  }
}

const selectedIds = (samples: readonly TimeSample[], sourceCount = samples.length, c = config) =>
  selectTime({ samples, sourceCount, config: c, now })
    .decisions.filter((d) => d.selected)
    .map((d) => d.sourceId)
    .sort()

describe('selectTime', () => {
  it.each([
    ['three agreeing sources', [sample('a', 10), sample('b', 11), sample('c', 12)], 3, true, undefined],
    ['one liar among three', [sample('a', 10), sample('b', 11), sample('liar', 30_000)], 3, true, undefined],
    [
      'a liar inside the tolerance but outside the others',
      [sample('a', 0), sample('b', 1), sample('c', 400)],
      3,
      true,
      undefined,
    ],
    [
      'two liars agreeing beyond tolerance',
      [sample('a', 0), sample('l1', 5000), sample('l2', 5001)],
      3,
      false,
      'offset-exceeds-tolerance',
    ],
    [
      'all shifted beyond tolerance',
      [sample('a', 5000), sample('b', 5001), sample('c', 5002)],
      3,
      false,
      'offset-exceeds-tolerance',
    ],
    [
      'all shifted to the negative side',
      [sample('a', -5000), sample('b', -5001), sample('c', -5002)],
      3,
      false,
      'offset-exceeds-tolerance',
    ],
    [
      'an honest source whose midpoint an asymmetric delay pushed outside the other honest interval',
      [sample('a', 200, { delayMs: 2 }), sample('b', 186, { delayMs: 30 }), sample('liar', -4015, { delayMs: 30 })],
      3,
      true,
      undefined,
    ],
    [
      'two camps that only a wide interval bridges',
      [sample('wide', 0, { delayMs: 40 }), sample('low', -15), sample('high', 15)],
      3,
      false,
      'no-majority',
    ],
    [
      'three sources that all disagree',
      [sample('a', 0), sample('b', 3000), sample('c', -3000)],
      3,
      false,
      'no-majority',
    ],
    ['one answer out of three configured', [sample('a', 0)], 3, false, 'no-majority'],
    ['two answers out of three configured', [sample('a', 0), sample('b', 1)], 3, true, undefined],
    ['one source configured, answering', [sample('a', 0)], 1, true, undefined],
    [
      'all silent beyond hold-over',
      [sample('a', 0, { receivedAt: new Date(now.getTime() - 61_000) })],
      1,
      false,
      'holdover-expired',
    ],
    ['no sources configured', [], 0, false, 'no-sources'],
    ['configured but never answered', [], 3, false, 'holdover-expired'],
    [
      'two of three answering but unsynchronised (leap 3)',
      [sample('a', 0), sample('b', 0, { leap: 3 }), sample('c', 0, { leap: 3 })],
      3,
      false,
      'no-majority',
    ],
    [
      'kiss-o-death / unsynchronised strata',
      [sample('a', 0), sample('b', 0, { stratum: 0 }), sample('c', 0, { stratum: 16 })],
      3,
      false,
      'no-majority',
    ],
  ] as const)('%s', (_, samples, sourceCount, synchronised, problem) => {
    const selection = selectTime({ samples, sourceCount, config, now })
    expect(selection.synchronised).toBe(synchronised)
    expect(selection.problem).toBe(problem)
  })

  it('outvotes the liar and agrees on the median of the others', () => {
    const samples = [sample('a', 10), sample('b', 14), sample('liar', 30_000)]
    const selection = selectTime({ samples, sourceCount: 3, config, now })
    expect(selectedIds(samples)).toEqual(['a', 'b'])
    expect(selection.decisions.find((d) => d.sourceId === 'liar')).toEqual({
      sourceId: 'liar',
      selected: false,
      rejection: 'falseticker',
    })
    expect(selection.offsetMs).toBe(12)
    // |14 − 12| + 2/2 = 3, plus the (tiny) drift allowance for half a second.
    expect(selection.errorMs).toBeGreaterThanOrEqual(3)
    expect(selection.errorMs).toBeLessThan(3.1)
  })

  it('lets two liars that agree form the majority (documented: configure independent sources)', () => {
    const samples = [sample('honest', 0), sample('l1', 300), sample('l2', 302)]
    const selection = selectTime({ samples, sourceCount: 3, config, now })
    expect(selectedIds(samples)).toEqual(['l1', 'l2'])
    expect(selection.synchronised).toBe(true)
    expect(selection.offsetMs).toBe(301)
  })

  it('gives the reason each unusable sample was dropped', () => {
    const samples = [
      sample('old', 0, { receivedAt: new Date(now.getTime() - 60_001) }),
      sample('leap', 0, { leap: 3 }),
      sample('kiss', 0, { stratum: 0 }),
      sample('nan', Number.NaN),
      sample('ok', 0),
    ]
    const reasons = Object.fromEntries(
      selectTime({ samples, sourceCount: 5, config: { ...config, minSources: 1 }, now }).decisions.map((d) => [
        d.sourceId,
        d.rejection ?? 'selected',
      ]),
    )
    expect(reasons).toEqual({
      old: 'stale',
      leap: 'unsynchronised',
      kiss: 'bad-stratum',
      nan: 'invalid',
      ok: 'selected',
    })
  })

  it('keeps a sample up to the hold-over and says when the majority runs out', () => {
    const samples = [
      sample('a', 0, { receivedAt: new Date(now.getTime() - 50_000) }),
      sample('b', 0, { receivedAt: new Date(now.getTime() - 10_000) }),
      sample('c', 0, { receivedAt: new Date(now.getTime() - 30_000) }),
    ]
    const selection = selectTime({ samples, sourceCount: 3, config, now })
    expect(selection.synchronised).toBe(true)
    expect(selection.lastSyncAt).toEqual(new Date(now.getTime() - 10_000))
    // The second newest (c) expires first among the two that are needed.
    expect(selection.validUntil).toEqual(new Date(now.getTime() - 30_000 + 60_000))
  })

  it('widens the error bound with the age of the answers (local drift)', () => {
    const young = selectTime({ samples: [sample('a', 0)], sourceCount: 1, config, now })
    const old = selectTime({
      samples: [sample('a', 0, { receivedAt: new Date(now.getTime() - 50_000) })],
      sourceCount: 1,
      config,
      now,
    })
    // 15 ppm of 50 s = 0.75 ms more.
    expect(old.errorMs - young.errorMs).toBeCloseTo(0.75 - 0.0075, 3)
  })

  it('tracks jitter as the RMS of successive combined offsets over a bounded history', () => {
    let history: readonly number[] = []
    const offsets = [0, 3, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3]
    let jitterMs = 0
    for (const offset of offsets) {
      const selection = selectTime({ samples: [sample('a', offset)], sourceCount: 1, config, now, history })
      history = selection.history
      jitterMs = selection.jitterMs
    }
    expect(history).toHaveLength(8)
    expect(jitterMs).toBeCloseTo(3, 9)
    const steady = selectTime({ samples: [sample('a', 5)], sourceCount: 1, config, now, history: [5, 5, 5] })
    expect(steady.jitterMs).toBe(0)
    expect(steady.errorMs).toBeCloseTo(1 + 0.0075, 9) // delay 2 → 1 ms, plus 15 ppm of 0.5 s
  })

  it('reports the agreed offset even when it is beyond the tolerance', () => {
    const selection = selectTime({ samples: [sample('a', 2500), sample('b', 2501)], sourceCount: 2, config, now })
    expect(selection).toMatchObject({ synchronised: false, problem: 'offset-exceeds-tolerance' })
    expect(selection.offsetMs).toBe(2500.5)
  })

  it('honours an explicit minSources', () => {
    const samples = [sample('a', 0)]
    expect(selectTime({ samples, sourceCount: 3, config: { ...config, minSources: 1 }, now }).synchronised).toBe(true)
  })

  it.each([
    [0, 1],
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ])('the majority of %i configured sources is %i', (count, majority) => {
    expect(majorityOf(count)).toBe(majority)
  })
})
