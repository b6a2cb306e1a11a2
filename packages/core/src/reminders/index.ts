export type { ReminderPolicyInput, ReminderUseCaseDeps, ReminderUseCases } from './policy.js'
export {
  checkDaysBefore,
  checkWebhookUrl,
  createReminderUseCases,
  reminderPolicyOf,
  viewOfReminderPolicy,
} from './policy.js'
export type {
  CertificateReminder,
  ExpiringCertificate,
  Notification,
  NotificationRepository,
  ReminderPolicy,
  ReminderPolicyView,
  ReminderRepository,
  ReminderStatus,
  ReminderWebhook,
} from './reminder.js'
export {
  DEFAULT_REMINDER_POLICY,
  nextAttemptAfter,
  REMINDER_LIMITS,
  REMINDER_POLICY_KEY,
  REMINDER_STATUSES,
  REMINDER_WEBHOOK_SECRET_CONTEXT,
  reminderThreshold,
  reminderWindows,
} from './reminder.js'
export type { ExpiryReminderDeps, ExpiryReminderResult } from './send-expiry-reminders.js'
export { createSendExpiryReminders } from './send-expiry-reminders.js'
export type { CertificateExpiringEvent, WebhookFetch, WebhookOutcome } from './webhook.js'
export { deliverWebhook, WEBHOOK_HEADERS, webhookSignature } from './webhook.js'
