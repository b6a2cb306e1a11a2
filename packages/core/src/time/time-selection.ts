/**
 * Which time to trust, given the last answer of each configured time source: a pure function (no I/O, no timers),
 * so the poller in the server and the tests share exactly the same decision.
 *
 * The steps follow RFC 5905 §11.2.1 in spirit: drop unusable answers, keep the sources whose correctness intervals
 * (offset ± root distance) share a common region with the most others (Marzullo's algorithm), combine the
 * survivors, and only then judge the local clock against the tolerance. A majority of the *configured* sources
 * must survive: one lying receiver among three is outvoted, but two receivers that lie in the same way form the
 * majority and win (no algorithm can tell them from the truth; configure independent sources).
 */

import type { TimeSyncProblem } from './trusted-time.js'

/** One answer of one source, as measured by the client (RFC 5905 §8). */
export interface TimeSample {
  readonly sourceId: string
  /** Source time minus local time, ms (θ). */
  readonly offsetMs: number
  /** Round-trip delay, ms (δ). */
  readonly delayMs: number
  /** Error the source itself declares (root delay / 2 + root dispersion), ms; 0 when unknown. */
  readonly dispersionMs?: number | undefined
  readonly stratum: number
  /** Leap indicator: 3 means the source is not synchronised. */
  readonly leap: number
  /** Local time at which the answer arrived. */
  readonly receivedAt: Date
}

export interface TimeSelectionConfig {
  /** Largest accepted |agreed offset|, ms. */
  readonly toleranceMs: number
  /** How long an answer stays usable, ms. */
  readonly holdoverMs: number
  /** Sources that must agree; default: a majority of the configured sources (at least 1). */
  readonly minSources?: number | undefined
  /** Floor of each correctness interval's half-width, ms (RFC 5905 MINDISP); default 5. */
  readonly minDistanceMs?: number | undefined
  /** Assumed worst drift of the local clock, parts per million (RFC 5905 PHI); default 15. */
  readonly maxDriftPpm?: number | undefined
}

export const TIME_SELECTION_DEFAULTS = {
  minDistanceMs: 5,
  maxDriftPpm: 15,
  /** Combined offsets kept to compute the jitter. */
  jitterHistory: 8,
  /** Smallest error bound ever claimed, ms. */
  minErrorMs: 1,
} as const

/** Why a sample did not count. */
export type SampleRejection = 'unsynchronised' | 'bad-stratum' | 'stale' | 'falseticker' | 'invalid'

export interface SampleDecision {
  readonly sourceId: string
  readonly selected: boolean
  readonly rejection?: SampleRejection | undefined
}

export interface TimeSelection {
  readonly synchronised: boolean
  readonly problem?: Exclude<TimeSyncProblem, 'starting' | 'stopped'> | undefined
  /** The agreed offset, ms; present whenever enough sources agree (even if beyond tolerance). */
  readonly offsetMs?: number | undefined
  /** Bound on the error of local time + offsetMs at `now`, ms (at least 1). */
  readonly errorMs: number
  /** RMS of successive combined offsets, ms. */
  readonly jitterMs: number
  /** receivedAt of the newest surviving sample. */
  readonly lastSyncAt?: Date | undefined
  /**
   * The instant at which, without new answers, too few survivors stay within hold-over (the minSources-th newest
   * survivor expires). Lets a reader notice hold-over expiry between polls without running the selection again.
   */
  readonly validUntil?: Date | undefined
  readonly minSources: number
  readonly decisions: readonly SampleDecision[]
  /** Combined offsets, newest last, to pass back as `history` on the next selection. */
  readonly history: readonly number[]
}

export interface TimeSelectionInput {
  /** At most one (the latest) sample per source. */
  readonly samples: readonly TimeSample[]
  /** Number of configured sources (the majority is counted against them, not against those that answered). */
  readonly sourceCount: number
  readonly config: TimeSelectionConfig
  readonly now: Date
  /** `history` of the previous selection. */
  readonly history?: readonly number[] | undefined
}

/** A majority of `sourceCount` configured sources, at least 1. */
export function majorityOf(sourceCount: number): number {
  return Math.max(1, Math.floor(sourceCount / 2) + 1)
}

interface Candidate {
  readonly sample: TimeSample
  /** Root distance: half-width of the correctness interval, ms. */
  readonly distanceMs: number
}

