import {
  type CertificateReminder,
  type Clock,
  createReminderUseCases,
  REMINDER_LIMITS,
  REMINDER_STATUSES,
  type SecretBox,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ProblemSchema } from '../schemas.js'

const tags = ['reminders']
const errors = { 400: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema }

const PolicySchema = z
  .object({
    daysBefore: z.array(z.number().int()),
    inApp: z.boolean(),
    webhook: z
      .object({ url: z.string(), secretSet: z.boolean() })
      .nullable()
      .describe('密钥只写不读 / the secret is write-only'),
    version: z.number().int(),
  })
  .meta({ id: 'ReminderPolicy' })

const PolicyBody = z
  .object({
    daysBefore: z
      .array(z.number().int().min(REMINDER_LIMITS.minDays).max(REMINDER_LIMITS.maxDays))
      .max(REMINDER_LIMITS.thresholds)
      .describe('到期前多少天提醒，空数组表示关闭 / days before expiry to remind at; empty turns reminders off'),
    inApp: z.boolean(),
    webhook: z
      .object({
        url: z.string().min(1).max(REMINDER_LIMITS.urlLength),
        secret: z
          .string()
          .min(REMINDER_LIMITS.secretMinLength)
          .max(REMINDER_LIMITS.secretMaxLength)
          .optional()
          .describe('HMAC-SM3 密钥；省略则保留原密钥 / the HMAC-SM3 key; leave out to keep the current one'),
      })
      .strict()
      .nullable(),
    version: z.number().int().min(0).describe('乐观锁：读取到的版本 / optimistic lock: the version read'),
  })
  .strict()

const ReminderSchema = z
  .object({
    certificateId: z.string(),
    serial: z.string(),
    staffId: z.string(),
    notAfter: z.string(),
    daysBefore: z.number().int(),
    status: z.enum(REMINDER_STATUSES),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
  })
  .meta({ id: 'CertificateReminder' })

const reminderOut = (r: CertificateReminder) => ({
  certificateId: r.certificateId,
  serial: r.serialHex,
  staffId: r.staffId,
  notAfter: r.notAfter.toISOString(),
  daysBefore: r.daysBefore,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
  deliveredAt: r.deliveredAt?.toISOString() ?? null,
  attempts: r.attempts,
  lastError: r.lastError ?? null,
  nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
})

/** Services the reminder routes are built from (a subset of the server's AppServices). */
export interface ReminderServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

/** The certificate-expiry reminder policy and the reminders sent, under /api/v1/reminders. */
export function reminderRoutes(services: ReminderServices): FastifyPluginAsyncZod {
  const reminders = createReminderUseCases(services)
  return async function reminderRoutesPlugin(app) {
    app.get(
      '/api/v1/reminders/policy',
      {
        config: { access: 'reminders.read' },
        schema: {
          tags,
          summary: '证书到期提醒策略 / Certificate expiry reminder policy',
          description:
            '默认到期前 30、7、1 天提醒，站内通知开启，无 Webhook；version 0 表示使用默认值。\n\n' +
            'By default reminders go 30, 7 and 1 days before expiry, in-app, without a webhook; version 0 means the ' +
            'default.',
          response: { 200: PolicySchema, 403: ProblemSchema },
        },
      },
      async () => reminders.policy(),
    )

    app.put(
      '/api/v1/reminders/policy',
      {
        config: { access: 'reminders.write' },
        schema: {
          tags,
          summary: '修改证书到期提醒策略 / Change the expiry reminder policy',
          description:
            'Webhook 以 HMAC-SM3 签名（见文档 certificate-jobs）；密钥只写不读，首次设置时必填。version 须为读取到的版本' +
            '（否则 409 VERSION_CONFLICT）。\n\n' +
            'The webhook is signed with HMAC-SM3 (see docs: certificate-jobs); its secret is write-only and required ' +
            'when the webhook is first set. `version` must be the one read (409 VERSION_CONFLICT otherwise).',
          body: PolicyBody,
          response: { 200: PolicySchema, ...errors },
        },
      },
      async (request) => reminders.setPolicy(request.actor, request.body),
    )

    app.get(
      '/api/v1/reminders',
      {
        config: { access: 'reminders.read' },
        schema: {
          tags,
          summary: '证书到期提醒记录 / Certificate expiry reminders',
          description:
            '最新的在前。pending：Webhook 待发送或待重试；delivered：已送达；failed：重试 5 次后放弃。\n\n' +
            'Newest first. pending: the webhook is still to be sent or retried; delivered; failed: given up after 5 ' +
            'attempts.',
          querystring: z.object({
            status: z.enum(REMINDER_STATUSES).optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: z.coerce.number().int().min(1).max(REMINDER_LIMITS.pageSize).default(50),
          }),
          response: {
            200: z.object({ items: z.array(ReminderSchema), total: z.number() }),
            400: ProblemSchema,
            403: ProblemSchema,
          },
        },
      },
      async (request) => {
        const page = await reminders.list(request.query)
        return { items: page.items.map(reminderOut), total: page.total }
      },
    )
  }
}
