import {
  CERTIFICATE_ADMIN_LIMITS,
  CERTIFICATE_STATES,
  type CertificateChange,
  type CertificateDetail,
  type CertificateReport,
  type CertificateStatusAnswer,
  type CertificateView,
  createCertificateAdministration,
  createCertificateReports,
  LIFECYCLE_LIMITS,
  REPORT_GROUPS,
  REVOCATION_REASONS,
} from '@yiqian/core'
import { certificateToPem } from '@yiqian/pki'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { principalOf } from '../access/context.js'
import type { AppServices } from '../app.js'
import { ProblemSchema } from '../schemas.js'
import { reportCsv, reportXlsx } from './report-export.js'

const tags = ['certificates']
const IdText = z.string().min(1).max(64)
const Id = z.object({ id: IdText })
const SerialHex = z
  .string()
  .regex(/^[0-9a-fA-F]{1,42}$/, '十六进制，最多 42 位 / hexadecimal, at most 42 digits')
  .describe('证书序列号（十六进制）/ certificate serial (hex)')
const CaId = z.string().regex(/^ca-[0-9a-f]{16}$/, 'ca- 加 16 位十六进制 / ca- and 16 hex digits')
const ProfileId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, '字母、数字或 ._- / letters, digits or ._-')
const Version = z.number().int().min(1).describe('乐观锁：读取时的版本 / optimistic lock: the version read')
const Comment = z.string().trim().min(1).max(LIFECYCLE_LIMITS.reason)
const Instant = z.iso.datetime({ offset: true }).describe('ISO 8601, e.g. 2026-11-28T08:00:00Z')
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 503: ProblemSchema }

const RevocationSchema = z.object({ reason: z.string(), at: z.string(), invalidityDate: z.string().nullable() })

const CertificateSummarySchema = z
  .object({
    id: z.string(),
    serial: z.string().describe('小写十六进制 / lower-case hex'),
    issuerId: z.string(),
    subject: z.string(),
    staffId: z.string().nullable(),
    staffName: z.string().nullable(),
    departmentId: z.string().nullable().describe('持有人主科室 / the holder’s primary department'),
    departmentName: z.string().nullable(),
    profile: z.string(),
    status: z
      .enum(CERTIFICATE_STATES)
      .describe('当前有效状态：过了有效期即为 expired / effective now: past notAfter reads expired'),
    notBefore: z.string(),
    notAfter: z.string(),
    statusChangedAt: z.string(),
    revocation: RevocationSchema.nullable(),
    version: z.number(),
  })
  .meta({ id: 'CertificateSummary' })

const CertificateDetailSchema = CertificateSummarySchema.extend({
  pem: z.string(),
  issuerName: z.string(),
  keyAlgorithm: z.string(),
  fingerprintSm3: z.string(),
  fingerprintSha256: z.string(),
  supersededBy: z.string().nullable(),
  history: z.array(
    z.object({
      type: z.string(),
      at: z.string(),
      actor: z.string(),
      outcome: z.string().nullable(),
      data: z.record(z.string(), z.unknown()),
    }),
  ),
}).meta({ id: 'CertificateDetail' })

const StatusSchema = z
  .object({
    serial: z.string(),
    issuerId: z.string().nullable(),
    status: z.enum(['good', 'revoked', 'suspended', 'expired', 'unknown']),
    revocation: RevocationSchema.optional(),
    notBefore: z.string().nullable(),
    notAfter: z.string().nullable(),
    subject: z.string().nullable(),
    staffId: z.string().nullable(),
  })
  .meta({ id: 'CertificateStatus' })

const CountsSchema = z.object({
  issued: z.number(),
  active: z.number(),
  suspended: z.number(),
  revoked: z.number(),
  expired: z.number(),
  expiringIn30Days: z.number(),
})
const ReportSchema = z
  .object({
    groupBy: z.enum(REPORT_GROUPS),
    from: z.string().nullable(),
    to: z.string().nullable(),
    rows: z.array(CountsSchema.extend({ key: z.string().nullable(), label: z.string().nullable() })),
    totals: CountsSchema,
  })
  .meta({ id: 'CertificateReport' })

const iso = (d: Date | undefined) => d?.toISOString() ?? null

export function summaryOut(c: CertificateView) {
  return {
    id: c.id,
    serial: c.serialHex,
    issuerId: c.issuerId,
    subject: c.subject,
    staffId: c.staffId ?? null,
    staffName: c.staffName ?? null,
    departmentId: c.departmentId ?? null,
    departmentName: c.departmentName ?? null,
    profile: c.profile,
    status: c.status,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    statusChangedAt: c.statusChangedAt.toISOString(),
    revocation: c.revocation
      ? {
          reason: c.revocation.reason,
          at: c.revocation.at.toISOString(),
          invalidityDate: iso(c.revocation.invalidityDate),
        }
      : null,
    version: c.version,
  }
}

