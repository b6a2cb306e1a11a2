import { Readable } from 'node:stream'
import {
  AUDIT_EXPORT_MAX_ROWS,
  AUDIT_PAGE_MAX,
  type AuditCheckpoint,
  type AuditQuery,
  type AuditTrailReport,
  createVerifyStoredAuditTrail,
  DomainError,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ProblemSchema } from '../schemas.js'
import { CSV_COLUMNS, csvRecord, csvRow, recordJson, UTF8_BOM } from './export-format.js'

const TAG = 'audit'
const EXPORT_PAGE = 500

const Instant = z.iso.datetime({ offset: true }).describe('ISO 8601, e.g. 2026-11-28T08:00:00Z')
const Printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]+$/u, 'printable characters only')

const Filters = z.object({
  from: Instant.optional().describe('inclusive'),
  to: Instant.optional().describe('exclusive'),
  actor: Printable(200).optional().describe('exact, e.g. `user:…`, `client-system:…`, `system`'),
  type: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'")
    .optional()
    .describe('type prefix: `account.` matches `account.created`, `account.locked`, …'),
  outcome: z.enum(['success', 'denied', 'failure']).optional(),
  subject: Printable(200).optional(),
  source: Printable(100).optional().describe('caller address'),
})

const EventsQuery = Filters.extend({
  cursor: z.coerce.number().int().min(0).optional().describe('`nextCursor` of the previous page'),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
  order: z.enum(['asc', 'desc']).default('desc'),
}).strict()

const ExportQuery = Filters.extend({ format: z.enum(['csv', 'jsonl']).default('csv') }).strict()

const AuditRecordSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    type: z.string(),
    actor: z.string(),
    actorRole: z.string().nullable(),
    subject: z.string().nullable(),
    outcome: z.string().nullable(),
    source: z.string().nullable(),
    requestId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditRecord' })

const CheckpointSchema = z
  .object({
    seq: z.number().int(),
    recordHash: z.string(),
    at: z.string(),
    count: z.number().int(),
    prevHash: z.string(),
    hash: z.string(),
    keyId: z.string(),
    algorithm: z.string(),
    signature: z.string().describe('DER, base64'),
    timestampToken: z.string().nullable().describe('RFC 3161 token; null until the TSA exists'),
  })
  .meta({ id: 'AuditCheckpoint' })

const ReportSchema = z
  .object({
    status: z.enum(['ok', 'broken']),
    broken: z
      .object({
        seq: z.number().int(),
        reason: z.string(),
        message: z.object({ zh: z.string(), en: z.string() }),
      })
      .nullable(),
    rowsChecked: z.number().int(),
    checkpointsChecked: z.number().int(),
    firstSeq: z.number().int().nullable(),
    lastSeq: z.number().int().nullable(),
    lastCheckpointSeq: z.number().int().nullable(),
    anchoredAt: z.number().int().nullable(),
    notYetCheckpointed: z
      .object({ fromSeq: z.number().int(), toSeq: z.number().int(), count: z.number().int() })
      .nullable(),
    durationMs: z.number().int(),
    verifiedAt: z.string(),
  })
  .meta({ id: 'AuditVerificationReport' })

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema }

function filterOf(q: z.infer<typeof Filters>): AuditQuery {
  if (q.from && q.to && new Date(q.from) >= new Date(q.to)) {
    throw new DomainError('INVALID_INPUT', 'query.to: must be after query.from', {
      field: 'query.to',
    })
  }
  return {
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    actor: q.actor,
    typePrefix: q.type,
    outcome: q.outcome,
    subject: q.subject,
    source: q.source,
  }
}

function checkpointJson(c: AuditCheckpoint): z.infer<typeof CheckpointSchema> {
  return {
    seq: c.seq,
    recordHash: c.recordHash,
    at: c.at.toISOString(),
    count: c.count,
    prevHash: c.prevHash,
    hash: c.hash,
    keyId: c.keyId,
    algorithm: c.algorithm,
    signature: c.signature,
    timestampToken: c.timestampToken ?? null,
  }
}

function reportJson(r: AuditTrailReport & { durationMs: number }, at: Date): z.infer<typeof ReportSchema> {
  return {
    status: r.status,
    broken: r.broken ? { seq: r.broken.seq, reason: r.broken.reason, message: { ...r.broken.message } } : null,
    rowsChecked: r.rowsChecked,
    checkpointsChecked: r.checkpointsChecked,
    firstSeq: r.firstSeq ?? null,
    lastSeq: r.lastSeq ?? null,
    lastCheckpointSeq: r.lastCheckpointSeq ?? null,
    anchoredAt: r.anchoredAt ?? null,
    notYetCheckpointed: r.notYetCheckpointed ? { ...r.notYetCheckpointed } : null,
    durationMs: r.durationMs,
    verifiedAt: at.toISOString(),
  }
}

/**
 * 审计 / the auditor's API under /api/v1/audit: read, filter, export, verify, checkpoints. Read-only: no route
 * changes or deletes an audit record (retention is a server job, not an endpoint).
 */
