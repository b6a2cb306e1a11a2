import {
  APPLICATION_KINDS,
  APPLICATION_STATES,
  type CertificateIssuer,
  type Clock,
  createRaUseCases,
  type IssuedReference,
  KEY_ORIGINS,
  LIFECYCLE_LIMITS,
  RA_LIMITS,
  type RaApplication,
  type SecretBox,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { principalOf } from '../access/context.js'
import { ProblemSchema } from '../schemas.js'

const tags = ['ra']
const IdText = z.string().min(1).max(64)
const Id = z.object({ id: IdText })
const Version = z.number().int().min(1).optional().describe('乐观锁：当前版本 / optimistic lock: the current version')
const Reason = z.string().trim().min(1).max(LIFECYCLE_LIMITS.reason)
const ProfileId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, '字母、数字或 ._- / letters, digits or ._-')
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }

const ApplicationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(APPLICATION_KINDS),
    staffId: z.string(),
    institutionId: z.string(),
    departmentId: z.string().nullable(),
    profileId: z.string(),
    replaces: z.string().nullable(),
    subject: z.record(z.string(), z.string()),
    status: z.enum(APPLICATION_STATES),
    requestedBy: z.string(),
    requestedAt: z.string(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    reason: z.string().nullable(),
    activation: z
      .object({ expiresAt: z.string(), attempts: z.number(), redeemed: z.boolean() })
      .nullable()
      .describe('激活码本身只在审批时返回一次 / the code itself is returned once, by the approval'),
    certificateSerial: z.string().nullable(),
    certificateId: z.string().nullable(),
    keyOrigin: z
      .enum(KEY_ORIGINS)
      .nullable()
      .describe('密钥来源：证书请求或手机两方密钥生成；null 表示尚无密钥 / where the key came from; null: no key yet'),
    version: z.number(),
    updatedAt: z.string(),
  })
  .meta({ id: 'CertificateApplication' })

const IssuedSchema = z
  .object({ id: z.string(), serial: z.string(), issuerId: z.string() })
  .meta({ id: 'IssuedCertificateReference' })
const issuedOut = (issued: IssuedReference | undefined) =>
  issued ? { id: issued.certificateId, serial: issued.serial, issuerId: issued.issuerId } : null
const Csr = z
  .string()
  .min(1)
  .max(32 * 1024)
  .describe('PKCS #10 证书请求（PEM 或 base64 DER），其签名证明持有私钥 / PKCS #10 request, PEM or base64 DER')

const applicationOut = (a: RaApplication) => ({
  id: a.id,
  kind: a.applicationKind,
  staffId: a.holderId,
  institutionId: a.institutionId,
  departmentId: a.departmentId ?? null,
  profileId: a.profile,
  replaces: a.replaces ?? null,
  subject: { ...a.subject },
  status: a.status,
  requestedBy: a.requestedBy,
  requestedAt: a.requestedAt.toISOString(),
  decidedBy: a.decidedBy ?? null,
  decidedAt: a.decidedAt?.toISOString() ?? null,
  reason: a.decisionReason ?? null,
  activation: a.activation
    ? {
        expiresAt: a.activation.expiresAt.toISOString(),
        attempts: a.activation.attempts,
        redeemed: a.activation.redeemedAt !== undefined,
      }
    : null,
  certificateSerial: a.serialHex ?? null,
  certificateId: a.certificateId ?? null,
  keyOrigin: a.keyOrigin ?? null,
  version: a.version,
  updatedAt: a.updatedAt.toISOString(),
})

const Subject = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9.]{0,63}$/, '属性名 / attribute name'),
    z.string().trim().min(1).max(RA_LIMITS.subjectValue),
  )
  .refine((s) => Object.keys(s).length <= RA_LIMITS.subjectAttributes, {
    message: `最多 ${RA_LIMITS.subjectAttributes} 项 / at most ${RA_LIMITS.subjectAttributes} attributes`,
  })

/** Services the RA routes are built from (a subset of the server's AppServices). */
export interface RaServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  /** The CA service behind the issuer port; without it issuing answers 503 CA_UNAVAILABLE. */
  readonly certificateIssuer?: CertificateIssuer | undefined
}

