import {
  type ClientSystemView,
  createListClientSystems,
  createRegisterClientSystem,
  createRotateClientSystemSecret,
  createUpdateClientSystem,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  CLIENT_SYSTEM_LIMITS as LIMITS,
  parseIpBlock,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ProblemSchema } from '../schemas.js'
import type { ClientSystemServices } from './authenticator.js'

const TAG = 'client-systems'

const Token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u, 'printable, without leading or trailing spaces')

const IpEntry = z
  .string()
  .min(1)
  .max(64)
  .superRefine((value, ctx) => {
    try {
      parseIpBlock(value)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
    }
  })

const Scope = z
  .object({
    departmentIds: z.array(Token(LIMITS.departmentId)).max(LIMITS.departmentIds),
    documentTypes: z.array(Token(LIMITS.documentType)).max(LIMITS.documentTypes),
  })
  .strict()
  .describe('`["*"]` means any; `[]` means none (the system may not submit anything until it is granted)')

const Name = z.string().trim().min(1).max(LIMITS.name)
const IpAllowList = z.array(IpEntry).max(LIMITS.ipAllowList).describe('CIDR blocks or addresses; [] allows any')
const RateLimit = z.number().int().min(1).max(LIMITS.rateLimitPerMinute)
const Fingerprint = z
  .string()
  .max(95)
  .regex(
    /^(?:[0-9A-Fa-f]{2}:?){19}[0-9A-Fa-f]{2}$|^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/,
    'SHA-1, SHA-256 or SM3 hex',
  )
  .nullable()
  .describe('pinned client-certificate fingerprint (hex, colons allowed); null for none')

const ClientSystem = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    appId: z.string(),
    enabled: z.boolean(),
    ipAllowList: z.array(z.string()),
    rateLimitPerMinute: z.number().int(),
    scope: z.object({ departmentIds: z.array(z.string()), documentTypes: z.array(z.string()) }),
    certificateFingerprint: z.string().nullable(),
    secretRotatedAt: z.string(),
    previousSecretExpiresAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .meta({ id: 'ClientSystem' })

const IssuedSecret = z
  .object({
    system: ClientSystem,
    secret: z.string().describe('只显示这一次 / shown this once only: store it in the clinical system now'),
  })
  .meta({ id: 'ClientSystemSecret' })

const IdParams = z.object({ id: z.string().min(1).max(64) })

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema }

function render(view: ClientSystemView): z.infer<typeof ClientSystem> {
  return {
    ...view,
    ipAllowList: [...view.ipAllowList],
    scope: { departmentIds: [...view.scope.departmentIds], documentTypes: [...view.scope.documentTypes] },
    certificateFingerprint: view.certificateFingerprint ?? null,
    secretRotatedAt: view.secretRotatedAt.toISOString(),
    previousSecretExpiresAt: view.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: view.createdAt.toISOString(),
    updatedAt: view.updatedAt.toISOString(),
  }
}

/** 业务系统管理 / client-system registration: /api/v1/client-systems. */
export function clientSystemRoutes(services: ClientSystemServices): FastifyPluginAsyncZod {
  const { listClientSystems, getClientSystem } = createListClientSystems(services)
  const register = createRegisterClientSystem(services)
  const update = createUpdateClientSystem(services)
  const rotate = createRotateClientSystemSecret(services)

  return async function clientSystems(app) {
    app.get(
      '/api/v1/client-systems',
      {
        config: { access: 'client-systems.read' },
        schema: {
          tags: [TAG],
          summary: '业务系统列表 / List client systems',
          response: { 200: z.object({ items: z.array(ClientSystem) }), ...problems },
        },
      },
      async () => ({ items: (await listClientSystems()).map(render) }),
    )

    app.get(
      '/api/v1/client-systems/:id',
      {
        config: { access: 'client-systems.read' },
        schema: {
          tags: [TAG],
          summary: '业务系统详情 / One client system',
          params: IdParams,
          response: { 200: ClientSystem, 404: ProblemSchema, ...problems },
        },
      },
      async (request) => render(await getClientSystem(request.params.id)),
    )

    app.post(
      '/api/v1/client-systems',
      {
        config: { access: 'client-systems.write' },
        schema: {
          tags: [TAG],
          summary: '注册业务系统 / Register a client system',
          description: 'Returns the app id and the secret. The secret is shown only in this response.',
          body: z
            .object({
              code: z
                .string()
                .min(1)
                .max(LIMITS.code)
                .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "letters, digits, '_' or '-'"),
              name: Name,
              enabled: z.boolean().optional(),
              ipAllowList: IpAllowList.optional(),
              rateLimitPerMinute: RateLimit.optional().describe(`default ${DEFAULT_RATE_LIMIT_PER_MINUTE}`),
              scope: Scope,
              certificateFingerprint: Fingerprint.optional(),
            })
            .strict(),
          response: { 201: IssuedSecret, 409: ProblemSchema, ...problems },
        },
      },
      async (request, reply) => {
        const issued = await register(request.body, request.actor)
        reply.header('cache-control', 'no-store')
        return reply.code(201).send({ system: render(issued.system), secret: issued.secret })
      },
    )

    app.patch(
      '/api/v1/client-systems/:id',
      {
        config: { access: 'client-systems.write' },
        schema: {
          tags: [TAG],
          summary: '修改业务系统（含启用/停用） / Change, enable or disable a client system',
          params: IdParams,
          body: z
            .object({
              version: z.number().int().min(1).describe('the version last read; a stale one gives 409'),
              name: Name.optional(),
              enabled: z.boolean().optional(),
              ipAllowList: IpAllowList.optional(),
              rateLimitPerMinute: RateLimit.optional(),
              scope: Scope.optional(),
              certificateFingerprint: Fingerprint.optional(),
            })
            .strict(),
          response: { 200: ClientSystem, 404: ProblemSchema, 409: ProblemSchema, ...problems },
        },
      },
      async (request) => render(await update(request.params.id, request.body, request.actor)),
    )

    app.post(
      '/api/v1/client-systems/:id/secret-rotation',
      {
        config: { access: 'client-systems.write' },
        schema: {
          tags: [TAG],
          summary: '更换密钥 / Rotate the secret',
          description:
            'Issues a new secret, shown only in this response. The old one stays valid for `graceSeconds` ' +
            '(default 0: it stops working at once).',
          params: IdParams,
          body: z
            .object({ graceSeconds: z.number().int().min(0).max(LIMITS.graceSeconds).optional() })
            .strict()
            .nullish(),
          response: { 200: IssuedSecret, 404: ProblemSchema, 409: ProblemSchema, ...problems },
        },
      },
      async (request, reply) => {
        const issued = await rotate(request.params.id, request.body ?? {}, request.actor)
        reply.header('cache-control', 'no-store')
        return { system: render(issued.system), secret: issued.secret }
      },
    )
  }
}