export function auditRoutes(services: { uow: UnitOfWork }): FastifyPluginAsyncZod {
  const { uow } = services
  const verify = createVerifyStoredAuditTrail({ uow })
  // One verification at a time per instance: concurrent callers share the run in progress.
  let running: Promise<z.infer<typeof ReportSchema>> | undefined

  return async function auditRoutesPlugin(app) {
    app.get(
      '/api/v1/audit/events',
      {
        config: { access: 'audit.read' },
        schema: {
          tags: [TAG],
          summary: '查询审计记录 / Search the audit trail',
          description: `Newest first by default; at most ${AUDIT_PAGE_MAX} per page. Pass \`nextCursor\` as \`cursor\` for the next page.`,
          querystring: EventsQuery,
          response: {
            200: z.object({ items: z.array(AuditRecordSchema), nextCursor: z.number().int().nullable() }),
            ...problems,
          },
        },
      },
      async (request) => {
        const q = request.query
        const items = await uow.run((tx) =>
          tx.audit.query(filterOf(q), { cursor: q.cursor, limit: q.limit, order: q.order }),
        )
        return {
          items: items.map(recordJson),
          nextCursor: items.length === q.limit ? (items[items.length - 1]?.seq ?? null) : null,
        }
      },
    )

    app.get(
      '/api/v1/audit/events/:seq',
      {
        config: { access: 'audit.read' },
        schema: {
          tags: [TAG],
          summary: '单条审计记录 / One audit record',
          params: z.object({ seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
          response: { 200: AuditRecordSchema, 404: ProblemSchema, ...problems },
        },
      },
      async (request) => {
        const record = await uow.run((tx) => tx.audit.get(request.params.seq))
        if (!record) {
          throw new DomainError('AUDIT_RECORD_NOT_FOUND', `no audit record ${request.params.seq}`, {
            field: 'params.seq',
          })
        }
        return recordJson(record)
      },
    )

    app.get(
      '/api/v1/audit/export',
      {
        config: { access: 'audit.export' },
        schema: {
          tags: [TAG],
          summary: '导出审计记录 / Export the audit trail',
          description:
            `CSV (UTF-8 with BOM, so Excel shows Chinese) or JSON Lines, oldest first, streamed; at most ` +
            `${AUDIT_EXPORT_MAX_ROWS.toLocaleString('en')} rows: narrow the filters for more. The first line is a ` +
            'header (CSV column names; for JSON Lines an object describing the export).',
          querystring: ExportQuery,
          // A stream (text/csv or application/x-ndjson): sent as it is, never serialised.
          response: { 200: z.unknown().describe('text/csv or application/x-ndjson'), ...problems },
        },
      },
      async (request, reply) => {
        const { format, ...rest } = request.query
        const filter = filterOf(rest)
        const total = await uow.run((tx) => tx.audit.count(filter, AUDIT_EXPORT_MAX_ROWS + 1))
        if (total > AUDIT_EXPORT_MAX_ROWS) {
          throw new DomainError(
            'AUDIT_EXPORT_TOO_LARGE',
            `more than ${AUDIT_EXPORT_MAX_ROWS} records match; narrow query.from / query.to`,
            { field: 'query.from', limit: AUDIT_EXPORT_MAX_ROWS },
          )
        }
        const exportedAt = new Date()
        const header =
          format === 'csv'
            ? UTF8_BOM + csvRow(CSV_COLUMNS)
            : `${JSON.stringify({ export: 'yiqian-audit/v1', exportedAt: exportedAt.toISOString(), filters: rest, rows: total })}\n`
        // Pages by seq, each in its own short transaction; stops at the rows counted, so rows appended meanwhile
        // do not push the export past its limit.
        async function* lines(): AsyncGenerator<string> {
          yield header
          let cursor: number | undefined
          let sent = 0
          while (sent < total) {
            const page = await uow.run((tx) =>
              tx.audit.query(filter, { cursor, limit: Math.min(EXPORT_PAGE, total - sent), order: 'asc' }),
            )
            if (page.length === 0) return
            yield page.map((r) => (format === 'csv' ? csvRecord(r) : `${JSON.stringify(recordJson(r))}\n`)).join('')
            sent += page.length
            cursor = page[page.length - 1]!.seq
          }
        }
        const stamp = exportedAt.toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
        reply
          .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="yiqian-audit-${stamp}.${format}"`)
          .header('cache-control', 'no-store')
          .header('x-audit-export-rows', String(total))
        return reply.send(Readable.from(lines()))
      },
    )

    app.get(
      '/api/v1/audit/verify',
      {
        config: { access: 'audit.read' },
        schema: {
          tags: [TAG],
          summary: '校验审计链 / Verify the audit trail',
          description:
            'Recomputes every hash, checks every checkpoint signature, the chain head and the retention anchor, ' +
            'and reports the first break. Runs over the whole log (streamed); concurrent calls share one run. ' +
            'Trusts the checkpoint keys stored in the database; an offline check with `yiqian audit verify ' +
            '--public-key` does not.',
          response: { 200: ReportSchema, ...problems },
        },
      },
      async () => {
        running ??= verify()
          .then((report) => reportJson(report, new Date()))
          .finally(() => {
            running = undefined
          })
        return running
      },
    )

    app.get(
      '/api/v1/audit/checkpoints',
      {
        config: { access: 'audit.read' },
        schema: {
          tags: [TAG],
          summary: '已签名检查点 / Signed checkpoints',
          description: 'Oldest first, paged by seq, with the public keys that verify them.',
          querystring: z
            .object({
              cursor: z.coerce.number().int().min(0).optional(),
              limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
            })
            .strict(),
          response: {
            200: z.object({
              items: z.array(CheckpointSchema),
              nextCursor: z.number().int().nullable(),
              keys: z.array(z.object({ keyId: z.string(), publicKeyPem: z.string() })),
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { cursor, limit } = request.query
        const [items, keys] = await uow.run(
          async (tx) =>
            [await tx.auditCheckpoints.page(cursor ?? 0, limit), await tx.auditSigningKeys.publicKeys()] as const,
        )
        return {
          items: items.map(checkpointJson),
          nextCursor: items.length === limit ? (items[items.length - 1]?.seq ?? null) : null,
          keys: keys.map((k) => ({ ...k })),
        }
      },
    )
  }
}
