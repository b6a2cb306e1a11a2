import type { Clock } from '@yiqian/core'
import { afterEach, describe, expect, it } from 'vitest'
import { SntpError, type SntpSample } from './sntp.js'
import { startTestSntpServer, type TestSntpServer } from './test-sntp-server.js'
import {
  createTimeSynchronisation,
  type TimeQuery,
  type TimeSyncEvent,
  type TimeSynchronisation,
  type TimeSynchronisationOptions,
} from './time-synchronisation.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function servers(...offsets: number[]): Promise<TestSntpServer[]> {
  const started = await Promise.all(offsets.map((offsetMs) => startTestSntpServer({ offsetMs })))
  cleanups.push(() => Promise.all(started.map((s) => s.close())))
  return started
}

function synchronise(
  list: readonly TestSntpServer[],
  options: Partial<TimeSynchronisationOptions> = {},
): { sync: TimeSynchronisation; events: TimeSyncEvent[] } {
  const events: TimeSyncEvent[] = []
  const sync = createTimeSynchronisation({
    sources: list.map((s, i) => ({ id: `gps-${i + 1}`, address: s.address })),
    pollIntervalMs: 150,
    timeoutMs: 100,
    toleranceMs: 500,
    holdoverMs: 2000,
    onEvent: (event) => events.push(event),
    ...options,
  })
  cleanups.push(() => sync.stop())
  return { sync, events }
}

/** Resolves with the first event (already seen or to come) that matches. */
async function eventMatching(
  events: TimeSyncEvent[],
  from: number,
  predicate: (event: TimeSyncEvent) => boolean,
  timeoutMs = 5000,
): Promise<TimeSyncEvent> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = events.slice(from).find(predicate)
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms: ${JSON.stringify(events)}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const becomes = (to: 'synchronised' | 'unsynchronised', problem?: string) => (event: TimeSyncEvent) =>
  event.type === 'state-changed' && event.to === to && (problem === undefined || event.problem === problem)

