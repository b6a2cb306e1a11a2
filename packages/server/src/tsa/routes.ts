import { hostname, platform, release } from 'node:os'
import {
  DomainError,
  isDomainError,
  type TimeStampAuthority,
  TSA_ALGORITHMS,
  TSA_LIMITS,
  type TsaSettings,
  type TsaStatus,
  type TsaTimeSource,
  type TsaTokenRecord,
  type TsaUnitView,
} from '@yiqian/core'
import { TIME_STAMP_HASHES } from '@yiqian/pki'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AppServices } from '../app.js'
import { sendProblem } from '../error-handler.js'
import { ProblemSchema } from '../schemas.js'

const tags = ['tsa']
const base = '/api/v1/tsa'
/** RFC 3161 requests are small; a client sending more is not a TSA client. */
export const TSA_REQUEST_MAX_BYTES = 64 * 1024
const QUERY_TYPE = 'application/timestamp-query'
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 503: ProblemSchema }
const Oid = z
  .string()
  .max(TSA_LIMITS.oid)
  .regex(/^[0-2](\.(0|[1-9][0-9]{0,8})){1,30}$/, 'OID，如 1.2.3.4 / an OID such as 1.2.3.4')
const UnitId = z.string().regex(/^tsa-[0-9a-f]{16}$/, 'tsa- 加 16 位十六进制 / tsa- and 16 hex digits')
const Name = z
  .string()
  .trim()
  .min(1)
  .max(TSA_LIMITS.name)
  .regex(/^[^\p{Cc}]+$/u, '不含控制字符 / no control characters')
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64')
const HASHES = Object.keys(TIME_STAMP_HASHES) as [keyof typeof TIME_STAMP_HASHES, ...(keyof typeof TIME_STAMP_HASHES)[]]

const UnitSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    algorithm: z.enum(TSA_ALGORITHMS),
    caId: z.string(),
    policy: z.string().nullable(),
    isDefault: z.boolean(),
    subject: z.string(),
    certificateSerial: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    keyUri: z.string(),
    createdAt: z.string(),
    retiredCertificates: z.array(z.object({ serial: z.string(), retiredAt: z.string() })),
  })
  .meta({ id: 'TsaUnit' })

const SourceSchema = z
  .object({ id: z.string(), name: z.string(), address: z.string(), createdAt: z.string() })
  .meta({ id: 'TsaTimeSource' })

const SettingsSchema = z
  .object({
    policies: z.array(z.string()),
    defaultPolicy: z.string(),
    toleranceMs: z.number(),
    holdoverSeconds: z.number(),
    pollIntervalSeconds: z.number(),
    state: z.enum(['running', 'stopped']),
    stateReason: z.string().nullable(),
    version: z.number(),
    updatedAt: z.string(),
  })
  .meta({ id: 'TsaSettings' })

const StatusSchema = z
  .object({
    state: z.enum(['running', 'stopped']),
    issuing: z.boolean(),
    problem: z.string().optional(),
    stateReason: z.string().optional(),
    time: z.unknown(),
    issuedTotal: z.number(),
    issuedLastMinute: z.number(),
    ratePerSecond: z.number(),
    units: z.array(UnitSchema),
  })
  .meta({ id: 'TsaStatus' })

const TokenSchema = z
  .object({
    serial: z.string(),
    unitId: z.string(),
    certificateSerial: z.string(),
    genTime: z.string(),
    hashAlgorithm: z.string(),
    imprint: z.string(),
    nonce: z.string().nullable(),
    policy: z.string(),
    requesterIp: z.string(),
    clientSystemId: z.string().nullable(),
  })
  .meta({ id: 'TsaToken' })

function unitOut(u: TsaUnitView) {
  return {
    id: u.id,
    name: u.name,
    algorithm: u.algorithm,
    caId: u.caId,
    policy: u.policy ?? null,
    isDefault: u.isDefault,
    subject: u.subject,
    certificateSerial: u.certificateSerial,
    notBefore: u.notBefore.toISOString(),
    notAfter: u.notAfter.toISOString(),
    keyUri: u.keyUri,
    createdAt: u.createdAt.toISOString(),
    retiredCertificates: u.retiredCertificates.map((r) => ({ serial: r.serial, retiredAt: r.retiredAt.toISOString() })),
  }
}

