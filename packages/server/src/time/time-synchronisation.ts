/**
 * The TSA's trusted time: polls the configured SNTP sources (typically GPS or BeiDou receivers on the hospital
 * network) in parallel, feeds their answers to the pure time selection of @yiqian/core, and answers `read()` from
 * the last selection without I/O. It fails closed: until a majority of the sources agrees within the tolerance,
 * and again as soon as that agreement is older than the hold-over, `read()` refuses.
 *
 * It writes no logs or audit rows itself: it reports events to `onEvent`, and the TSA service records them.
 */

import {
  type Clock,
  type SampleDecision,
  selectTime,
  systemClock,
  TIME_SELECTION_DEFAULTS,
  type TimeSample,
  type TimeSelection,
  type TimeSourceStatus,
  type TimeSyncProblem,
  type TimeSyncState,
  type TimeSyncStatus,
  type TrustedInstant,
  type TrustedTime,
} from '@yiqian/core'
import { querySntp, SNTP_STOP_CODES, SntpError, type SntpSample } from './sntp.js'

export interface TimeSource {
  readonly id: string
  /** host, host:port, [IPv6]:port (UDP, default port 123). */
  readonly address: string
}

export interface TimeSynchronisationConfig {
  readonly pollIntervalMs: number
  /** Largest accepted |offset| between the local clock and the agreed time, ms. */
  readonly toleranceMs: number
  /** How long the last agreement stays valid without new answers, ms. */
  readonly holdoverMs: number
  /** Per query; default half the poll interval, at most 1000 ms. */
  readonly timeoutMs: number
  /** Sources that must agree; default a majority of those configured. */
  readonly minSources?: number | undefined
}

export type TimeQuery = (address: string, options: { timeoutMs: number; clock: Clock }) => Promise<SntpSample>

export type TimeSyncEvent =
  /** A poll ended with the time synchronised (one per poll). */
  | { readonly type: 'synchronised'; readonly status: TimeSyncStatus }
  /** The state or, while unsynchronised, the problem changed. */
  | {
      readonly type: 'state-changed'
      readonly from: TimeSyncState
      readonly to: TimeSyncState
      readonly problem?: TimeSyncProblem | undefined
      readonly previousProblem?: TimeSyncProblem | undefined
      readonly status: TimeSyncStatus
    }
  /** The agreed offset moved by more than half the tolerance between two polls (the local clock or the sources stepped). */
  | {
      readonly type: 'large-step'
      readonly offsetMs: number
      readonly previousOffsetMs: number
      readonly stepMs: number
    }
  /** A source stopped answering (reported once, until it answers again). */
  | {
      readonly type: 'source-unreachable'
      readonly sourceId: string
      readonly address: string
      readonly reason: string
      /** DENY/RSTR: the source is no longer polled until the sources are set again. */
      readonly kissCode?: string | undefined
    }

export interface TimeSynchronisationOptions extends Omit<TimeSynchronisationConfig, 'timeoutMs'> {
  readonly sources: readonly TimeSource[]
  readonly timeoutMs?: number | undefined
  readonly clock?: Clock | undefined
  /** Default: `querySntp` over UDP. */
  readonly query?: TimeQuery | undefined
  /** Called synchronously; it must not throw (errors are swallowed so that polling goes on). */
  readonly onEvent?: ((event: TimeSyncEvent) => void) | undefined
}

export interface TimeSynchronisation {
  readonly trustedTime: TrustedTime
  /** Replaces the sources (a reconfiguration: sources refused by kiss-o'-death are polled again). */
  setSources(sources: readonly TimeSource[]): void
  setConfig(config: Partial<TimeSynchronisationConfig>): void
  /** Polls every source now (joins a poll already running) and returns the resulting status. */
  pollNow(): Promise<TimeSyncStatus>
  /** Polls now and then every poll interval (the timer does not keep the process alive). */
  start(): void
  /** Stops polling; `read()` refuses with 'stopped' until `start()`. */
  stop(): void
}

interface SourceState {
  readonly source: TimeSource
  sample?: SntpSample | undefined
  reachable: boolean
  polled: boolean
  lastError?: string | undefined
  /** DENY/RSTR kiss code: not polled until reconfigured. */
  deniedBy?: string | undefined
  unreachableReported: boolean
}