describe('time synchronisation against test SNTP servers on loopback', () => {
  it('outvotes one lying source among three and reads the agreed time', async () => {
    // The local clock is 2 s behind the two honest receivers; the liar claims 4 s behind.
    const [a, b, liar] = await servers(2000, 2000, -4000)
    const { sync } = synchronise([a!, b!, liar!], { toleranceMs: 3000, timeoutMs: 1000 })
    const status = await sync.pollNow()
    expect(status, JSON.stringify(status)).toMatchObject({ state: 'synchronised', problem: undefined })
    // Within the error bound the selection claims (a few ms on an idle machine).
    expect(Math.abs(status.offsetMs - 2000)).toBeLessThanOrEqual(status.errorMs + 1)
    expect(status.sources.map((s) => [s.id, s.selected, s.rejectedReason])).toEqual([
      ['gps-1', true, undefined],
      ['gps-2', true, undefined],
      ['gps-3', false, 'outlier: disagrees with the majority'],
    ])
    const before = a!.now()
    const instant = sync.trustedTime.read()
    const after = a!.now()
    if (!instant.ok) throw new Error(`not synchronised: ${instant.problem}`)
    // The TSA's time is the receivers' time, not the local clock's, within the accuracy it claims (a few ms on
    // loopback; more only when the machine is so busy that the round trips slow down).
    expect(instant.accuracyMs).toBeGreaterThanOrEqual(1)
    expect(instant.accuracyMs).toBeLessThan(50)
    expect(instant.time.getTime()).toBeGreaterThanOrEqual(Math.floor(before) - instant.accuracyMs)
    expect(instant.time.getTime()).toBeLessThanOrEqual(Math.ceil(after) + instant.accuracyMs)
  })

  it('stops within one poll interval when all sources move beyond the tolerance, and resumes when they agree again', async () => {
    const list = await servers(0, 0, 0)
    const { sync, events } = synchronise(list)
    sync.start()
    await eventMatching(events, 0, (e) => e.type === 'synchronised')
    expect(sync.trustedTime.read().ok).toBe(true)

    let mark = events.length
    let requestsAtChange = list.map((s) => s.requests)
    for (const server of list) server.setOffset(5000)
    const stopped = await eventMatching(events, mark, becomes('unsynchronised', 'offset-exceeds-tolerance'))
    // Caught by the first poll that reached the servers after the change, not a later one.
    list.forEach((s, i) => {
      expect(s.requests - (requestsAtChange[i] as number)).toBeLessThanOrEqual(1)
    })
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'offset-exceeds-tolerance' })
    expect(events.slice(mark).some((e) => e.type === 'large-step' && Math.abs(e.stepMs - 5000) < 10)).toBe(true)
    expect(stopped.type === 'state-changed' && stopped.status.offsetMs).toBeGreaterThan(4990)

    mark = events.length
    requestsAtChange = list.map((s) => s.requests)
    for (const server of list) server.setOffset(0)
    await eventMatching(events, mark, becomes('synchronised'))
    list.forEach((s, i) => {
      expect(s.requests - (requestsAtChange[i] as number)).toBeLessThanOrEqual(1)
    })
    expect(sync.trustedTime.read().ok).toBe(true)
  })

  it('keeps the time through the hold-over when all sources fall silent, then refuses', async () => {
    const list = await servers(0, 0, 0)
    const holdoverMs = 600
    const { sync, events } = synchronise(list, { pollIntervalMs: 100, holdoverMs })
    sync.start()
    await eventMatching(events, 0, (e) => e.type === 'synchronised')
    const mark = events.length
    for (const server of list) server.setSilent(true)
    const lastSyncAt = sync.trustedTime.status().lastSyncAt as Date

    // Each source is reported once as unreachable…
    for (const id of ['gps-1', 'gps-2', 'gps-3']) {
      await eventMatching(events, mark, (e) => e.type === 'source-unreachable' && e.sourceId === id)
    }
    // …but the time stays usable until the hold-over of the last agreement runs out.
    let refusedAt: number | undefined
    let lastOk = 0
    while (refusedAt === undefined && Date.now() < lastSyncAt.getTime() + holdoverMs + 3000) {
      const instant = sync.trustedTime.read()
      if (instant.ok) lastOk = Date.now()
      else {
        expect(instant.problem).toBe('holdover-expired')
        refusedAt = Date.now()
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(refusedAt).toBeDefined()
    // Clock-based, not timer-based: never refused early (and usable for most of the hold-over)…
    expect(refusedAt as number).toBeGreaterThan(lastSyncAt.getTime() + holdoverMs)
    expect(lastOk).toBeGreaterThan(lastSyncAt.getTime() + holdoverMs / 2)
    // …and read() notices the expiry of the last agreement promptly, whatever the poll timer does.
    const finalSyncAt = sync.trustedTime.status().lastSyncAt as Date
    expect((refusedAt as number) - (finalSyncAt.getTime() + holdoverMs)).toBeLessThan(500)
    expect(events.filter((e) => e.type === 'source-unreachable')).toHaveLength(3)

    for (const server of list) server.setSilent(false)
    await eventMatching(events, mark, becomes('synchronised'))
    expect(sync.trustedTime.read().ok).toBe(true)
  })

  it('outvotes a source that drifts away', async () => {
    const list = await servers(0, 0, 0)
    list[2]!.setDrift(200) // 200 ms per second
    const { sync, events } = synchronise(list, { pollIntervalMs: 100 })
    sync.start()
    await eventMatching(events, 0, (e) => e.type === 'synchronised')
    await eventMatching(
      events,
      0,
      (e) =>
        e.type === 'synchronised' && e.status.sources[2]?.rejectedReason === 'outlier: disagrees with the majority',
    )
    const status = sync.trustedTime.status()
    expect(status.state).toBe('synchronised')
    expect(Math.abs(status.offsetMs)).toBeLessThan(5)
  })

  it("stops polling a source that answers kiss-o'-death DENY until the sources are set again", async () => {
    const list = await servers(0, 0, 0)
    list[2]!.setKissCode('DENY')
    const { sync, events } = synchronise(list, { timeoutMs: 1000 })
    const first = await sync.pollNow()
    expect(first.state).toBe('synchronised') // two of three still agree
    expect(first.sources[2]).toMatchObject({
      reachable: false,
      selected: false,
      rejectedReason: "kiss-o'-death DENY: not polled until reconfigured",
    })
    expect(events).toContainEqual(expect.objectContaining({ type: 'source-unreachable', kissCode: 'DENY' }))
    const requests = list[2]!.requests
    await sync.pollNow()
    await sync.pollNow()
    expect(list[2]!.requests).toBe(requests)

    list[2]!.setKissCode(undefined)
    sync.setSources(list.map((s, i) => ({ id: `gps-${i + 1}`, address: s.address })))
    const after = await sync.pollNow()
    expect(list[2]!.requests).toBe(requests + 1)
    expect(after.sources[2]).toMatchObject({ reachable: true, selected: true })
  })

  it('refuses sources that claim to be unsynchronised (leap indicator 3)', async () => {
    const list = await servers(0, 0, 0)
    list[1]!.setLeap(3)
    list[2]!.setLeap(3)
    const { sync } = synchronise(list, { timeoutMs: 1000 })
    const status = await sync.pollNow()
    expect(status).toMatchObject({ state: 'unsynchronised', problem: 'no-majority' })
    expect(status.sources[1]?.rejectedReason).toBe('source not synchronised (leap indicator 3)')
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'no-majority' })
  })
})