function sourceOut(s: TsaTimeSource) {
  return { id: s.id, name: s.name, address: s.address, createdAt: s.createdAt.toISOString() }
}

function settingsOut(s: TsaSettings) {
  return {
    policies: [...s.policies],
    defaultPolicy: s.defaultPolicy,
    toleranceMs: s.toleranceMs,
    holdoverSeconds: s.holdoverSeconds,
    pollIntervalSeconds: s.pollIntervalSeconds,
    state: s.state,
    stateReason: s.stateReason ?? null,
    version: s.version,
    updatedAt: s.updatedAt.toISOString(),
  }
}

function statusOut(s: TsaStatus) {
  return {
    state: s.state,
    issuing: s.issuing,
    ...(s.problem !== undefined && { problem: s.problem }),
    ...(s.stateReason !== undefined && { stateReason: s.stateReason }),
    time: s.time ?? null,
    issuedTotal: s.issuedTotal,
    issuedLastMinute: s.issuedLastMinute,
    ratePerSecond: s.ratePerSecond,
    units: s.units.map(unitOut),
  }
}

function tokenOut(t: TsaTokenRecord) {
  return {
    serial: t.serialHex,
    unitId: t.unitId,
    certificateSerial: t.certificateSerial,
    genTime: t.genTime.toISOString(),
    hashAlgorithm: t.hashAlgorithm,
    imprint: t.imprint,
    nonce: t.nonce ?? null,
    policy: t.policy,
    requesterIp: t.requesterIp,
    clientSystemId: t.clientSystemId ?? null,
  }
}

function unavailable(): DomainError {
  return new DomainError('CA_UNAVAILABLE', '时间戳服务未启用 / the timestamp authority is not available')
}

/**
 * The timestamp authority: `POST /tsa` (RFC 3161 over HTTP, public) and its management API under /api/v1/tsa.
 * A TSA answer is always a TimeStampResp with 200 — a refusal is a rejection status inside it, never a 5xx.
 */
