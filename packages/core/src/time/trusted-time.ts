/**
 * The time a timestamp authority may put into a token. It is trusted only while it is synchronised with the
 * configured sources (RFC 5905 / 4330 over UDP); otherwise `read()` refuses and the TSA answers timeNotAvailable.
 */

export type TimeSyncState = 'synchronised' | 'unsynchronised'

/** Why the time is not trusted; stable codes, shown in the console and written to the audit trail. */
export type TimeSyncProblem =
  | 'starting' // no poll has completed yet
  | 'no-sources' // none configured
  | 'no-majority' // the answering sources do not agree (too few survive outlier rejection)
  | 'offset-exceeds-tolerance' // the local clock is further from the agreed time than the tolerance
  | 'holdover-expired' // no usable answer within the hold-over period
  | 'stopped' // synchronisation switched off

export interface TimeSourceStatus {
  readonly id: string
  /** host or host:port (UDP, default 123). */
  readonly address: string
  readonly reachable: boolean
  /** Source time minus local time, ms, from the last answer. */
  readonly lastOffsetMs?: number | undefined
  readonly lastDelayMs?: number | undefined
  readonly stratum?: number | undefined
  readonly lastResponseAt?: Date | undefined
  /** Whether the last selection counted this source. */
  readonly selected: boolean
  /** Why it was not counted (unreachable, outlier, kiss-o'-death, unsynchronised leap indicator, …). */
  readonly rejectedReason?: string | undefined
}

export interface TimeSyncStatus {
  readonly state: TimeSyncState
  readonly problem?: TimeSyncProblem | undefined
  /** The agreed offset of the sources from the local clock, ms (positive: the local clock is behind). */
  readonly offsetMs: number
  readonly jitterMs: number
  /** Bound on the error of `read().time`, ms; the TSA writes it as the token's accuracy. */
  readonly errorMs: number
  readonly lastSyncAt?: Date | undefined
  readonly toleranceMs: number
  readonly holdoverMs: number
  readonly sources: readonly TimeSourceStatus[]
}

export type TrustedInstant =
  | { readonly ok: true; readonly time: Date; readonly accuracyMs: number }
  | { readonly ok: false; readonly problem: TimeSyncProblem }

export interface TrustedTime {
  /** Cheap (called per token): no I/O. */
  read(): TrustedInstant
  status(): TimeSyncStatus
}
