import { SYSTEM_ACTOR } from '../access/principal.js'
import { AUDIT_RETENTION_MIN_DAYS } from '../accounts/policy.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { PURGE_EVENT_TYPE } from './verify-audit-trail.js'

export type PurgeOutcome =
  | {
      readonly status: 'purged'
      readonly boundarySeq: number
      readonly boundaryHash: string
      readonly purgedRows: number
    }
  | { readonly status: 'nothing-to-purge' }

/**
 * Deletes audit records older than the retention that a signed checkpoint covers — the only way audit rows are
 * ever deleted, and not reachable over HTTP. The cut is always at a checkpoint: the oldest remaining record's
 * predecessor is signed, and the anchor stored with the purge lets verification start there. The purge itself
 * is recorded (`audit.retention.purged`, with the boundary seq and hash) in the same transaction.
 */
/** At most a century: beyond that a typo, not a policy. */
export const AUDIT_RETENTION_MAX_DAYS = 36_500

/** `retentionDays` comes from the system settings (at least AUDIT_RETENTION_MIN_DAYS, 180, the default). */
export function createPurgeExpiredAuditRecords(deps: { uow: UnitOfWork; clock?: Clock }) {
  return ({ retentionDays, now }: { retentionDays: number; now?: Date }): Promise<PurgeOutcome> => {
    if (
      !Number.isInteger(retentionDays) ||
      retentionDays < AUDIT_RETENTION_MIN_DAYS ||
      retentionDays > AUDIT_RETENTION_MAX_DAYS
    ) {
      return Promise.reject(
        new DomainError(
          'AUDIT_RETENTION_INVALID',
          `retentionDays must be an integer from ${AUDIT_RETENTION_MIN_DAYS} to ${AUDIT_RETENTION_MAX_DAYS}`,
          { field: 'retentionDays', min: AUDIT_RETENTION_MIN_DAYS },
        ),
      )
    }
    const at = now ?? deps.clock?.now() ?? new Date()
    const cutoff = new Date(at.getTime() - retentionDays * 86_400_000)
    return deps.uow.run(async (tx) => {
      const anchor = await tx.auditRetention.latestAnchor()
      const head = await tx.audit.head()
      // Every record before the first one at or after the cutoff is older than the retention, whatever the
      // clocks of several instances did to the order of `at`.
      const firstKept = (await tx.auditRetention.firstSeqAtOrAfter(cutoff)) ?? head.seq + 1
      const boundary = await tx.auditRetention.latestCheckpointBetween(anchor?.seq ?? 0, firstKept)
      if (!boundary) return { status: 'nothing-to-purge' }
      const record = await tx.audit.get(boundary.seq)
      // Another instance purged past this boundary since we looked (PostgreSQL reads committed rows).
      if (!record && ((await tx.auditRetention.latestAnchor())?.seq ?? 0) >= boundary.seq) {
        return { status: 'nothing-to-purge' }
      }
      if (!record || record.hash !== boundary.recordHash) {
        throw new DomainError('AUDIT_CHAIN_BROKEN', `audit record ${boundary.seq} does not match its checkpoint`, {
          seq: boundary.seq,
        })
      }
      const purgedRows = await tx.auditRetention.purgeThrough({
        seq: boundary.seq,
        hash: boundary.recordHash,
        purgedAt: at,
        retentionDays,
      })
      if (purgedRows === undefined) return { status: 'nothing-to-purge' }
      await tx.audit.append({
        ...SYSTEM_ACTOR,
        type: PURGE_EVENT_TYPE,
        subject: String(boundary.seq),
        data: {
          boundarySeq: boundary.seq,
          boundaryHash: boundary.recordHash,
          purgedRows,
          retentionDays,
          cutoff: cutoff.toISOString(),
        },
        outcome: 'success',
      })
      return { status: 'purged', boundarySeq: boundary.seq, boundaryHash: boundary.recordHash, purgedRows }
    })
  }
}