export function createTimeSynchronisation(options: TimeSynchronisationOptions): TimeSynchronisation {
  const clock = options.clock ?? systemClock
  const query: TimeQuery = options.query ?? ((address, queryOptions) => querySntp(address, queryOptions))
  const onEvent = options.onEvent
  let config = checkedConfig({
    pollIntervalMs: options.pollIntervalMs,
    toleranceMs: options.toleranceMs,
    holdoverMs: options.holdoverMs,
    timeoutMs: options.timeoutMs ?? defaultTimeout(options.pollIntervalMs),
    minSources: options.minSources,
  })
  let sources = checkedSources(options.sources).map(freshSourceState)
  let history: readonly number[] = []
  let selection: TimeSelection | undefined
  let selectedAt = clock.now()
  let previousPollOffset: number | undefined
  let lastSyncAt: Date | undefined
  let phase: 'starting' | 'running' | 'stopped' = 'starting'
  let current: TimeSyncStatus = buildStatus()
  let inFlight: Promise<TimeSyncStatus> | undefined
  let timer: NodeJS.Timeout | undefined

  function emit(event: TimeSyncEvent): void {
    try {
      onEvent?.(event)
    } catch {
      // The subscriber owns its failures; polling and the fail-closed state must not depend on them.
    }
  }

  function buildStatus(): TimeSyncStatus {
    const decisions = new Map<string, SampleDecision>((selection?.decisions ?? []).map((d) => [d.sourceId, d]))
    const problem: TimeSyncProblem | undefined =
      phase === 'stopped' ? 'stopped' : selection === undefined ? 'starting' : selection.problem
    return {
      state: problem === undefined ? 'synchronised' : 'unsynchronised',
      problem,
      offsetMs: selection?.offsetMs ?? 0,
      jitterMs: selection?.jitterMs ?? 0,
      errorMs: selection?.errorMs ?? 0,
      // Kept after the agreement is lost: when the time was last trusted is what an operator needs to see.
      lastSyncAt: selection?.synchronised ? selection.lastSyncAt : lastSyncAt,
      toleranceMs: config.toleranceMs,
      holdoverMs: config.holdoverMs,
      sources: sources.map((s) => sourceStatus(s, decisions.get(s.source.id))),
    }
  }

  /** Runs the selection on what is known now; `fromPoll` records jitter history and step detection. */
  function evaluate(fromPoll: boolean): TimeSyncStatus {
    const now = clock.now()
    if (fromPoll || selection !== undefined || sources.length === 0) {
      selection = selectTime({
        samples: sources.flatMap((s) => (s.sample ? [timeSample(s.source.id, s.sample)] : [])),
        sourceCount: sources.length,
        config,
        now,
        history,
      })
      selectedAt = now
      if (selection.synchronised) lastSyncAt = selection.lastSyncAt
    }
    if (fromPoll && selection) {
      if (selection.offsetMs !== undefined) {
        history = selection.history
        if (previousPollOffset !== undefined) {
          const stepMs = selection.offsetMs - previousPollOffset
          if (Math.abs(stepMs) > config.toleranceMs / 2) {
            emit({ type: 'large-step', offsetMs: selection.offsetMs, previousOffsetMs: previousPollOffset, stepMs })
          }
        }
        previousPollOffset = selection.offsetMs
      }
    }
    const previous = current
    current = buildStatus()
    if (previous.state !== current.state || previous.problem !== current.problem) {
      emit({
        type: 'state-changed',
        from: previous.state,
        to: current.state,
        problem: current.problem,
        previousProblem: previous.problem,
        status: current,
      })
    }
    if (fromPoll && current.state === 'synchronised') emit({ type: 'synchronised', status: current })
    return current
  }

  async function pollOnce(): Promise<TimeSyncStatus> {
    const polled = sources.filter((s) => s.deniedBy === undefined)
    const outcomes = await Promise.allSettled(
      polled.map(async (s) => query(s.source.address, { timeoutMs: config.timeoutMs, clock })),
    )
    polled.forEach((state, i) => {
      // The sources may have been replaced while the queries ran: only record answers for the current ones.
      if (!sources.includes(state)) return
      const outcome = outcomes[i] as PromiseSettledResult<SntpSample>
      state.polled = true
      if (outcome.status === 'fulfilled') {
        state.sample = outcome.value
        state.reachable = true
        state.lastError = undefined
        state.unreachableReported = false
        return
      }
      const error = outcome.reason
      const kissCode = error instanceof SntpError ? error.kissCode : undefined
      state.reachable = false
      state.lastError = error instanceof SntpError ? `${error.code}: ${error.message}` : String(error)
      if (kissCode !== undefined && SNTP_STOP_CODES.includes(kissCode)) {
        state.deniedBy = kissCode
        state.sample = undefined
      }
      if (!state.unreachableReported) {
        state.unreachableReported = true
        emit({
          type: 'source-unreachable',
          sourceId: state.source.id,
          address: state.source.address,
          reason: state.lastError,
          kissCode,
        })
      }
    })
    if (phase === 'starting') phase = 'running'
    return evaluate(true)
  }

  function pollNow(): Promise<TimeSyncStatus> {
    inFlight ??= pollOnce().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }

  function schedule(): void {
    if (timer) clearInterval(timer)
    // pollOnce settles every query itself, so a rejection here would be a bug in the selection: the state then
    // stays as it was and read() still checks the hold-over against the clock, so the time cannot outlive it.
    timer = setInterval(() => pollNow().catch(() => undefined), config.pollIntervalMs)
    timer.unref()
  }

  const trustedTime: TrustedTime = {
    read(): TrustedInstant {
      if (current.state !== 'synchronised' || selection?.offsetMs === undefined) {
        return { ok: false, problem: current.problem ?? 'starting' }
      }
      const now = clock.now()
      // Between polls: the agreement may have outlived the hold-over (sources silent, or the poller stuck).
      if (selection.validUntil && now.getTime() > selection.validUntil.getTime()) {
        const status = evaluate(false)
        if (status.state !== 'synchronised') return { ok: false, problem: status.problem ?? 'holdover-expired' }
        return trustedTime.read()
      }
      const phi = (config.maxDriftPpm ?? TIME_SELECTION_DEFAULTS.maxDriftPpm) / 1e6
      const driftMs = phi * Math.max(0, now.getTime() - selectedAt.getTime())
      return {
        ok: true,
        time: new Date(now.getTime() + Math.round(selection.offsetMs)),
        accuracyMs: Math.ceil(selection.errorMs + driftMs),
      }
    },
    status: () => current,
  }

  return {
    trustedTime,
    setSources(list) {
      const checked = checkedSources(list)
      sources = checked.map((source) => {
        const kept = sources.find((s) => s.source.id === source.id && s.source.address === source.address)
        return kept ? { ...kept, source, deniedBy: undefined } : freshSourceState(source)
      })
      evaluate(false)
      if (phase === 'running' && timer) pollNow().catch(() => undefined)
    },
    setConfig(partial) {
      const next = { ...config, ...partial }
      if (partial.pollIntervalMs !== undefined && partial.timeoutMs === undefined && options.timeoutMs === undefined) {
        next.timeoutMs = defaultTimeout(partial.pollIntervalMs)
      }
      config = checkedConfig(next)
      evaluate(false)
      if (timer) schedule()
    },
    pollNow,
    start() {
      if (timer) return
      if (phase === 'stopped') {
        phase = selection === undefined ? 'starting' : 'running'
        evaluate(false)
      }
      schedule()
      pollNow().catch(() => undefined)
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      phase = 'stopped'
      evaluate(false)
    },
  }
}

