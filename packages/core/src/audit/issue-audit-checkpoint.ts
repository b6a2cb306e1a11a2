import type { Clock } from '../clock.js'
import type { UnitOfWork } from '../unit-of-work.js'
import {
  type AuditCheckpoint,
  type CheckpointPolicy,
  type CheckpointSigner,
  checkpointDue,
  DEFAULT_CHECKPOINT_POLICY,
  sealCheckpoint,
} from './audit-checkpoint.js'

export type IssueCheckpointOutcome =
  | { readonly status: 'issued'; readonly checkpoint: AuditCheckpoint }
  /** Not due yet, or nothing new since the last checkpoint. */
  | { readonly status: 'not-due' }
  /** Another instance wrote the checkpoint first. */
  | { readonly status: 'lost-race' }

/**
 * Signs a checkpoint at the chain head when the policy says one is due (or always, with `force`, as long as
 * a record follows the last checkpoint). Safe with several instances: the insert is unique on seq and on the
 * predecessor, so the loser inserts nothing and the checkpoint chain never forks.
 */
export function createIssueAuditCheckpoint(deps: {
  uow: UnitOfWork
  clock: Clock
  signer: CheckpointSigner
  policy?: CheckpointPolicy
}) {
  const policy = deps.policy ?? DEFAULT_CHECKPOINT_POLICY
  return ({ force = false }: { force?: boolean } = {}): Promise<IssueCheckpointOutcome> =>
    deps.uow.run(async (tx) => {
      const now = deps.clock.now()
      const latest = await tx.auditCheckpoints.latest()
      const head = await tx.audit.head()
      if (!checkpointDue(latest, head.seq, now, policy, force)) return { status: 'not-due' }
      const record = await tx.audit.get(head.seq)
      // The head moves in the same transaction as the insert of its record; a head without its record means
      // the tail was removed, which verification reports — never sign over it.
      if (!record || record.hash !== head.hash) return { status: 'not-due' }
      const checkpoint = await sealCheckpoint(latest, record, now, deps.signer)
      return (await tx.auditCheckpoints.insertIfAbsent(checkpoint))
        ? { status: 'issued', checkpoint }
        : { status: 'lost-race' }
    })
}
