import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import underPressure from '@fastify/under-pressure'
import type {
  AccessService,
  AccountAdministration,
  CaService,
  CertificateIssuer,
  Clock,
  KeyStore,
  SecretBox,
  TimeStampAuthority,
  UnitOfWork,
} from '@yiqian/core'
import type { Database } from '@yiqian/storage'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import type { Kysely } from 'kysely'
import { installAccessControl, type RequestAuthenticator } from './access/access-control.js'
import { authRoutes } from './access/routes.js'
import { accountRoutes } from './accounts/routes.js'
import { auditRoutes } from './audit/index.js'
import { caAdminRoutes } from './ca-admin/index.js'
import { certificateRoutes } from './certificates/index.js'
import { clientSystemRoutes, installBodyDigest } from './client-systems/index.js'
import { enrolmentRoutes } from './enrolment/routes.js'
import { installErrorHandling, sendProblem } from './error-handler.js'
import { organisationRoutes } from './organisation/index.js'
import { pkiRoutes } from './pki/index.js'
import { raRoutes } from './ra/index.js'
import { reminderRoutes } from './reminders/index.js'
import { healthRoutes, type Readiness } from './routes/health.js'
import { installMetrics } from './routes/metrics.js'
import { installWebApps, type WebApp } from './routes/web.js'
import { tsaRoutes } from './tsa/index.js'

/** The use cases and ports the routes work with, wired by the composition root (main.ts) or a test. */
export interface AppServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  readonly access: AccessService
  readonly accounts: AccountAdministration
  /** For read models that stream (audit export); writes go through `uow`. */
  readonly db: Kysely<Database>
  /** Client-system request authentication, tried before the session cookie. */
  readonly authenticators: readonly RequestAuthenticator[]
  /** Signing-key custody; absent when no KEK was configured (then the CA cannot sign). */
  readonly keyStore?: KeyStore | undefined
  /** The certificate authority (issue 6); absent without a key store. */
  readonly ca?: CaService | undefined
  /** The RA's port to the CA service; absent means issuing answers 503 CA_UNAVAILABLE. */
  readonly certificateIssuer?: CertificateIssuer | undefined
  /** The timestamp authority (issue 7): POST /tsa and /api/v1/tsa; fails closed without trusted time. */
  readonly tsa?: TimeStampAuthority | undefined
}

export interface AppOptions {
  readonly version: string
  readonly services: AppServices
  readonly readiness: Readiness
  /** A pino logger from the composition root, or false for none (tests). */
  readonly logger: FastifyBaseLogger | false
  readonly bodyLimit: number
  readonly webApps: readonly WebApp[]
  readonly metricsToken?: string | undefined
  /** Behind a reverse proxy: which X-Forwarded-For to believe for `request.ip` (audit, allow-lists, throttling). */
  readonly trustProxy?: boolean | string[] | undefined
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** A caller's `X-Request-Id` is kept when it is well-formed, so that logs can be joined across systems. */
function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/** Builds the HTTP application. No configuration is read here: everything arrives in `options`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    genReqId: requestIdOf,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: options.bodyLimit,
    // Slow-client protection: a request must arrive whole within a minute.
    requestTimeout: 60_000,
    connectionTimeout: 65_000,
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: false } },
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandling(app)
  const { services } = options
  // Before any route is added, so that every route's declared access is checked.
  await installAccessControl(app, {
    uow: services.uow,
    access: services.access,
    authenticators: services.authenticators,
    publicPrefixes: ['/docs', ...options.webApps.map((web) => web.prefix.replace(/\/$/, ''))],
  })
  installBodyDigest(app)
  // Per-route limits (sign-in); the global limit is under-pressure's.
  await app.register(rateLimit, { global: false })

  app.addHook('onSend', async function echoRequestId(request, reply) {
    reply.header('x-request-id', request.id)
  })

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Ant Design writes its styles at run time (CSS-in-JS).
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    // Plain HTTP on a hospital intranet is common behind a TLS-terminating proxy; HSTS belongs there.
    strictTransportSecurity: false,
  })

  await app.register(underPressure, {
    maxEventLoopDelay: 1000,
    pressureHandler: (request, reply) => {
      sendProblem(request, reply, 'SERVICE_UNAVAILABLE', { detail: '服务器繁忙 / the server is overloaded' })
    },
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: '医签 Yiqian API',
        version: options.version,
        description:
          '医院电子签名平台接口。错误均以 RFC 9457 problem+json 返回。\n\n' +
          'Electronic-signature platform for hospitals. Errors are RFC 9457 problem+json documents.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: [
        { name: 'operations', description: '运维 / Operations: health, readiness, metrics' },
        { name: 'auth', description: '登录与会话 / Sign-in and the session' },
        { name: 'accounts', description: '管理端账户与角色 / Console accounts and roles' },
        { name: 'policies', description: '安全策略 / Security policy' },
        { name: 'system', description: '系统配置 / System settings' },
        {
          name: 'organisation',
          description: '组织机构：机构、科室、人员、导入与同步 / Institutions, departments, staff, import, sync',
        },
        { name: 'client-systems', description: '业务系统接入 / Client systems' },
        { name: 'audit', description: '审计 / Audit trail' },
        { name: 'ra', description: '证书申请与审批（RA）/ Certificate applications (RA)' },
        { name: 'certificates', description: '证书管理与状态查询 / Issued certificates and their status' },
        { name: 'reports', description: '统计报表 / Reports' },
        { name: 'ca', description: 'CA 管理 / Certificate authorities' },
        { name: 'reminders', description: '证书到期提醒 / Certificate expiry reminders' },
        { name: 'tsa', description: '时间戳服务（RFC 3161）/ Timestamp authority (RFC 3161)' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // Swagger UI sets inline style attributes (a style hash would disable 'unsafe-inline'); the page must also
    // work over plain HTTP on an intranet and without reaching validator.swagger.io.
    transformStaticCSP: (header) =>
      header
        .replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';")
        .replace(/font-src [^;]*;/, "font-src 'self' data:;")
        .replace(' validator.swagger.io', '')
        .replace(/\s*upgrade-insecure-requests;/, ''),
    uiConfig: { docExpansion: 'list', validatorUrl: null },
  })

  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger())

  await app.register(healthRoutes({ version: options.version, readiness: options.readiness }))
  installMetrics(app, { token: options.metricsToken })
  await app.register(authRoutes(services))
  await app.register(accountRoutes(services))
  await app.register(auditRoutes(services))
  await app.register(clientSystemRoutes(services))
  await app.register(organisationRoutes(services))
  await app.register(raRoutes(services))
  await app.register(enrolmentRoutes(services))
  await app.register(reminderRoutes(services))
  await app.register(pkiRoutes(services))
  await app.register(certificateRoutes(services))
  await app.register(caAdminRoutes(services))
  await app.register(tsaRoutes(services))
  await installWebApps(app, options.webApps)

  return app
}
