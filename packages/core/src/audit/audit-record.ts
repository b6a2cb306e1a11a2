import { sm3 } from '@yiqian/gm'
import { DomainError } from '../errors.js'
import type { AuditLogReads } from './audit-query.js'

/** What a use case says happened. The log adds the sequence number, time and chain hashes. */
export interface AuditEvent {
  /** Dotted past tense, e.g. `administrator.bootstrapped`. */
  readonly type: string
  /** Who did it: an administrator, staff member, client system or `system`. */
  readonly actor: string
  readonly subject?: string | undefined
  readonly data?: Readonly<Record<string, unknown>> | undefined
  /** The roles the actor acted with (comma-separated). */
  readonly actorRole?: string | undefined
  /** The caller's address, `local` for the server itself. */
  readonly source?: string | undefined
  /** `success` unless said otherwise; refusals and failures are recorded too. */
  readonly outcome?: AuditOutcome | undefined
  /** The HTTP request this happened in, to join with the logs. */
  readonly requestId?: string | undefined
}

export type AuditOutcome = 'success' | 'denied' | 'failure'

export interface AuditRecord extends AuditEvent {
  readonly seq: number
  readonly at: Date
  readonly prevHash: string
  readonly hash: string
}

/** Append-only and hash-chained. An append that cannot be written fails the whole unit of work. */
export interface AuditLog extends AuditLogReads {
  append(event: AuditEvent): Promise<AuditRecord>
  /** Records with `from <= seq < to`, in order. */
  range(from: number, to: number): Promise<AuditRecord[]>
  /** How many records of `type` (from `source`, when given) are at or after `since`: throttling sign-in failures. */
  countSince(filter: { readonly type: string; readonly source?: string; readonly since: Date }): Promise<number>
}

export const GENESIS_HASH = '0'.repeat(64)

/** JSON with object keys sorted at every depth, so that a hash does not depend on insertion order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  )
}

/** The request context is hashed as a trailing object, present only when some of it is set. */
function contextOf(event: AuditEvent): Record<string, string> | undefined {
  const context = Object.fromEntries(
    (['actorRole', 'source', 'outcome', 'requestId'] as const)
      .filter((key) => event[key] !== undefined)
      .map((key) => [key, String(event[key])]),
  )
  return Object.keys(context).length > 0 ? context : undefined
}

function chainHash(seq: number, at: Date, event: AuditEvent, prevHash: string): string {
  const context = contextOf(event)
  const body = canonicalJson([
    seq,
    at.toISOString(),
    event.type,
    event.actor,
    event.subject ?? null,
    event.data ?? {},
    prevHash,
    ...(context ? [context] : []),
  ])
  return Buffer.from(sm3(body)).toString('hex')
}

/** Links `event` to the record before it (or to the genesis hash for the first record). */
export function sealAuditRecord(
  previous: { seq: number; hash: string } | undefined,
  event: AuditEvent,
  at: Date,
): AuditRecord {
  const seq = (previous?.seq ?? 0) + 1
  const prevHash = previous?.hash ?? GENESIS_HASH
  return { ...event, seq, at, prevHash, hash: chainHash(seq, at, event, prevHash) }
}

/** Recomputes every link; throws AUDIT_CHAIN_BROKEN naming the first record that does not fit. */
export function verifyAuditChain(records: readonly AuditRecord[], previous?: { seq: number; hash: string }): void {
  let prev = previous
  for (const record of records) {
    const expected = sealAuditRecord(prev, record, record.at)
    const reason =
      record.seq !== expected.seq
        ? `sequence ${record.seq} follows ${prev?.seq ?? 0}`
        : record.prevHash !== expected.prevHash
          ? 'previous hash does not match'
          : record.hash !== expected.hash
            ? 'record hash does not match its content'
            : undefined
    if (reason)
      throw new DomainError('AUDIT_CHAIN_BROKEN', `audit record ${record.seq}: ${reason}`, { seq: record.seq })
    prev = record
  }
}
