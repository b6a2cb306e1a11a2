import {
  auditCheckpointPublicKeyPem,
  type CheckpointPolicy,
  type Clock,
  createIssueAuditCheckpoint,
  createPurgeExpiredAuditRecords,
  DEFAULT_CHECKPOINT_POLICY,
  ensureAuditSigningKey,
  type IssueCheckpointOutcome,
  type PurgeOutcome,
  type SecretBox,
  storedCheckpointSigner,
  type UnitOfWork,
} from '@yiqian/core'

/** What the audit jobs need from the composition root (a subset of AppServices). */
export interface AuditJobServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

/**
 * Signs a checkpoint when one is due (N records or T minutes since the last, whichever first) or, with `force`,
 * now. Safe to run on several instances at once: the loser of the race inserts nothing (`lost-race`).
 */
export async function runAuditCheckpointJob(
  services: AuditJobServices,
  options: { force?: boolean; policy?: CheckpointPolicy } = {},
): Promise<IssueCheckpointOutcome> {
  const signer = storedCheckpointSigner(await ensureAuditSigningKey(services), services.secretBox)
  return createIssueAuditCheckpoint({ ...services, signer, policy: options.policy ?? DEFAULT_CHECKPOINT_POLICY })({
    force: options.force === true,
  })
}

/**
 * The retention job: deletes records older than `retentionDays` (at least 180) up to the newest signed checkpoint
 * that covers them, and records the purge. The only deletion of audit records; no route reaches it.
 */
export function purgeExpiredAuditRecords(
  services: AuditJobServices,
  options: { retentionDays: number; now?: Date },
): Promise<PurgeOutcome> {
  return createPurgeExpiredAuditRecords(services)({
    retentionDays: options.retentionDays,
    now: options.now ?? services.clock.now(),
  })
}

/** The checkpoint key's public half (made on first use), for `<data dir>/audit-checkpoint-key.pem`. */
export const auditCheckpointKeyPem: (services: AuditJobServices) => Promise<string> = auditCheckpointPublicKeyPem

export interface AuditSchedule {
  stop(): Promise<void>
}

/**
 * Checks every `tickMs` (default one minute) whether a checkpoint is due, and once a day runs the retention purge
 * when `retentionDays()` gives a value. Ticks never overlap; a failed tick is reported to `onError` and retried
 * at the next one. The timer does not keep the process alive.
 */
export function startAuditSchedule(
  services: AuditJobServices,
  options: {
    policy?: CheckpointPolicy
    tickMs?: number
    retentionDays?: () => Promise<number | undefined> | number | undefined
    onError?: (error: unknown) => void
  } = {},
): AuditSchedule {
  const tickMs = options.tickMs ?? 60_000
  let running: Promise<void> | undefined
  let lastPurge = 0
  const tick = async () => {
    await runAuditCheckpointJob(services, { policy: options.policy ?? DEFAULT_CHECKPOINT_POLICY })
    const now = services.clock.now().getTime()
    if (options.retentionDays && now - lastPurge >= 86_400_000) {
      const retentionDays = await options.retentionDays()
      if (retentionDays !== undefined) await purgeExpiredAuditRecords(services, { retentionDays })
      lastPurge = now
    }
  }
  const timer = setInterval(() => {
    if (running) return
    running = tick()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = undefined
      })
  }, tickMs)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
