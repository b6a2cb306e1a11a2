/**
 * The expiry-reminder job. For every active staff certificate it records at most one reminder per threshold (the
 * smallest one crossed), with the in-app notification in the same unit of work. The webhook is called after that unit
 * of work commits, by the run that created the reminder; failures are counted and retried by later runs with back-off
 * until REMINDER_LIMITS.attempts. Every created reminder and every webhook outcome is audited.
 */
import { randomUUID } from 'node:crypto'
import { jobActor } from '../ca/jobs.js'
import type { Clock } from '../clock.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { reminderPolicyOf } from './policy.js'
import {
  type ExpiringCertificate,
  nextAttemptAfter,
  REMINDER_LIMITS,
  REMINDER_WEBHOOK_SECRET_CONTEXT,
  reminderWindows,
} from './reminder.js'
import { type CertificateExpiringEvent, deliverWebhook, type WebhookFetch } from './webhook.js'

export interface ExpiryReminderDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  /** Defaults to the global fetch. */
  readonly fetch?: WebhookFetch | undefined
  readonly newId?: () => string
}

export interface ExpiryReminderResult {
  /** Reminders created by this run. */
  readonly created: number
  readonly notifications: number
  readonly delivered: number
  /** Webhook attempts that failed (to be retried, or given up). */
  readonly failed: number
  /** Reminders that reached the attempt limit in this run. */
  readonly gaveUp: number
}

/** While a run delivers a reminder, other instances leave it alone for this long. */
const CLAIM_MS = 5 * 60_000

interface Delivery {
  readonly certificate: ExpiringCertificate
  readonly daysBefore: number
  readonly attempts: number
  /** The stored next-attempt time, to claim the reminder over. */
  readonly seen: Date
}

export function createSendExpiryReminders(deps: ExpiryReminderDeps) {
  const { uow, clock, secretBox } = deps
  const fetchFn: WebhookFetch = deps.fetch ?? ((url, init) => fetch(url, init))
  const newId = deps.newId ?? randomUUID
  const actor = jobActor('expiry-reminders')

  return async function sendExpiryReminders(): Promise<ExpiryReminderResult> {
    const start = clock.now()
    const claimedUntil = new Date(start.getTime() + CLAIM_MS)
    const { policy } = await uow.run((tx) => reminderPolicyOf(tx))
    let created = 0
    let notifications = 0
    const fresh: Delivery[] = []
    const enabled = policy.daysBefore.length > 0 && (policy.inApp || policy.webhook !== null)
    if (enabled) {
      for (const window of reminderWindows(policy.daysBefore, start)) {
        for (;;) {
          const batch = await uow.run(async (tx) => {
            const due = await tx.reminders.listExpiring({ ...window, limit: REMINDER_LIMITS.batch })
            const made: ExpiringCertificate[] = []
            for (const certificate of due) {
              const inserted = await tx.reminders.insert({
                certificate,
                daysBefore: window.daysBefore,
                createdAt: start,
                // Without a webhook the in-app notification is the delivery.
                deliveredAt: policy.webhook ? undefined : start,
                nextAttemptAt: policy.webhook ? claimedUntil : undefined,
              })
              if (!inserted) continue
              made.push(certificate)
              const data = {
                serial: certificate.serialHex,
                staffId: certificate.staffId,
                daysBefore: window.daysBefore,
              }
              if (policy.inApp) {
                await tx.notifications.insert({
                  id: newId(),
                  staffId: certificate.staffId,
                  kind: 'certificate.expiring',
                  title: {
                    zh: `您的证书将在 ${window.daysBefore} 天内到期`,
                    en: `Your certificate expires within ${window.daysBefore} day${window.daysBefore === 1 ? '' : 's'}`,
                  },
                  body: {
                    certificateId: certificate.certificateId,
                    serial: certificate.serialHex,
                    notAfter: certificate.notAfter.toISOString(),
                    daysBefore: window.daysBefore,
                  },
                  createdAt: start,
                  readAt: undefined,
                })
                await tx.audit.append({
                  ...actor,
                  type: 'reminder.sent',
                  subject: certificate.certificateId,
                  data: { ...data, channel: 'in-app' },
                  outcome: 'success',
                })
              }
            }
            return { listed: due.length, made }
          })
          created += batch.made.length
          if (policy.inApp) notifications += batch.made.length
          if (policy.webhook) {
            for (const certificate of batch.made)
              fresh.push({ certificate, daysBefore: window.daysBefore, attempts: 0, seen: claimedUntil })
          }
          if (batch.listed < REMINDER_LIMITS.batch || batch.made.length === 0) break
        }
      }
    }

    let delivered = 0
    let failed = 0
    let gaveUp = 0
    if (!policy.webhook) return { created, notifications, delivered, failed, gaveUp }
    const target = {
      url: policy.webhook.url,
      secret: secretBox.open(policy.webhook.sealedSecret, REMINDER_WEBHOOK_SECRET_CONTEXT),
    }

    // Earlier failures whose back-off has passed.
    const retries = await uow.run((tx) => tx.reminders.listRetryable(clock.now(), REMINDER_LIMITS.batch))
    const due: Delivery[] = [...fresh]
    for (const r of retries) {
      if (!r.nextAttemptAt) continue
      const { certificateId, serialHex, staffId, notAfter } = r
      const certificate = { certificateId, serialHex, staffId, notAfter }
      due.push({ certificate, daysBefore: r.daysBefore, attempts: r.attempts, seen: r.nextAttemptAt })
    }

    for (const { certificate, daysBefore, attempts, seen } of due) {
      // Claimed right before the call, so that no other instance calls the webhook for it meanwhile, however long
      // the calls before this one took. The new time always differs from the one seen, so a second claim over the
      // same `seen` finds nothing.
      const until = new Date(Math.max(clock.now().getTime() + CLAIM_MS, seen.getTime() + 1))
      if (!(await uow.run((tx) => tx.reminders.claim(certificate.certificateId, daysBefore, seen, until)))) continue
      const event: CertificateExpiringEvent = {
        event: 'certificate.expiring',
        certificateId: certificate.certificateId,
        serial: certificate.serialHex,
        staffId: certificate.staffId,
        notAfter: certificate.notAfter.toISOString(),
        daysBefore,
      }
      const outcome = await deliverWebhook(fetchFn, target, event, clock.now())
      const at = clock.now()
      const attempt = attempts + 1
      const data = {
        serial: certificate.serialHex,
        staffId: certificate.staffId,
        daysBefore,
        channel: 'webhook',
        attempt,
      }
      await uow.run(async (tx) => {
        if (outcome.ok) {
          await tx.reminders.recordAttempt(certificate.certificateId, daysBefore, { delivered: true, at })
          await tx.audit.append({
            ...actor,
            type: 'reminder.sent',
            subject: certificate.certificateId,
            data,
            outcome: 'success',
          })
          return
        }
        const next = nextAttemptAfter(attempt, at)
        await tx.reminders.recordAttempt(certificate.certificateId, daysBefore, {
          delivered: false,
          error: outcome.error,
          nextAttemptAt: next,
        })
        await tx.audit.append({
          ...actor,
          type: 'reminder.failed',
          subject: certificate.certificateId,
          data: { ...data, error: outcome.error, final: next === undefined },
          outcome: 'failure',
        })
      })
      if (outcome.ok) {
        delivered++
      } else {
        failed++
        if (attempt >= REMINDER_LIMITS.attempts) gaveUp++
      }
    }
    return { created, notifications, delivered, failed, gaveUp }
  }
}
