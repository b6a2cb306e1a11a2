import type { UnitOfWork } from '../unit-of-work.js'
import {
  type AuditCheckpoint,
  type CheckpointPublicKey,
  checkCheckpointSignature,
  publicKeyMap,
} from './audit-checkpoint.js'
import {
  type AuditBreakReason,
  type AuditTrailReport,
  brokenReport,
  pagesBySeq,
  verifyAuditTrail,
} from './verify-audit-trail.js'

export interface VerifyStoredAuditTrailOptions {
  /**
   * The keys to trust. Default: the public keys stored in the database being checked — which someone able to
   * rewrite the database could replace, so an offline check should pass the key file the server wrote.
   */
  readonly publicKeys?: readonly CheckpointPublicKey[] | undefined
  readonly onProgress?: ((rowsChecked: number) => void) | undefined
  readonly pageSize?: number | undefined
}

/**
 * Verifies the stored trail page by page, each page in a short transaction of its own (the log is
 * append-only, so pages read at different moments fit together). The check covers the chain up to the head
 * read when it starts; records and checkpoints written meanwhile are left to the next run. What lies beyond
 * that head is then told apart from concurrent writes by reading the head again afterwards: an append moves
 * the head in the transaction that inserts the row, and a checkpoint never names a seq beyond the head.
 */
export function createVerifyStoredAuditTrail({ uow }: { uow: UnitOfWork }) {
  return async (options: VerifyStoredAuditTrailOptions = {}): Promise<AuditTrailReport & { durationMs: number }> => {
    const started = Date.now()
    const pageSize = options.pageSize ?? 1000
    const { anchor, storedKeys, head } = await uow.run(async (tx) => ({
      anchor: await tx.auditRetention.latestAnchor(),
      storedKeys: options.publicKeys ? [] : await tx.auditSigningKeys.publicKeys(),
      head: await tx.audit.head(),
    }))
    const publicKeys = options.publicKeys ?? storedKeys
    let checkpointBeyondHead: AuditCheckpoint | undefined
    const upToHead = <T extends { seq: number }>(
      fetch: (after: number, limit: number) => Promise<T[]>,
      onBeyond?: (first: T) => void,
    ) =>
      pagesBySeq(async (after: number, limit: number) => {
        const page = await fetch(after, limit)
        if (page.length === 0 || page[page.length - 1]!.seq <= head.seq) return page
        const beyond = page.find((r) => r.seq > head.seq)
        if (beyond) onBeyond?.(beyond)
        return page.filter((r) => r.seq <= head.seq)
      }, pageSize)

    const report = await verifyAuditTrail({
      records: upToHead((after, limit) => uow.run((tx) => tx.audit.after(after, limit))),
      checkpoints: upToHead(
        (after, limit) => uow.run((tx) => tx.auditCheckpoints.page(after, limit)),
        (first) => {
          checkpointBeyondHead = first
        },
      ),
      publicKeys,
      anchor,
      head,
      onProgress: options.onProgress,
    })
    const done = (r: AuditTrailReport) => ({ ...r, durationMs: Date.now() - started })
    if (report.status !== 'ok') return done(report)

    // Read the newest row and the checkpoint beyond the head first, the head second: a newer head covers every
    // legitimate write read before it, so whatever still lies beyond was not written by the application.
    const [newest] = await uow.run((tx) => tx.audit.query({}, { limit: 1, order: 'desc' }))
    const now = await uow.run((tx) => tx.audit.head())
    const broken = (seq: number, reason: AuditBreakReason) =>
      done({ ...report, status: 'broken', broken: brokenReport(seq, reason), notYetCheckpointed: undefined })
    if (checkpointBeyondHead && checkpointBeyondHead.seq > now.seq) {
      // A signed checkpoint beyond the head: the rows it covered were cut off and the head moved back.
      const signature = checkCheckpointSignature(checkpointBeyondHead, publicKeyMap(publicKeys))
      if (signature === 'invalid') return broken(checkpointBeyondHead.seq, 'checkpoint-signature-invalid')
      if (signature === 'unknown-key') return broken(checkpointBeyondHead.seq, 'checkpoint-key-unknown')
      return broken(now.seq + 1, 'tail-missing')
    }
    if (newest && newest.seq > now.seq) return broken(now.seq + 1, 'head-mismatch')
    return done(report)
  }
}