function detailOut(c: CertificateDetail) {
  return {
    ...summaryOut(c),
    pem: certificateToPem(c.der),
    issuerName: c.issuerName,
    keyAlgorithm: c.keyAlgorithm,
    fingerprintSm3: c.fingerprintSm3,
    fingerprintSha256: c.fingerprintSha256,
    supersededBy: c.supersededBy ?? null,
    history: c.history.map((r) => ({
      type: r.type,
      at: r.at.toISOString(),
      actor: r.actor,
      outcome: r.outcome ?? null,
      data: { ...(r.data ?? {}) } as Record<string, unknown>,
    })),
  }
}

function statusOut(s: CertificateStatusAnswer) {
  return {
    serial: s.serial,
    issuerId: s.issuerId ?? null,
    status: s.status,
    ...(s.revocation && {
      revocation: {
        reason: s.revocation.reason,
        at: s.revocation.at.toISOString(),
        invalidityDate: iso(s.revocation.invalidityDate),
      },
    }),
    notBefore: iso(s.notBefore),
    notAfter: iso(s.notAfter),
    subject: s.subject ?? null,
    staffId: s.staffId ?? null,
  }
}

function reportOut(r: CertificateReport) {
  return {
    groupBy: r.groupBy,
    from: iso(r.from),
    to: iso(r.to),
    rows: r.rows.map((row) => ({ ...row })),
    totals: r.totals,
  }
}

/** A day (`2026-11-01`, taken as 00:00 UTC) or an instant with its offset. */
const DayOrInstant = z
  .union([Instant, z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))

