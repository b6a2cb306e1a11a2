import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  type CertificateReminder,
  DEFAULT_REMINDER_POLICY,
  REMINDER_LIMITS,
  REMINDER_POLICY_KEY,
  REMINDER_STATUSES,
  REMINDER_WEBHOOK_SECRET_CONTEXT,
  type ReminderPolicy,
  type ReminderPolicyView,
  type ReminderStatus,
} from './reminder.js'

export interface ReminderPolicyInput {
  readonly daysBefore: readonly number[]
  readonly inApp: boolean
  /** `secret` may be left out to keep the one stored for the webhook. */
  readonly webhook: { readonly url: string; readonly secret?: string | undefined } | null
  /** The version read; 0 when the default applies. */
  readonly version: number
}

function invalid(field: string, zh: string, en: string): DomainError {
  return new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field })
}

/** The stored policy, or the default; a stored value that does not read as a policy falls back field by field. */
export async function reminderPolicyOf(tx: Repositories): Promise<{ policy: ReminderPolicy; version: number }> {
  const stored = await tx.settings.get(REMINDER_POLICY_KEY)
  const value = (stored?.value ?? {}) as Partial<Record<keyof ReminderPolicy, unknown>>
  const days = Array.isArray(value.daysBefore)
    ? value.daysBefore.filter((d): d is number => Number.isInteger(d) && d >= 1 && d <= REMINDER_LIMITS.maxDays)
    : DEFAULT_REMINDER_POLICY.daysBefore
  const webhook = value.webhook as { url?: unknown; sealedSecret?: unknown } | null | undefined
  return {
    policy: {
      daysBefore: days,
      inApp: typeof value.inApp === 'boolean' ? value.inApp : DEFAULT_REMINDER_POLICY.inApp,
      webhook:
        webhook && typeof webhook.url === 'string' && typeof webhook.sealedSecret === 'string'
          ? { url: webhook.url, sealedSecret: webhook.sealedSecret }
          : null,
    },
    version: stored?.version ?? 0,
  }
}

export function viewOfReminderPolicy(policy: ReminderPolicy, version: number): ReminderPolicyView {
  return {
    daysBefore: [...policy.daysBefore],
    inApp: policy.inApp,
    webhook: policy.webhook ? { url: policy.webhook.url, secretSet: true } : null,
    version,
  }
}

/** Thresholds as stored: whole days 1–365, at most five, no repeats, largest first. */
export function checkDaysBefore(value: unknown): number[] {
  const { maxDays, minDays, thresholds } = REMINDER_LIMITS
  if (!Array.isArray(value) || value.length > thresholds) {
    throw invalid('daysBefore', `应为最多 ${thresholds} 个天数的数组`, `must be an array of at most ${thresholds} days`)
  }
  for (const d of value) {
    if (!Number.isInteger(d) || d < minDays || d > maxDays) {
      throw invalid(
        'daysBefore',
        `每项应为 ${minDays}–${maxDays} 的整数`,
        `each must be a whole number ${minDays}–${maxDays}`,
      )
    }
  }
  if (new Set(value).size !== value.length) throw invalid('daysBefore', '不能重复', 'must not repeat a day')
  return [...(value as number[])].sort((a, b) => b - a)
}

/** An http(s) URL without credentials, at most 500 characters. */
export function checkWebhookUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > REMINDER_LIMITS.urlLength) {
    throw invalid(
      'webhook.url',
      `必填，最多 ${REMINDER_LIMITS.urlLength} 个字符`,
      `required, at most ${REMINDER_LIMITS.urlLength} characters`,
    )
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid('webhook.url', '不是有效的 URL', 'not a valid URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('webhook.url', '只支持 http 或 https', 'must be http or https')
  }
  if (url.username || url.password) {
    throw invalid('webhook.url', '不能包含用户名或密码', 'must not contain a user name or password')
  }
  return url.toString()
}