export function selectTime(input: TimeSelectionInput): TimeSelection {
  const { samples, sourceCount, config, now } = input
  const minDistanceMs = config.minDistanceMs ?? TIME_SELECTION_DEFAULTS.minDistanceMs
  const phi = (config.maxDriftPpm ?? TIME_SELECTION_DEFAULTS.maxDriftPpm) / 1e6
  const minSources = config.minSources ?? majorityOf(sourceCount)
  const previous = input.history ?? []
  const decisions = new Map<string, SampleDecision>()
  const reject = (sourceId: string, rejection: SampleRejection) =>
    decisions.set(sourceId, { sourceId, selected: false, rejection })

  const usable: Candidate[] = []
  let fresh = 0
  for (const sample of samples) {
    const ageMs = now.getTime() - sample.receivedAt.getTime()
    if (ageMs > config.holdoverMs) {
      reject(sample.sourceId, 'stale')
      continue
    }
    fresh += 1
    if (!Number.isFinite(sample.offsetMs) || !Number.isFinite(sample.delayMs) || sample.delayMs < 0) {
      reject(sample.sourceId, 'invalid')
    } else if (sample.leap === 3) {
      reject(sample.sourceId, 'unsynchronised')
    } else if (sample.stratum < 1 || sample.stratum > 15) {
      reject(sample.sourceId, 'bad-stratum')
    } else {
      // The interval widens as the answer ages: the local clock may have drifted since (RFC 5905 §9.1).
      const distanceMs =
        Math.max(minDistanceMs, sample.delayMs / 2 + (sample.dispersionMs ?? 0)) + phi * Math.max(0, ageMs)
      usable.push({ sample, distanceMs })
    }
  }

  const unsynchronised = (problem: NonNullable<TimeSelection['problem']>, extra: Partial<TimeSelection> = {}) => ({
    synchronised: false,
    problem,
    errorMs: 0,
    jitterMs: jitterOf(previous),
    minSources,
    decisions: [...decisions.values()],
    history: previous,
    ...extra,
  })

  if (sourceCount === 0) return unsynchronised('no-sources')
  if (fresh === 0) return unsynchronised('holdover-expired')

  const truechimers = intersect(usable)
  for (const candidate of usable) {
    const { sourceId } = candidate.sample
    if (truechimers.includes(candidate)) decisions.set(sourceId, { sourceId, selected: true })
    else reject(sourceId, 'falseticker')
  }
  if (truechimers.length < minSources) return unsynchronised('no-majority')

  const offsetMs = median(truechimers.map((c) => c.sample.offsetMs))
  const history = [...previous, offsetMs].slice(-TIME_SELECTION_DEFAULTS.jitterHistory)
  const jitterMs = jitterOf(history)
  const residualMs = Math.max(
    ...truechimers.map(
      (c) =>
        Math.abs(c.sample.offsetMs - offsetMs) +
        c.sample.delayMs / 2 +
        phi * Math.max(0, now.getTime() - c.sample.receivedAt.getTime()),
    ),
  )
  const errorMs = Math.max(TIME_SELECTION_DEFAULTS.minErrorMs, residualMs + jitterMs)
  const received = truechimers.map((c) => c.sample.receivedAt.getTime()).sort((a, b) => b - a)
  const lastSyncAt = new Date(received[0] as number)
  const validUntil = new Date((received[minSources - 1] as number) + config.holdoverMs)
  const agreed = { offsetMs, errorMs, jitterMs, lastSyncAt, validUntil, history }
  if (Math.abs(offsetMs) > config.toleranceMs) return unsynchronised('offset-exceeds-tolerance', agreed)
  return { synchronised: true, minSources, decisions: [...decisions.values()], ...agreed }
}

/**
 * Marzullo's algorithm: sweep the correctness intervals to find the region covered by the most of them; the
 * truechimers are the candidates whose interval covers it. Two different regions with the same best cover mean the
 * sources split into camps that cannot be told apart: nobody is chosen (fail closed). RFC 5905 §11.2.1 adds a rule
 * that truechimers' midpoints must also fall inside the intersection; it is left out here because on a fast network
 * the intervals are a few ms wide, and an asymmetric delay then puts an honest source's midpoint just outside
 * another honest interval.
 */
function intersect(candidates: readonly Candidate[]): Candidate[] {
  // At equal values starts sort before ends, so intervals that touch count as overlapping.
  const edges = candidates
    .flatMap((c) => [
      { value: c.sample.offsetMs - c.distanceMs, start: true },
      { value: c.sample.offsetMs + c.distanceMs, start: false },
    ])
    .sort((a, b) => a.value - b.value || (a.start === b.start ? 0 : a.start ? -1 : 1))
  let cover = 0
  let best = 0
  let regions: [number, number][] = []
  edges.forEach((edge, i) => {
    if (!edge.start) {
      cover--
      return
    }
    cover++
    const region: [number, number] = [edge.value, (edges[i + 1] as (typeof edges)[number]).value]
    if (cover > best) {
      best = cover
      regions = [region]
    } else if (cover === best) regions.push(region)
  })
  const [region] = regions
  if (regions.length !== 1 || region === undefined) return []
  const [low, high] = region
  return candidates.filter((c) => c.sample.offsetMs - c.distanceMs <= low && c.sample.offsetMs + c.distanceMs >= high)
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** RMS of the differences between successive values (RFC 5905 §10 computes its jitter the same way). */
function jitterOf(history: readonly number[]): number {
  if (history.length < 2) return 0
  let sum = 0
  for (let i = 1; i < history.length; i++) sum += ((history[i] as number) - (history[i - 1] as number)) ** 2
  return Math.sqrt(sum / (history.length - 1))
}