describe('time synchronisation with a controlled clock', () => {
  function manualClock(start = Date.parse('2026-11-28T08:00:00Z')): Clock & { advance(ms: number): void } {
    let t = start
    return {
      now: () => new Date(t),
      advance(ms) {
        t += ms
      },
    }
  }

  /** A query answering from a table of offsets per address; an Error value makes it fail. */
  function tableQuery(clock: Clock, answers: Record<string, number | Error>): TimeQuery {
    return async (address) => {
      const answer = answers[address]
      if (answer === undefined || answer instanceof Error) throw answer ?? new SntpError('timeout', 'no answer')
      const sample: SntpSample = {
        offsetMs: answer,
        delayMs: 1,
        dispersionMs: 0,
        stratum: 1,
        leap: 0,
        referenceId: 'BDS',
        receivedAt: clock.now(),
      }
      return sample
    }
  }

  const sources = [
    { id: 'bds-1', address: '10.0.0.1' },
    { id: 'bds-2', address: '10.0.0.2' },
    { id: 'gps-1', address: '10.0.0.3' },
  ]

  it('is starting until the first poll, and refuses', () => {
    const clock = manualClock()
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 10_000,
      clock,
      query: tableQuery(clock, {}),
    })
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'starting' })
    expect(sync.trustedTime.status()).toMatchObject({ state: 'unsynchronised', problem: 'starting' })
  })

  it('notices the hold-over expiring on read(), between polls, and reports it once', async () => {
    const clock = manualClock()
    const events: TimeSyncEvent[] = []
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 10_000,
      clock,
      query: tableQuery(clock, { '10.0.0.1': 40, '10.0.0.2': 42, '10.0.0.3': 41 }),
      onEvent: (e) => events.push(e),
    })
    await sync.pollNow()
    clock.advance(10_000)
    const instant = sync.trustedTime.read()
    expect(instant).toEqual({ ok: true, time: new Date(clock.now().getTime() + 41), accuracyMs: 2 })
    clock.advance(1)
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'holdover-expired' })
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'holdover-expired' })
    const changes = events.filter((e) => e.type === 'state-changed')
    expect(changes.map((e) => e.type === 'state-changed' && [e.from, e.to, e.problem])).toEqual([
      ['unsynchronised', 'synchronised', undefined],
      ['synchronised', 'unsynchronised', 'holdover-expired'],
    ])
  })

  it('keeps the majority while one source is silent, loses it when a second one goes quiet beyond hold-over', async () => {
    const clock = manualClock()
    const answers: Record<string, number | Error> = { '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 0 }
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 5000,
      clock,
      query: tableQuery(clock, answers),
    })
    await sync.pollNow()
    answers['10.0.0.3'] = new SntpError('timeout', 'no answer')
    clock.advance(6000)
    expect((await sync.pollNow()).state).toBe('synchronised')
    answers['10.0.0.2'] = new SntpError('timeout', 'no answer')
    clock.advance(4000)
    // bds-1 answered just now and bds-2's answer is 4 s old: still within hold-over.
    expect((await sync.pollNow()).state).toBe('synchronised')
    expect(sync.trustedTime.read().ok).toBe(true)
    clock.advance(1001)
    // bds-1 alone answers: a majority (2 of 3) is needed.
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'no-majority' })
  })

  it('reports a large step of the agreed offset and then the new state', async () => {
    const clock = manualClock()
    const answers: Record<string, number | Error> = { '10.0.0.1': 10, '10.0.0.2': 10, '10.0.0.3': 10 }
    const events: TimeSyncEvent[] = []
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 5000,
      clock,
      query: tableQuery(clock, answers),
      onEvent: (e) => events.push(e),
    })
    await sync.pollNow()
    for (const address of Object.keys(answers)) answers[address] = 70
    clock.advance(1000)
    await sync.pollNow()
    expect(events.filter((e) => e.type === 'large-step')).toEqual([
      { type: 'large-step', offsetMs: 70, previousOffsetMs: 10, stepMs: 60 },
    ])
    expect(sync.trustedTime.read().ok).toBe(true) // 70 ms is still within the 100 ms tolerance
    expect(events.filter((e) => e.type === 'synchronised')).toHaveLength(2)
  })

  it('applies new sources and configuration at once', async () => {
    const clock = manualClock()
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 5000,
      clock,
      query: tableQuery(clock, { '10.0.0.1': 80, '10.0.0.2': 80, '10.0.0.3': 80 }),
    })
    await sync.pollNow()
    expect(sync.trustedTime.read().ok).toBe(true)
    sync.setConfig({ toleranceMs: 50 })
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'offset-exceeds-tolerance' })
    sync.setConfig({ toleranceMs: 100 })
    expect(sync.trustedTime.read().ok).toBe(true)
    sync.setSources([])
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'no-sources' })
    expect(() => sync.setSources([sources[0]!, sources[0]!])).toThrowError(/duplicate/)
    expect(() => sync.setConfig({ holdoverMs: 0 })).toThrowError(/holdoverMs/)
  })

  it('counts a query that throws at once (e.g. a malformed address) as an unreachable source', async () => {
    const clock = manualClock()
    const events: TimeSyncEvent[] = []
    const answering = tableQuery(clock, { '10.0.0.1': 0, '10.0.0.2': 0 })
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 5000,
      clock,
      query: (address, options) => {
        if (address === '10.0.0.3') throw new SntpError('invalid-address', 'bad address')
        return answering(address, options)
      },
      onEvent: (e) => events.push(e),
    })
    const status = await sync.pollNow()
    expect(status.state).toBe('synchronised')
    expect(status.sources[2]).toMatchObject({ reachable: false, rejectedReason: 'invalid-address: bad address' })
    expect(events).toContainEqual(expect.objectContaining({ type: 'source-unreachable', sourceId: 'gps-1' }))
  })

  it('refuses with "stopped" after stop()', async () => {
    const clock = manualClock()
    const sync = createTimeSynchronisation({
      sources,
      pollIntervalMs: 1000,
      toleranceMs: 100,
      holdoverMs: 5000,
      clock,
      query: tableQuery(clock, { '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 0 }),
    })
    await sync.pollNow()
    sync.stop()
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'stopped' })
    await sync.pollNow()
    expect(sync.trustedTime.read()).toEqual({ ok: false, problem: 'stopped' })
  })
})
