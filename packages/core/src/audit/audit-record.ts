import { sm3 } from '@yiqian/gm'
import { DomainError } from '../errors.js'

/** What a use case says happened. The log adds the sequence number, time and chain hashes. */
export interface AuditEvent {
  /** Dotted past tense, e.g. `administrator.bootstrapped`. */
  readonly type: string
  /** Who did it: an administrator, staff member, client system or `system`. */
  readonly actor: string
  readonly subject?: string | undefined
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

export interface AuditRecord extends AuditEvent {
  readonly seq: number
  readonly at: Date
  readonly prevHash: string
  readonly hash: string
}

/** Append-only and hash-chained. An append that cannot be written fails the whole unit of work. */
export interface AuditLog {
  append(event: AuditEvent): Promise<AuditRecord>
  /** Records with `from <= seq < to`, in order. */
  range(from: number, to: number): Promise<AuditRecord[]>
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

function chainHash(seq: number, at: Date, event: AuditEvent, prevHash: string): string {
  const body = canonicalJson([
    seq,
    at.toISOString(),
    event.type,
    event.actor,
    event.subject ?? null,
    event.data ?? {},
    prevHash,
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
