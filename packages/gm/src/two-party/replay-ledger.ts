import { GmError } from '../errors.js'
import { bytesToHex, SESSION_ID_LENGTH } from './primitives.js'

// The server's memory of which client messages it has already answered. It is plain data that the caller stores
// (a database row per key, one more for key generation) and passes back in: no hidden globals, so several server
// processes can share it and a restart forgets nothing. Each message carries its issue time; only messages within
// the freshness window are accepted, which is what lets the ledger forget ids older than the window and stay small.

/** Accept messages issued at most this long before (or, for clock skew, after) the server's clock. */
export const DEFAULT_FRESHNESS_WINDOW_MS = 10 * 60_000

export interface TwoPartyReplayEntry {
  /** Session or request id, 32 lowercase hex characters. */
  readonly id: string
  /** When the client issued the message, milliseconds since the epoch. */
  readonly issuedAt: number
}

export interface TwoPartyReplayLedger {
  readonly version: 1
  /** `keygen` for key generation, else the key id (hex) the ledger protects. */
  readonly scope: string
  readonly entries: readonly TwoPartyReplayEntry[]
}

export interface TwoPartyFreshnessOptions {
  /** The server's clock, milliseconds since the epoch (default `Date.now()`). */
  readonly now?: number
  /** Default {@link DEFAULT_FRESHNESS_WINDOW_MS}. */
  readonly freshnessWindowMs?: number
}

export function createTwoPartyReplayLedger(scope: string): TwoPartyReplayLedger {
  if (typeof scope !== 'string' || scope.length === 0) throw new GmError('INVALID_ARGUMENT', 'ledger scope is empty')
  return { version: 1, scope, entries: [] }
}

function checkLedger(ledger: TwoPartyReplayLedger, scope: string): void {
  if (ledger?.version !== 1 || !Array.isArray(ledger.entries)) {
    throw new GmError('INVALID_ARGUMENT', 'not a two-party replay ledger (version 1)')
  }
  if (ledger.scope !== scope) {
    throw new GmError('INVALID_ARGUMENT', `replay ledger belongs to ${ledger.scope}, not ${scope}`)
  }
  for (const entry of ledger.entries) {
    if (
      typeof entry?.id !== 'string' ||
      !/^[0-9a-f]{32}$/.test(entry.id) ||
      !Number.isSafeInteger(entry.issuedAt) ||
      entry.issuedAt < 0
    ) {
      throw new GmError('INVALID_ARGUMENT', 'replay ledger holds a malformed entry')
    }
  }
}

/**
 * Admits a client message id once: rejects it if it is outside the freshness window or already seen, otherwise
 * returns a new ledger that records it and forgets entries that have left the window. The input is not modified.
 */
export function admitToReplayLedger(
  ledger: TwoPartyReplayLedger,
  scope: string,
  id: Uint8Array,
  issuedAt: number,
  field: string,
  options: TwoPartyFreshnessOptions = {},
): TwoPartyReplayLedger {
  checkLedger(ledger, scope)
  if (id.length !== SESSION_ID_LENGTH) throw new GmError('PROTOCOL_VIOLATION', `${field}: wrong id length`)
  const now = options.now ?? Date.now()
  const window = options.freshnessWindowMs ?? DEFAULT_FRESHNESS_WINDOW_MS
  if (!Number.isSafeInteger(now) || !Number.isSafeInteger(window) || window <= 0) {
    throw new GmError('INVALID_ARGUMENT', 'freshness options must be positive safe integers')
  }
  if (issuedAt < now - window) {
    throw new GmError('PROTOCOL_VIOLATION', `${field}: message is stale (issued ${now - issuedAt} ms ago)`)
  }
  if (issuedAt > now + window) {
    throw new GmError('PROTOCOL_VIOLATION', `${field}: message is issued in the future (client clock too far ahead)`)
  }
  const key = bytesToHex(id)
  // Forgetting only after two windows leaves a margin for a server clock that steps back by up to one window.
  const live = ledger.entries.filter((entry) => entry.issuedAt >= now - 2 * window)
  if (live.some((entry) => entry.id === key)) {
    throw new GmError('PROTOCOL_VIOLATION', `${field}: replayed message (id already used)`)
  }
  return { version: 1, scope, entries: [...live, { id: key, issuedAt }] }
}