export function tsaRoutes(services: Pick<AppServices, 'tsa' | 'authenticators'>): FastifyPluginAsyncZod {
  const service = (): TimeStampAuthority => {
    if (!services.tsa) throw unavailable()
    return services.tsa
  }

  /** A client system may sign its TSA requests (HMAC-SM3 headers); the token log then names it. */
  async function clientSystemOf(request: FastifyRequest): Promise<string | undefined> {
    if (request.headers['x-yiqian-app-id'] === undefined) return undefined
    try {
      for (const authenticate of services.authenticators) {
        const principal = await authenticate(request)
        if (principal) return principal.kind === 'client-system' ? principal.id : undefined
      }
    } catch (error) {
      // A wrong signature or a rate limit is the client's problem (401/403/429); anything else must not turn a
      // timestamp request into a 5xx: it is served, recorded without the client system.
      if (isDomainError(error) || (error as { statusCode?: number }).statusCode === 429) throw error
      request.log.error({ err: error }, 'client-system authentication failed on /tsa')
    }
    return undefined
  }

  function methodNotAllowed(request: FastifyRequest, reply: FastifyReply) {
    reply.header('allow', 'POST')
    return sendProblem(request, reply, 'METHOD_NOT_ALLOWED', {
      detail: `${request.method} /tsa：请用 POST application/timestamp-query / use POST with application/timestamp-query`,
    })
  }

  return async function tsaRoutesPlugin(app) {
    // Scoped to this plugin: nowhere else takes raw RFC 3161 requests.
    app.addContentTypeParser(
      QUERY_TYPE,
      { parseAs: 'buffer', bodyLimit: TSA_REQUEST_MAX_BYTES },
      function timeStampQueryBody(_request, body, done) {
        done(null, body)
      },
    )

    app.post(
      '/tsa',
      {
        config: { access: 'public' },
        // A binary protocol answer, not a page: no per-request helmet rebuild on the TSA's hot path (nosniff is set).
        helmet: false,
        bodyLimit: TSA_REQUEST_MAX_BYTES,
        schema: {
          tags,
          summary: 'RFC 3161 时间戳请求 / RFC 3161 time-stamp request',
          description:
            '请求体为 DER 编码的 TimeStampReq（application/timestamp-query），应答为 TimeStampResp' +
            '（application/timestamp-reply，HTTP 200，拒绝时带 failInfo）。\n\n' +
            'The body is a DER TimeStampReq (application/timestamp-query); the answer is a TimeStampResp ' +
            '(application/timestamp-reply, HTTP 200; a refusal carries its failInfo).',
        },
      },
      async (request, reply) => {
        const type = String(request.headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase()
        if (type !== QUERY_TYPE || !Buffer.isBuffer(request.body)) {
          return sendProblem(request, reply, 'UNSUPPORTED_MEDIA_TYPE', {
            detail: `需要 ${QUERY_TYPE} / expected ${QUERY_TYPE}`,
          })
        }
        const clientSystemId = await clientSystemOf(request)
        const body = services.tsa
          ? await services.tsa.respond(new Uint8Array(request.body), { ip: request.ip, clientSystemId })
          : undefined
        if (!body) throw unavailable()
        return reply
          .code(200)
          .type('application/timestamp-reply')
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          .send(Buffer.from(body))
      },
    )

    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
      app.route({
        method,
        url: '/tsa',
        config: { access: 'public' },
        schema: { hide: true },
        handler: methodNotAllowed,
      })
    }

    app.get(
      `${base}/status`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '时间戳服务状态 / TSA status',
          description:
            'issuing 表示此刻的请求能否获得令牌；否则 problem 说明原因（stopped、时间不同步等）。\n\n' +
            '`issuing` says whether a request now would get a token; otherwise `problem` says why (stopped, time ' +
            'not synchronised, …).',
          response: { 200: StatusSchema, 403: ProblemSchema, 503: ProblemSchema },
        },
      },
      async () => statusOut(await service().status()),
    )

    app.post(
      `${base}/start`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '启动时间戳服务 / Start issuing',
          response: { 200: StatusSchema, ...errors },
        },
      },
      async (request) => statusOut(await service().start(request.actor)),
    )

    app.post(
      `${base}/stop`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '停止时间戳服务 / Stop issuing',
          description:
            '停止后所有请求得到 timeNotAvailable；状态持久保存。\n\nWhile stopped every request gets ' +
            'timeNotAvailable; the state is persisted.',
          body: z.object({ reason: z.string().trim().min(1).max(TSA_LIMITS.reason) }).strict(),
          response: { 200: StatusSchema, ...errors },
        },
      },
      async (request) => statusOut(await service().stop(request.body.reason, request.actor)),
    )

    app.get(
      `${base}/units`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '时间戳签名单元 / TSA signing units',
          response: { 200: z.array(UnitSchema), 403: ProblemSchema, 503: ProblemSchema },
        },
      },
      async () => (await service().listUnits()).map(unitOut),
    )

    app.post(
      `${base}/units`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '创建签名单元 / Create a signing unit',
          description:
            '在密钥库生成密钥（用途 tsa），由本系统 CA 按 tsa 模板签发证书（关键扩展密钥用途 timeStamping）。' +
            '第一个单元成为默认单元；指定 policy 的单元服务请求该策略的请求。\n\n' +
            'Generates a key (purpose tsa) in the key store and has our CA issue its certificate with the tsa ' +
            'profile (critical EKU timeStamping). The first unit becomes the default; a unit with a policy serves ' +
            'requests naming that policy.',
          body: z
            .object({
              name: Name,
              algorithm: z.enum(TSA_ALGORITHMS).default('sm2'),
              caId: z
                .string()
                .regex(/^ca-[0-9a-f]{16}$/)
                .optional(),
              policy: Oid.optional(),
            })
            .strict(),
          response: { 201: UnitSchema, ...errors },
        },
      },
      async (request, reply) => reply.code(201).send(unitOut(await service().createUnit(request.body, request.actor))),
    )

    app.post(
      `${base}/units/:id/rollover`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '更换签名单元密钥 / Roll a unit over to a new key',
          description:
            '新密钥与新证书立即生效；旧密钥停用，但其证书保留用于验证。\n\nThe new key and certificate sign from ' +
            'now on; the old key is retired, its certificate kept to verify what it signed.',
          params: z.object({ id: UnitId }),
          response: { 200: UnitSchema, ...errors },
        },
      },
      async (request) => unitOut(await service().rolloverUnit(request.params.id, request.actor)),
    )

    app.post(
      `${base}/units/:id/default`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '设为默认签名单元 / Make a unit the default',
          params: z.object({ id: UnitId }),
          response: { 200: UnitSchema, ...errors },
        },
      },
      async (request) => unitOut(await service().setDefaultUnit(request.params.id, request.actor)),
    )

    app.get(
      `${base}/sources`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '时间源 / Time sources',
          response: { 200: z.array(SourceSchema), 403: ProblemSchema, 503: ProblemSchema },
        },
      },
      async () => (await service().listSources()).map(sourceOut),
    )

    app.post(
      `${base}/sources`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '添加时间源 / Add a time source',
          description: 'address：主机名或 IP[:端口]（UDP，默认 123）。\n\naddress: host[:port] (UDP, default 123).',
          body: z
            .object({
              name: Name,
              address: z
                .string()
                .min(1)
                .max(TSA_LIMITS.address + 8),
            })
            .strict(),
          response: { 201: SourceSchema, ...errors },
        },
      },
      async (request, reply) => reply.code(201).send(sourceOut(await service().addSource(request.body, request.actor))),
    )

    app.delete(
      `${base}/sources/:id`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '删除时间源 / Remove a time source',
          params: z.object({ id: z.string().max(64) }),
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await service().removeSource(request.params.id, request.actor)
        return reply.code(204).send(null)
      },
    )

    app.get(
      `${base}/settings`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '时间戳服务设置 / TSA settings',
          response: { 200: SettingsSchema, 403: ProblemSchema, 503: ProblemSchema },
        },
      },
      async () => settingsOut(await service().settings()),
    )

    app.put(
      `${base}/settings`,
      {
        config: { access: 'tsa.manage' },
        schema: {
          tags,
          summary: '修改时间戳服务设置 / Change the TSA settings',
          description:
            'version 为读取时的版本；已被他人修改时返回 409。\n\n`version` is the one read; 409 when the ' +
            'settings changed meanwhile.',
          body: z
            .object({
              policies: z.array(Oid).min(1).max(TSA_LIMITS.policies),
              defaultPolicy: Oid,
              toleranceMs: z.number().int().min(TSA_LIMITS.toleranceMs.min).max(TSA_LIMITS.toleranceMs.max),
              holdoverSeconds: z.number().int().min(TSA_LIMITS.holdoverSeconds.min).max(TSA_LIMITS.holdoverSeconds.max),
              pollIntervalSeconds: z
                .number()
                .int()
                .min(TSA_LIMITS.pollIntervalSeconds.min)
                .max(TSA_LIMITS.pollIntervalSeconds.max),
              version: z.number().int().min(1),
            })
            .strict(),
          response: { 200: SettingsSchema, ...errors },
        },
      },
      async (request) => settingsOut(await service().updateSettings(request.body, request.actor)),
    )

    app.get(
      `${base}/tokens`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '已签发的时间戳 / The token log',
          description:
            '最新在前；nextCursor 用于翻页。requester 匹配客户端 IP 或业务系统编号。\n\nNewest first; pass ' +
            '`nextCursor` as `cursor` for the next page. `requester` matches the client IP or client-system id.',
          querystring: z
            .object({
              serial: z
                .string()
                .regex(/^[0-9a-fA-F]{1,64}$/)
                .optional(),
              from: z.iso.datetime({ offset: true }).optional(),
              to: z.iso.datetime({ offset: true }).optional(),
              requester: z.string().min(1).max(64).optional(),
              limit: z.coerce.number().int().min(1).max(TSA_LIMITS.pageSize).default(50),
              cursor: z.string().max(200).optional(),
            })
            .strict(),
          response: {
            200: z.object({ items: z.array(TokenSchema), nextCursor: z.string().nullable() }),
            400: ProblemSchema,
            403: ProblemSchema,
          },
        },
      },
      async (request) => {
        const q = request.query
        const page = await service().listTokens({
          serial: q.serial,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
          requester: q.requester,
          limit: q.limit,
          cursor: q.cursor,
        })
        return { items: page.items.map(tokenOut), nextCursor: page.nextCursor ?? null }
      },
    )

    app.get(
      `${base}/system`,
      {
        config: { access: 'tsa.read' },
        schema: {
          tags,
          summary: '时间戳服务的系统信息 / System facts of the TSA',
          response: {
            200: z.object({
              listenAddress: z.string().nullable(),
              publicUrl: z.string(),
              workers: z.number(),
              hostname: z.string(),
              platform: z.string(),
              uptimeSeconds: z.number(),
              node: z.string(),
              openssl: z.string(),
            }),
            403: ProblemSchema,
          },
        },
      },
      async (request) => {
        const address = request.server.server.address()
        const listenAddress =
          address === null ? null : typeof address === 'string' ? address : `${address.address}:${address.port}`
        return {
          listenAddress,
          publicUrl: `${request.protocol}://${request.host}/tsa`,
          workers: 1,
          hostname: hostname(),
          platform: `${platform()} ${release()}`,
          uptimeSeconds: Math.round(process.uptime()),
          node: process.versions.node,
          openssl: process.versions.openssl ?? '',
        }
      },
    )

    app.post(
      `${base}/verify`,
      {
        config: { access: 'tsa.verify' },
        schema: {
          tags,
          summary: '验证时间戳 / Verify a time-stamp token',
          description:
            'token 为 base64 的 TimeStampToken 或 TimeStampResp；给出 data（base64）或 imprint（十六进制）时核对' +
            '摘要。\n\n`token` is a base64 TimeStampToken or TimeStampResp; with `data` (base64) or `imprint` ' +
            '(hex) the imprint is checked.',
          body: z
            .object({
              token: Base64.min(4).max(Math.ceil((TSA_LIMITS.verifyBytes * 4) / 3) + 4),
              data: Base64.optional(),
              imprint: z
                .string()
                .regex(/^([0-9a-fA-F]{2}){16,64}$/)
                .optional(),
              hashAlgorithm: z.enum(HASHES).optional(),
            })
            .strict(),
          response: {
            200: z.object({
              valid: z.boolean(),
              checks: z.array(z.object({ name: z.string(), status: z.string(), reason: z.string() })),
              tstInfo: z
                .object({
                  serial: z.string(),
                  genTime: z.string(),
                  policy: z.string(),
                  hashAlgorithm: z.string(),
                  imprint: z.string(),
                  nonce: z.string().optional(),
                  accuracyMs: z.number().optional(),
                })
                .optional(),
              tsa: z.object({ subject: z.string(), serial: z.string() }).optional(),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const { body } = request
        if (body.data !== undefined && body.imprint !== undefined) {
          throw new DomainError('INVALID_INPUT', 'imprint: 与 data 只能给出其一 / give data or imprint, not both', {
            field: 'imprint',
          })
        }
        const decode = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
        const result = await service().verify({
          token: decode(body.token),
          data: body.data === undefined ? undefined : decode(body.data),
          imprint: body.imprint === undefined ? undefined : new Uint8Array(Buffer.from(body.imprint, 'hex')),
          hashAlgorithm: body.hashAlgorithm,
        })
        return {
          valid: result.valid,
          checks: [...result.checks],
          ...(result.tstInfo && {
            tstInfo: {
              serial: result.tstInfo.serial,
              genTime: result.tstInfo.genTime.toISOString(),
              policy: result.tstInfo.policy,
              hashAlgorithm: result.tstInfo.hashAlgorithm,
              imprint: result.tstInfo.imprint,
              ...(result.tstInfo.nonce !== undefined && { nonce: result.tstInfo.nonce }),
              ...(result.tstInfo.accuracyMs !== undefined && { accuracyMs: result.tstInfo.accuracyMs }),
            },
          }),
          ...(result.tsa && { tsa: result.tsa }),
        }
      },
    )
  }
}