/** Certificate applications (RA), under /api/v1/ra/applications. */
export function raRoutes(services: RaServices): FastifyPluginAsyncZod {
  const ra = createRaUseCases({ ...services, issuer: services.certificateIssuer })
  const base = '/api/v1/ra/applications'
  return async function raRoutesPlugin(app) {
    const PolicySchema = z.object({ fourEyes: z.boolean(), version: z.number() }).meta({ id: 'RaPolicy' })
    app.get(
      '/api/v1/ra/policy',
      {
        config: { access: 'policies.read' },
        schema: {
          tags,
          summary: 'RA 策略 / RA policy',
          description:
            '双人复核默认开启；version 0 表示使用默认值。/ Four-eyes is on by default; version 0 means the default.',
          response: { 200: PolicySchema, 403: ProblemSchema },
        },
      },
      async () => ra.policy(),
    )

    app.put(
      '/api/v1/ra/policy',
      {
        config: { access: 'policies.write' },
        schema: {
          tags,
          summary: '修改 RA 策略 / Change the RA policy',
          body: z.object({ fourEyes: z.boolean(), version: z.number().int().min(0) }).strict(),
          response: { 200: PolicySchema, ...errors },
        },
      },
      async (request) => ra.setPolicy(request.actor, request.body),
    )

    app.get(
      base,
      {
        config: { access: 'ra.read' },
        schema: {
          tags,
          summary: '证书申请列表 / Certificate applications',
          description:
            '最新的在前。科室筛选包含其下级科室；科室主任只能看到本科室（含下级）的申请。\n\n' +
            'Newest first. A department filter covers its sub-departments; department managers see only their ' +
            'departments’ applications.',
          querystring: z.object({
            status: z.enum(APPLICATION_STATES).optional(),
            kind: z.enum(APPLICATION_KINDS).optional(),
            staffId: IdText.optional(),
            departmentId: IdText.optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: z.coerce.number().int().min(1).max(RA_LIMITS.pageSize).default(50),
          }),
          response: {
            200: z.object({ items: z.array(ApplicationSchema), total: z.number() }),
            400: ProblemSchema,
            403: ProblemSchema,
          },
        },
      },
      async (request) => {
        const page = await ra.list(principalOf(request), request.query)
        return { items: page.items.map(applicationOut), total: page.total }
      },
    )

    app.get(
      `${base}/:id`,
      {
        config: { access: 'ra.read' },
        schema: {
          tags,
          summary: '证书申请详情 / One certificate application',
          params: Id,
          response: { 200: ApplicationSchema, ...errors },
        },
      },
      async (request) => applicationOut(await ra.get(principalOf(request), request.params.id)),
    )

    app.post(
      base,
      {
        config: { access: 'ra.apply' },
        schema: {
          tags,
          summary: '为人员申请证书 / Apply for a staff member’s certificate',
          description:
            '人员须在职；同一人员同时只能有一个待审批或待签发的申请（409 CERTIFICATE_APPLICATION_OPEN）。' +
            '更新（renew）与找回（recover）须给出 replaces。\n\n' +
            'The staff member must be active and may have only one pending or approved application at a time. ' +
            'renew and recover need `replaces` (the certificate replaced).',
          body: z
            .object({
              staffId: IdText,
              profileId: ProfileId,
              kind: z.enum(APPLICATION_KINDS).optional(),
              replaces: IdText.optional(),
              subject: Subject.optional(),
              csr: Csr.optional(),
            })
            .strict(),
          response: { 201: ApplicationSchema, ...errors },
        },
      },
      async (request, reply) =>
        reply.code(201).send(applicationOut(await ra.apply(principalOf(request), request.actor, request.body))),
    )

    app.post(
      `${base}/bulk`,
      {
        config: { access: 'ra.apply' },
        // 20,000 staff ids, or a CSR (about 0.5 kB in PEM) for each of a large hospital's staff.
        bodyLimit: 16 * 1024 * 1024,
        schema: {
          tags,
          summary: '批量申请 / Apply for many staff members',
          description:
            '给出 staffIds 或 departmentId（可含下级科室）之一。逐人返回结果：符合条件的人员在**一个事务**中全部创建，' +
            `不符合条件的（不存在、不在职、已有申请、重复）逐条跳过并说明原因。最多 ${RA_LIMITS.bulkItems} 人。\n\n` +
            'Give staffIds or departmentId (optionally with sub-departments). One result per staff member: every ' +
            'eligible one gets an application, all in **one transaction**; the others (unknown, not active, already ' +
            `with an open application, listed twice) are skipped with their reason. At most ${RA_LIMITS.bulkItems}.`,
          body: z
            .object({
              profileId: ProfileId,
              staffIds: z.array(IdText).min(1).max(RA_LIMITS.bulkItems).optional(),
              departmentId: IdText.optional(),
              includeSubDepartments: z.boolean().optional(),
              csrs: z
                .record(IdText, Csr)
                .refine((r) => Object.keys(r).length <= RA_LIMITS.bulkItems, {
                  message: `最多 ${RA_LIMITS.bulkItems} 个 / at most ${RA_LIMITS.bulkItems}`,
                })
                .optional()
                .describe('按人员 ID 给出的证书请求（密钥在别处生成时）/ CSRs by staff id, for keys made elsewhere'),
            })
            .strict(),
          response: {
            200: z
              .object({
                created: z.number(),
                skipped: z.number(),
                results: z.array(
                  z.object({
                    staffId: z.string(),
                    outcome: z.enum(['created', 'skipped']),
                    applicationId: z.string().optional(),
                    code: z.string().optional(),
                    message: z.string().optional(),
                  }),
                ),
              })
              .meta({ id: 'CertificateApplicationBulkResult' }),
            ...errors,
          },
        },
      },
      async (request) => {
        const outcome = await ra.applyBulk(principalOf(request), request.actor, request.body)
        return { ...outcome, results: [...outcome.results] }
      },
    )

    app.post(
      `${base}/:id/approve`,
      {
        config: { access: 'ra.approve' },
        schema: {
          tags,
          summary: '审批通过 / Approve',
          description:
            '双人复核（默认开启）：审批人不能是申请人（403 FOUR_EYES_REQUIRED）。返回 8 位一次性激活码，仅此一次，' +
            `${RA_LIMITS.activationHours} 小时内有效，最多尝试 ${RA_LIMITS.activationAttempts} 次。\n\n` +
            'Four-eyes (on by default): the approver must not be the requester. Returns the 8-digit one-time ' +
            `activation code for phone enrolment — shown only here, valid ${RA_LIMITS.activationHours} h, ` +
            `${RA_LIMITS.activationAttempts} attempts.`,
          params: Id,
          body: z.object({ version: Version }).strict().optional(),
          response: {
            200: z.object({
              application: ApplicationSchema,
              activationCode: z
                .string()
                .nullable()
                .describe('已有密钥（证书请求）时直接签发，无激活码 / null when the key was known and it was issued'),
              certificate: IssuedSchema.nullable(),
            }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const approval = await ra.approve(principalOf(request), request.actor, request.params.id, request.body?.version)
        reply.header('cache-control', 'no-store')
        return {
          application: applicationOut(approval.application),
          activationCode: approval.activationCode ?? null,
          certificate: issuedOut(approval.issued),
        }
      },
    )

    app.post(
      '/api/v1/ra/approvals',
      {
        config: { access: 'ra.approve' },
        schema: {
          tags,
          summary: '批量审批 / Approve in bulk',
          description:
            '逐个审批（每 100 个一个事务），已有密钥的直接签发，其余返回一次性激活码；不能审批的跳过并说明原因。' +
            '可重复执行。\n\nApproves each (100 per transaction); those with a known key are issued at once, the ' +
            'others get one-time activation codes; the rest are skipped with their reason. Safe to re-run.',
          body: z.object({ ids: z.array(IdText).min(1).max(RA_LIMITS.bulkItems) }).strict(),
          response: {
            200: z
              .object({
                approved: z.number(),
                issued: z.number(),
                skipped: z.number(),
                results: z.array(
                  z.object({
                    applicationId: z.string(),
                    outcome: z.enum(['approved', 'issued', 'skipped']),
                    activationCode: z.string().optional(),
                    serial: z.string().optional(),
                    code: z.string().optional(),
                    message: z.string().optional(),
                  }),
                ),
              })
              .meta({ id: 'CertificateApplicationBulkApproval' }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const outcome = await ra.approveBulk(principalOf(request), request.actor, request.body.ids)
        reply.header('cache-control', 'no-store')
        return { ...outcome, results: [...outcome.results] }
      },
    )

    app.post(
      `${base}/:id/reject`,
      {
        config: { access: 'ra.approve' },
        schema: {
          tags,
          summary: '驳回 / Reject',
          params: Id,
          body: z.object({ reason: Reason, version: Version }).strict(),
          response: { 200: ApplicationSchema, ...errors },
        },
      },
      async (request) =>
        applicationOut(
          await ra.reject(
            principalOf(request),
            request.actor,
            request.params.id,
            request.body.reason,
            request.body.version,
          ),
        ),
    )

    app.post(
      `${base}/:id/cancel`,
      {
        config: { access: 'ra.apply' },
        schema: {
          tags,
          summary: '撤销 / Cancel',
          description:
            '待审批或已审批未签发的申请可撤销；激活码随之作废。/ Pending or approved; the activation code dies.',
          params: Id,
          body: z.object({ reason: Reason.optional(), version: Version }).strict().optional(),
          response: { 200: ApplicationSchema, ...errors },
        },
      },
      async (request) =>
        applicationOut(
          await ra.cancel(
            principalOf(request),
            request.actor,
            request.params.id,
            request.body?.reason,
            request.body?.version,
          ),
        ),
    )

    app.post(
      `${base}/:id/issue`,
      {
        config: { access: 'ra.approve' },
        schema: {
          tags,
          summary: '签发 / Issue',
          description:
            '由 CA 服务签发已审批的申请，并在同一事务中标记为已签发；CA 未接入时 503 CA_UNAVAILABLE。\n\n' +
            'Has the CA issue an approved application and marks it issued in the same transaction; 503 ' +
            'CA_UNAVAILABLE when no CA is connected.',
          params: Id,
          body: z
            .object({ csr: Csr.optional() })
            .strict()
            .nullish()
            .describe('尚无密钥时必须给出证书请求 / a CSR is required while the application has no key'),
          response: {
            200: ApplicationSchema.extend({ certificate: IssuedSchema }),
            ...errors,
            503: ProblemSchema,
          },
        },
      },
      async (request) => {
        const done = await ra.issue(principalOf(request), request.actor, request.params.id, {
          csr: request.body?.csr ?? undefined,
        })
        return { ...applicationOut(done), certificate: issuedOut(done.issued) as z.infer<typeof IssuedSchema> }
      },
    )

    app.post(
      '/api/v1/ra/certificates/:id/renewal',
      {
        config: { access: 'ra.apply' },
        schema: {
          tags,
          summary: '证书更新 / Renew a certificate',
          description:
            '为有效证书开立更新申请（新密钥）；新证书签发后旧证书以 superseded 吊销。\n\nOpens a renewal ' +
            'application (new key) for an active certificate; the old one is revoked as superseded once the new one ' +
            'is issued.',
          params: Id,
          response: { 200: ApplicationSchema, ...errors, 503: ProblemSchema },
        },
      },
      async (request) => applicationOut(await ra.renew(principalOf(request), request.actor, request.params.id)),
    )

    app.post(
      '/api/v1/ra/certificates/:id/recovery',
      {
        config: { access: 'ra.approve' },
        schema: {
          tags,
          summary: '证书找回（手机丢失）/ Recover after a lost phone',
          description:
            '经办人已重新核验身份：旧证书立即吊销（superseded，或有证据时 keyCompromise），CRL 同事务更新；' +
            '开立已审批的找回申请并返回新设备的一次性激活码。\n\nThe officer has re-verified identity: the old ' +
            'certificate is revoked at once (CRL republished in the same transaction) and an approved recovery ' +
            'application is opened, with a one-time activation code for the new device.',
          params: Id,
          body: z
            .object({
              identityVerification: z
                .string()
                .trim()
                .min(1)
                .max(LIFECYCLE_LIMITS.reason)
                .describe('如何核验身份，例如 in-person-id-card / how identity was verified'),
              reason: z.enum(['superseded', 'keyCompromise']).optional(),
            })
            .strict(),
          response: {
            200: z.object({ application: ApplicationSchema, activationCode: z.string() }),
            ...errors,
            503: ProblemSchema,
          },
        },
      },
      async (request, reply) => {
        const recovery = await ra.recover(principalOf(request), request.actor, {
          certificateId: request.params.id,
          ...request.body,
        })
        reply.header('cache-control', 'no-store')
        return { application: applicationOut(recovery.application), activationCode: recovery.activationCode ?? '' }
      },
    )
  }
}