/** Issued certificates (/api/v1/certificates) and certificate reports (/api/v1/reports/certificates). */
export function certificateRoutes(services: Pick<AppServices, 'uow' | 'clock' | 'ca'>): FastifyPluginAsyncZod {
  const certificates = createCertificateAdministration(services)
  const reports = createCertificateReports(services)
  const base = '/api/v1/certificates'
  /** Revokes, suspends or resumes the certificate named by the route's `:id`; answers its new summary. */
  const change = async (
    request: FastifyRequest & { readonly params: { readonly id: string } },
    what: CertificateChange,
    version: number,
  ) => summaryOut(await certificates.change(principalOf(request), request.actor, request.params.id, what, version))
  return async function certificateRoutesPlugin(app) {
    app.get(
      base,
      {
        config: { access: 'certificates.read' },
        schema: {
          tags,
          summary: '证书查询 / Search issued certificates',
          description:
            'q 匹配主题（包含，不区分大小写）或序列号前缀。科室筛选包含下级科室；科室主任只能看到本科室（含下级）人员的证书。' +
            '最新签发的在前。\n\n' +
            '`q` matches the subject (substring, any case) or a serial prefix. A department filter covers its ' +
            'sub-departments; department managers see only certificates of staff in their departments. Newest first.',
          querystring: z
            .object({
              q: z.string().max(CERTIFICATE_ADMIN_LIMITS.query).optional(),
              status: z.enum(CERTIFICATE_STATES).optional(),
              staffId: IdText.optional(),
              serial: SerialHex.optional(),
              departmentId: IdText.optional(),
              profile: ProfileId.optional(),
              expiringWithinDays: z.coerce.number().int().min(0).max(CERTIFICATE_ADMIN_LIMITS.expiringDays).optional(),
              offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
              limit: z.coerce.number().int().min(1).max(CERTIFICATE_ADMIN_LIMITS.pageSize).default(50),
            })
            .strict(),
          response: {
            200: z.object({ items: z.array(CertificateSummarySchema), total: z.number() }),
            400: ProblemSchema,
            403: ProblemSchema,
          },
        },
      },
      async (request) => {
        const page = await certificates.search(principalOf(request), request.query)
        return { items: page.items.map(summaryOut), total: page.total }
      },
    )

    app.get(
      `${base}/status`,
      {
        config: { access: 'certificates.status' },
        schema: {
          tags,
          summary: '证书状态查询（业务系统）/ Certificate status for client systems',
          description:
            '像 OCSP 一样：未知序列号返回 200 与 status=unknown。多个 CA 使用同一序列号时须给出 issuerId。\n\n' +
            'Like OCSP: an unknown serial answers 200 with status `unknown`. When two CAs used the same serial, ' +
            'name the issuer with `issuerId`.',
          querystring: z.object({ serial: SerialHex, issuerId: CaId.optional() }).strict(),
          response: { 200: StatusSchema, 400: ProblemSchema, 403: ProblemSchema },
        },
      },
      async (request) => statusOut(await certificates.status(request.query)),
    )

    app.get(
      `${base}/:id`,
      {
        config: { access: 'certificates.read' },
        schema: {
          tags,
          summary: '证书详情 / One certificate',
          description:
            'history 为该证书的审计事件（签发、冻结、解冻、吊销…），最早的在前，最多 200 条。\n\n' +
            '`history` lists the audit events of this certificate (issued, suspended, resumed, revoked, …), oldest ' +
            'first, at most 200.',
          params: Id,
          response: { 200: CertificateDetailSchema, ...errors },
        },
      },
      async (request) => detailOut(await certificates.detail(principalOf(request), request.params.id)),
    )

    app.get(
      `${base}/:id/download`,
      {
        config: { access: 'certificates.read' },
        schema: {
          tags,
          summary: '下载证书 / Download a certificate',
          description:
            'pem：application/x-pem-file；der：application/pkix-cert；chain：本证书及其上级 CA 证书（PEM，根在最后）。\n\n' +
            '`pem`: application/x-pem-file; `der`: application/pkix-cert; `chain`: the certificate and its issuers ' +
            '(PEM, root last).',
          params: Id,
          querystring: z.object({ format: z.enum(['pem', 'der', 'chain']).default('pem') }).strict(),
          response: { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (request, reply) => {
        const file = await certificates.download(principalOf(request), request.params.id, request.query.format)
        return reply
          .type(file.contentType)
          .header('content-disposition', `attachment; filename="${file.fileName}"`)
          .header('cache-control', 'no-store')
          .send((typeof file.body === 'string' ? file.body : Buffer.from(file.body)) as never)
      },
    )

    app.post(
      `${base}/:id/revocation`,
      {
        config: { access: 'certificates.manage' },
        schema: {
          tags,
          summary: '吊销证书 / Revoke a certificate',
          description:
            '原因取 RFC 5280 名称。CRL 随即重新发布。version 与当前不符时 409 VERSION_CONFLICT；已吊销等状态不允许时 ' +
            '409 INVALID_TRANSITION。\n\n' +
            'Reason by its RFC 5280 name. The CRL is republished at once. A stale `version` answers 409 ' +
            'VERSION_CONFLICT; a state that does not allow it (already revoked, …) 409 INVALID_TRANSITION.',
          params: Id,
          body: z
            .object({
              reason: z.enum(REVOCATION_REASONS),
              comment: Comment.optional(),
              invalidityDate: Instant.optional(),
              version: Version,
            })
            .strict(),
          response: { 200: CertificateSummarySchema, ...errors },
        },
      },
      async (request) => {
        const { reason, comment, invalidityDate, version } = request.body
        const at = invalidityDate === undefined ? undefined : new Date(invalidityDate)
        return change(request, { type: 'revoke', reason, comment, invalidityDate: at }, version)
      },
    )

    app.post(
      `${base}/:id/suspension`,
      {
        config: { access: 'certificates.manage' },
        schema: {
          tags,
          summary: '冻结证书 / Suspend a certificate',
          description:
            '冻结的证书在 CRL 中以 certificateHold 列出，可解冻。\n\n' +
            'A suspended certificate is listed on the CRL as certificateHold and may be resumed.',
          params: Id,
          body: z.object({ comment: Comment.optional(), version: Version }).strict(),
          response: { 200: CertificateSummarySchema, ...errors },
        },
      },
      async (request) => change(request, { type: 'suspend', comment: request.body.comment }, request.body.version),
    )

    app.post(
      `${base}/:id/resumption`,
      {
        config: { access: 'certificates.manage' },
        schema: {
          tags,
          summary: '解冻证书 / Resume a suspended certificate',
          params: Id,
          body: z.object({ version: Version }).strict(),
          response: { 200: CertificateSummarySchema, ...errors },
        },
      },
      async (request) => change(request, { type: 'resume' }, request.body.version),
    )

    app.get(
      '/api/v1/reports/certificates',
      {
        config: { access: 'reports.read' },
        schema: {
          tags: ['reports'],
          summary: '证书统计报表 / Certificate report',
          description:
            '每行统计在 [from, to) 内签发的证书数（issued），以及这些证书当前处于各状态的数量（issued = active + ' +
            'suspended + revoked + expired）。科室主任只统计本科室（含下级）人员。format=csv（UTF-8 带 BOM）或 xlsx ' +
            '时下载文件并记录审计 report.exported。日期 YYYY-MM-DD 按 UTC 零点。\n\n' +
            'Each row counts the certificates created in [from, to) (`issued`) and how many of them are now in each ' +
            'state (issued = active + suspended + revoked + expired). Department managers get their departments’ ' +
            'staff only. `format=csv` (UTF-8 with BOM) or `xlsx` downloads a file and is audited as ' +
            '`report.exported`. A bare date YYYY-MM-DD means 00:00 UTC.',
          querystring: z
            .object({
              groupBy: z.enum(REPORT_GROUPS).default('department'),
              from: DayOrInstant.optional().describe('含 / inclusive'),
              to: DayOrInstant.optional().describe('不含 / exclusive'),
              departmentId: IdText.optional(),
              format: z.enum(['json', 'csv', 'xlsx']).default('json'),
            })
            .strict(),
          response: { 200: ReportSchema, 400: ProblemSchema, 403: ProblemSchema },
        },
      },
      async (request, reply) => {
        const { format, ...query } = request.query
        const exportFormat = format === 'json' ? undefined : format
        const report = await reports.certificates(principalOf(request), request.actor, query, exportFormat)
        if (!exportFormat) return reportOut(report)
        const day = services.clock.now().toISOString().slice(0, 10).replaceAll('-', '')
        const name = `certificates-${report.groupBy}-${day}.${exportFormat}`
        reply.header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store')
        if (exportFormat === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(report) as never)
        return reply
          .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .send((await reportXlsx(report)) as never)
      },
    )
  }
}
