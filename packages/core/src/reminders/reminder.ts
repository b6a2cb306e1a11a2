/**
 * Certificate expiry reminders: the policy (when and how to remind), the reminder and notification records and the
 * storage ports they need. A reminder is one (certificate, threshold) pair; its primary key makes creating it
 * idempotent across runs and server instances, and only the run that created it delivers it first.
 */

export const REMINDER_LIMITS = {
  thresholds: 5,
  minDays: 1,
  maxDays: 365,
  urlLength: 500,
  secretMinLength: 16,
  secretMaxLength: 200,
  /** Webhook attempts per reminder before it counts as failed. */
  attempts: 5,
  /** Minutes before the second attempt; each later one waits three times as long (10, 30, 90, 270 minutes). */
  firstRetryMinutes: 10,
  /** A webhook call that takes longer is abandoned (and retried later). */
  webhookTimeoutMs: 5000,
  /** Reminders created or retried per run. */
  batch: 500,
  pageSize: 200,
} as const

/** The settings key of the reminder policy; absent means the default. */
export const REMINDER_POLICY_KEY = 'reminders.policy'
/** The SecretBox context the webhook secret is sealed under. */
export const REMINDER_WEBHOOK_SECRET_CONTEXT = 'reminders.webhook.secret'

export interface ReminderWebhook {
  readonly url: string
  /** SecretBox-sealed; never leaves the server. */
  readonly sealedSecret: string
}

export interface ReminderPolicy {
  /** Days before notAfter at which to remind, largest first; empty turns reminders off. */
  readonly daysBefore: readonly number[]
  /** Write a notification the staff member sees in the app. */
  readonly inApp: boolean
  /** POST a signed JSON event to the HIS. */
  readonly webhook: ReminderWebhook | null
}

export const DEFAULT_REMINDER_POLICY: ReminderPolicy = { daysBefore: [30, 7, 1], inApp: true, webhook: null }

/** What the API shows: the secret only as "set". */
export interface ReminderPolicyView {
  readonly daysBefore: number[]
  readonly inApp: boolean
  readonly webhook: { readonly url: string; readonly secretSet: boolean } | null
  /** 0 while the default applies. */
  readonly version: number
}

export const REMINDER_STATUSES = ['pending', 'delivered', 'failed'] as const
export type ReminderStatus = (typeof REMINDER_STATUSES)[number]

/** An active staff certificate that crossed a threshold and has no reminder for it yet. */
export interface ExpiringCertificate {
  readonly certificateId: string
  readonly serialHex: string
  readonly staffId: string
  readonly notAfter: Date
}

export interface CertificateReminder {
  readonly certificateId: string
  readonly daysBefore: number
  readonly staffId: string
  readonly serialHex: string
  readonly notAfter: Date
  readonly createdAt: Date
  readonly deliveredAt: Date | undefined
  /** Webhook attempts so far. */
  readonly attempts: number
  readonly lastError: string | undefined
  /** When the webhook is next tried; undefined once delivered or given up. */
  readonly nextAttemptAt: Date | undefined
  readonly status: ReminderStatus
}

export interface ReminderRepository {
  /**
   * Active certificates with a staff member whose notAfter is in `(after, until]` and that have no reminder for
   * `daysBefore`, earliest expiry first.
   */
  listExpiring(window: {
    readonly after: Date
    readonly until: Date
    readonly daysBefore: number
    readonly limit: number
  }): Promise<ExpiringCertificate[]>
  /** Creates the reminder unless one exists for (certificate, daysBefore); true when this call created it. */
  insert(reminder: {
    readonly certificate: ExpiringCertificate
    readonly daysBefore: number
    readonly createdAt: Date
    readonly deliveredAt: Date | undefined
    readonly nextAttemptAt: Date | undefined
  }): Promise<boolean>
  /** Undelivered reminders whose next attempt is due at `now`, oldest first. */
  listRetryable(now: Date, limit: number): Promise<CertificateReminder[]>
  /**
   * Moves the next attempt from `seen` to `until` when it is still `seen`: a claim, so that of two instances retrying
   * one reminder only one calls the webhook. True when claimed.
   */
  claim(certificateId: string, daysBefore: number, seen: Date, until: Date): Promise<boolean>
  /** Counts a webhook attempt: delivered at `at`, or failed with `error` and next tried at `nextAttemptAt` (or never). */
  recordAttempt(
    certificateId: string,
    daysBefore: number,
    result:
      | { readonly delivered: true; readonly at: Date }
      | { readonly delivered: false; readonly error: string; readonly nextAttemptAt: Date | undefined },
  ): Promise<void>
  find(certificateId: string, daysBefore: number): Promise<CertificateReminder | undefined>
  /** Newest first. */
  search(query: {
    readonly status?: ReminderStatus | undefined
    readonly offset: number
    readonly limit: number
  }): Promise<{ items: CertificateReminder[]; total: number }>
}

export interface Notification {
  readonly id: string
  readonly staffId: string
  readonly kind: 'certificate.expiring'
  readonly title: { readonly zh: string; readonly en: string }
  readonly body: Readonly<Record<string, unknown>>
  readonly createdAt: Date
  readonly readAt: Date | undefined
}

export interface NotificationRepository {
  insert(notification: Notification): Promise<void>
  /** Newest first. */
  listByStaff(staffId: string, limit: number): Promise<Notification[]>
}

const DAY_MS = 86_400_000

/**
 * The threshold a certificate is due a reminder for: the smallest of `daysBefore` with `notAfter - now <= d` days, or
 * undefined when none is crossed or the certificate has already expired.
 */
export function reminderThreshold(notAfter: Date, now: Date, daysBefore: readonly number[]): number | undefined {
  const left = notAfter.getTime() - now.getTime()
  if (left <= 0) return undefined
  const crossed = daysBefore.filter((d) => left <= d * DAY_MS)
  return crossed.length > 0 ? Math.min(...crossed) : undefined
}

/**
 * The windows of `notAfter` each threshold covers at `now`, smallest threshold first: a certificate falls in the
 * window of the smallest threshold it crossed, `(now + previous threshold, now + d]`.
 */
export function reminderWindows(
  daysBefore: readonly number[],
  now: Date,
): { daysBefore: number; after: Date; until: Date }[] {
  const sorted = [...new Set(daysBefore)].sort((a, b) => a - b)
  return sorted.map((d, i) => ({
    daysBefore: d,
    after: new Date(now.getTime() + (i === 0 ? 0 : sorted[i - 1]! * DAY_MS)),
    until: new Date(now.getTime() + d * DAY_MS),
  }))
}

/** When to try again after `attempts` failed attempts; undefined when it is time to give up. */
export function nextAttemptAfter(attempts: number, at: Date): Date | undefined {
  if (attempts >= REMINDER_LIMITS.attempts) return undefined
  const minutes = REMINDER_LIMITS.firstRetryMinutes * 3 ** Math.max(0, attempts - 1)
  return new Date(at.getTime() + minutes * 60_000)
}