function checkSecret(value: unknown): string {
  const { secretMinLength: min, secretMaxLength: max } = REMINDER_LIMITS
  if (typeof value !== 'string' || value.length < min || value.length > max || /[^\x21-\x7e]/.test(value)) {
    throw invalid(
      'webhook.secret',
      `应为 ${min}–${max} 个可见 ASCII 字符`,
      `must be ${min}–${max} printable ASCII characters without spaces`,
    )
  }
  return value
}

export interface ReminderUseCaseDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

export function createReminderUseCases({ uow, clock, secretBox }: ReminderUseCaseDeps) {
  return {
    /** The policy as the API shows it (the webhook secret only as "set"). */
    async policy(): Promise<ReminderPolicyView> {
      return uow.run(async (tx) => {
        const { policy, version } = await reminderPolicyOf(tx)
        return viewOfReminderPolicy(policy, version)
      })
    },

    /** Replaces the policy over `input.version` (VERSION_CONFLICT otherwise), audited in the same unit of work. */
    async setPolicy(actor: ActorContext, input: ReminderPolicyInput): Promise<ReminderPolicyView> {
      const daysBefore = checkDaysBefore(input?.daysBefore)
      if (typeof input.inApp !== 'boolean') throw invalid('inApp', '须为布尔值', 'must be a boolean')
      if (!Number.isInteger(input.version) || input.version < 0) {
        throw invalid('version', '应为非负整数', 'must be a whole number, 0 or more')
      }
      if (input.webhook !== null && (typeof input.webhook !== 'object' || input.webhook === undefined)) {
        throw invalid('webhook', '应为对象或 null', 'must be an object or null')
      }
      const url = input.webhook && checkWebhookUrl(input.webhook.url)
      const secret = input.webhook?.secret === undefined ? undefined : checkSecret(input.webhook.secret)
      return uow.run(async (tx) => {
        const before = await reminderPolicyOf(tx)
        let webhook: ReminderPolicy['webhook'] = null
        if (url) {
          const sealedSecret =
            secret === undefined
              ? before.policy.webhook?.sealedSecret
              : secretBox.seal(secret, REMINDER_WEBHOOK_SECRET_CONTEXT)
          if (!sealedSecret)
            throw invalid('webhook.secret', '首次设置 Webhook 时必填', 'required when the webhook is first set')
          webhook = { url, sealedSecret }
        }
        const policy: ReminderPolicy = { daysBefore, inApp: input.inApp, webhook }
        const version = input.version + 1
        await tx.settings.put(REMINDER_POLICY_KEY, policy, version, clock.now(), actor.actor)
        const { actor: who, actorRole, source, requestId } = actor
        await tx.audit.append({
          actor: who,
          actorRole,
          source,
          requestId,
          type: 'reminders.policy.changed',
          subject: REMINDER_POLICY_KEY,
          data: {
            daysBefore: { from: before.policy.daysBefore, to: daysBefore },
            inApp: { from: before.policy.inApp, to: input.inApp },
            webhookUrl: { from: before.policy.webhook?.url ?? null, to: url ?? null },
            secretChanged: secret !== undefined,
          },
          outcome: 'success',
        })
        return viewOfReminderPolicy(policy, version)
      })
    },

    /** Reminders, newest first, optionally of one status. */
    async list(query: {
      readonly status?: ReminderStatus | undefined
      readonly offset?: number | undefined
      readonly limit?: number | undefined
    }): Promise<{ items: CertificateReminder[]; total: number }> {
      if (query.status !== undefined && !(REMINDER_STATUSES as readonly string[]).includes(query.status)) {
        throw invalid(
          'status',
          `应为 ${REMINDER_STATUSES.join('、')} 之一`,
          `must be one of ${REMINDER_STATUSES.join(', ')}`,
        )
      }
      const offset = Math.max(0, Math.trunc(query.offset ?? 0))
      const limit = Math.min(REMINDER_LIMITS.pageSize, Math.max(1, Math.trunc(query.limit ?? 50)))
      return uow.run((tx) => tx.reminders.search({ status: query.status, offset, limit }))
    },
  }
}

export type ReminderUseCases = ReturnType<typeof createReminderUseCases>