type InternalConfig = TimeSynchronisationConfig & { maxDriftPpm?: number }

function defaultTimeout(pollIntervalMs: number): number {
  return Math.max(1, Math.min(1000, Math.floor(pollIntervalMs / 2)))
}

function checkedConfig(config: InternalConfig): InternalConfig {
  for (const key of ['pollIntervalMs', 'toleranceMs', 'holdoverMs', 'timeoutMs'] as const) {
    const value = config[key]
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`time synchronisation: ${key} must be > 0`)
  }
  if (config.minSources !== undefined && (!Number.isInteger(config.minSources) || config.minSources < 1)) {
    throw new RangeError('time synchronisation: minSources must be a positive integer')
  }
  return config
}

function checkedSources(list: readonly TimeSource[]): readonly TimeSource[] {
  const ids = new Set<string>()
  for (const source of list) {
    if (!source.id || !source.address) throw new RangeError('time synchronisation: a source needs an id and an address')
    if (ids.has(source.id)) throw new RangeError(`time synchronisation: duplicate source id "${source.id}"`)
    ids.add(source.id)
  }
  return [...list]
}

function freshSourceState(source: TimeSource): SourceState {
  return { source, reachable: false, polled: false, unreachableReported: false }
}

function timeSample(sourceId: string, sample: SntpSample): TimeSample {
  return {
    sourceId,
    offsetMs: sample.offsetMs,
    delayMs: sample.delayMs,
    dispersionMs: sample.dispersionMs,
    stratum: sample.stratum,
    leap: sample.leap,
    receivedAt: sample.receivedAt,
  }
}

const REJECTION_TEXT: Record<NonNullable<SampleDecision['rejection']>, string> = {
  stale: 'no answer within the hold-over',
  falseticker: 'outlier: disagrees with the majority',
  unsynchronised: 'source not synchronised (leap indicator 3)',
  'bad-stratum': 'unusable stratum',
  invalid: 'invalid measurement',
}

function sourceStatus(state: SourceState, decision: SampleDecision | undefined): TimeSourceStatus {
  const { source, sample } = state
  const rejectedReason = state.deniedBy
    ? `kiss-o'-death ${state.deniedBy}: not polled until reconfigured`
    : decision?.rejection
      ? REJECTION_TEXT[decision.rejection]
      : decision?.selected
        ? undefined
        : !state.polled
          ? 'not polled yet'
          : (state.lastError ?? 'no usable answer')
  return {
    id: source.id,
    address: source.address,
    reachable: state.reachable,
    lastOffsetMs: sample?.offsetMs,
    lastDelayMs: sample?.delayMs,
    stratum: sample?.stratum,
    lastResponseAt: sample?.receivedAt,
    selected: decision?.selected ?? false,
    rejectedReason,
  }
}
