import { createHash, createHmac, randomBytes } from 'node:crypto'
import {
  actorContext,
  type Clock,
  createRegisterClientSystem,
  createSecretBox,
  DomainError,
  hasPermission,
  isDomainError,
  isPermission,
  type Principal,
  type Role,
  SYSTEM_ACTOR,
} from '@yiqian/core'
import { createUnitOfWork, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import '../access/context.js'
import { installErrorHandling } from '../error-handler.js'
import {
  type ClientSystemAuthenticatorOptions,
  type ClientSystemServices,
  createClientSystemAuthenticator,
} from './authenticator.js'
import { installBodyDigest } from './body-digest.js'
import { clientSystemRoutes } from './routes.js'

// An app of its own, so that the clock and the rate limit are under the test's control: the error handling of the
// real server, the body digest, a stand-in for the access control that runs the authenticator in preValidation like
// the real one does, and console users named by an `x-test-roles` header. routes.contract.test.ts covers the real
// access control.
const T0 = Date.parse('2026-11-28T08:00:00.000Z')

async function buildTestApp(
  services: ClientSystemServices,
  options: ClientSystemAuthenticatorOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 4096 })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandling(app)
  installBodyDigest(app)
  const authenticate = createClientSystemAuthenticator(services, options)
  app.decorateRequest('principal', undefined)
  app.decorateRequest('actor', undefined as never)
  app.addHook('preValidation', async (request) => {
    const access = request.routeOptions.config.access
    let principal: Principal | undefined = await authenticate(request)
    const roles = request.headers['x-test-roles']
    if (!principal && typeof roles === 'string') {
      principal = { kind: 'user', id: 'u-1', name: 'tester', roles: roles.split(',') as Role[], departmentIds: [] }
    }
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'sign in first')
    if (access && isPermission(access) && !hasPermission(principal.roles, access)) {
      throw new DomainError('PERMISSION_DENIED', `requires ${access}`)
    }
    request.principal = principal
    request.actor = actorContext(principal, request.ip, request.id)
  })
  await app.register(clientSystemRoutes(services))
  app.post('/api/v1/echo', { config: { access: 'org.sync' } }, async (request) => ({
    principal: request.principal,
    body: request.body,
  }))
  app.get('/api/v1/echo', { config: { access: 'org.sync' } }, async (request) => ({ principal: request.principal }))
  return app
}

interface Credentials {
  readonly appId: string
  readonly secret: string
}

/** Signs with node:crypto only, as the docs tell an integrator to (independent of @yiqian/gm and the SDK). */
function signedHeaders(
  credentials: Credentials,
  method: string,
  path: string,
  body: string | Buffer,
  at: number,
  nonce = randomBytes(12).toString('base64url'),
) {
  const bodySm3 = createHash('sm3').update(body).digest('hex')
  const canonical = ['YIQIAN-HMAC-SM3', method, path, String(at), nonce, bodySm3].join('\n')
  return {
    'x-yiqian-app-id': credentials.appId,
    'x-yiqian-timestamp': String(at),
    'x-yiqian-nonce': nonce,
    'x-yiqian-signature': createHmac('sm3', credentials.secret).update(canonical).digest('base64'),
  }
}

for (const kind of testDialects()) {
  describe(`${kind}: client systems over HTTP`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let app: FastifyInstance
    let now = T0
    const clock: Clock = { now: () => new Date(now) }
    let services: ClientSystemServices
    let his: Credentials & { id: string }

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
      services = { uow: createUnitOfWork(storage.db, clock), clock, secretBox: createSecretBox(randomBytes(32)) }
      app = await buildTestApp(services)
      const issued = await createRegisterClientSystem(services)(
        {
          code: 'HIS',
          name: '住院医生工作站',
          rateLimitPerMinute: 600,
          ipAllowList: ['10.0.0.0/8', '2001:db8::/32'],
          scope: { departmentIds: ['d-icu', 'd-er'], documentTypes: ['*'] },
        },
        SYSTEM_ACTOR,
      )
      his = { id: issued.system.id, appId: issued.system.appId, secret: issued.secret }
    })
    afterAll(async () => {
      await app?.close()
      await storage?.close()
      await testDb?.drop()
    })
    beforeEach(() => {
      now += 1000
    })

    describe('signed requests', () => {
      it('accepts a POST signed over the raw body bytes, and yields the client-system principal', async () => {
        // Whitespace and key order that a re-serialisation would change: the digest is of the bytes as sent.
        const body = '{ "b": 1,\n  "a": "住院" }'
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/echo?x=1&y=%20',
          remoteAddress: '10.1.2.3',
          headers: {
            'content-type': 'application/json',
            ...signedHeaders(his, 'POST', '/api/v1/echo?x=1&y=%20', body, now),
          },
          payload: body,
        })
        expect(res.statusCode).toBe(200)
        expect(res.json()).toEqual({
          principal: {
            kind: 'client-system',
            id: his.id,
            name: his.appId,
            roles: ['client-system'],
            departmentIds: ['d-icu', 'd-er'],
          },
          body: { b: 1, a: '住院' },
        })
      })

      it('accepts a GET without a body (SM3 of the empty string) from an IPv4-mapped IPv6 address', async () => {
        const res = await app.inject({
          method: 'GET',
          url: '/api/v1/echo',
          remoteAddress: '::ffff:10.200.0.1',
          headers: signedHeaders(his, 'GET', '/api/v1/echo', '', now),
        })
        expect(res.statusCode).toBe(200)
      })

      it('accepts an IPv6 source inside the allow-list', async () => {
        const res = await app.inject({
          method: 'GET',
          url: '/api/v1/echo',
          remoteAddress: '2001:db8::42',
          headers: signedHeaders(his, 'GET', '/api/v1/echo', '', now),
        })
        expect(res.statusCode).toBe(200)
      })

      it.each([
        ['a body other than the one signed', 'bad-signature', { payload: '{"a":2}' }],
        ['a path other than the one signed', 'bad-signature', { url: '/api/v1/echo?x=2' }],
        ['a source outside the allow-list', 'ip-not-allowed', { remoteAddress: '192.168.0.1' }],
        ['a source outside the allow-list, IPv4-mapped', 'ip-not-allowed', { remoteAddress: '::ffff:192.168.0.1' }],
        ['a timestamp 6 minutes old', 'stale-timestamp', { at: -360_000 }],
        ['an unknown app id', 'unknown-app', { appId: 'ys_aaaaaaaaaaaaaaaa' }],
        ['no signature', 'missing-header:x-yiqian-signature', { drop: 'x-yiqian-signature' }],
      ])('answers 401 with the reason for %s', async (_, reason, change) => {
        const c = change as {
          payload?: string
          url?: string
          remoteAddress?: string
          at?: number
          appId?: string
          drop?: string
        }
        const body = '{"a":1}'
        const headers: Record<string, string> = signedHeaders(
          { ...his, ...(c.appId && { appId: c.appId }) },
          'POST',
          '/api/v1/echo?x=1',
          body,
          now + (c.at ?? 0),
        )
        if (c.drop) delete headers[c.drop]
        const res = await app.inject({
          method: 'POST',
          url: c.url ?? '/api/v1/echo?x=1',
          remoteAddress: c.remoteAddress ?? '10.0.0.1',
          headers: { 'content-type': 'application/json', ...headers },
          payload: c.payload ?? body,
        })
        expect(res.statusCode).toBe(401)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 })
        expect(res.json().detail).toMatch(new RegExp(`: ${reason}$`))
        expect(res.body).not.toContain(his.secret)
      })

      it('answers a replay with 401 replayed-nonce', async () => {
        const headers = signedHeaders(his, 'GET', '/api/v1/echo', '', now)
        const first = await app.inject({ method: 'GET', url: '/api/v1/echo', remoteAddress: '10.0.0.1', headers })
        const again = await app.inject({ method: 'GET', url: '/api/v1/echo', remoteAddress: '10.0.0.1', headers })
        expect(first.statusCode).toBe(200)
        expect(again.statusCode).toBe(401)
        expect(again.json().detail).toMatch(/replayed-nonce$/)
      })

      it('limits a system to its requests per minute with a 429 problem', async () => {
        const issued = await createRegisterClientSystem(services)(
          { code: 'SLOW', name: '限流测试', rateLimitPerMinute: 2, scope: { departmentIds: [], documentTypes: [] } },
          SYSTEM_ACTOR,
        )
        const slow = { appId: issued.system.appId, secret: issued.secret }
        const call = () =>
          app.inject({
            method: 'GET',
            url: '/api/v1/echo',
            headers: signedHeaders(slow, 'GET', '/api/v1/echo', '', now),
          })
        expect((await call()).statusCode).toBe(200)
        expect((await call()).statusCode).toBe(200)
        const limited = await call()
        expect(limited.statusCode).toBe(429)
        expect(limited.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
        // One token comes back every 30 s at 2 per minute.
        now += 30_000
        expect((await call()).statusCode).toBe(200)
        expect((await call()).statusCode).toBe(429)
        // Another system's budget is its own.
        const other = await app.inject({
          method: 'GET',
          url: '/api/v1/echo',
          remoteAddress: '10.0.0.1',
          headers: signedHeaders(his, 'GET', '/api/v1/echo', '', now),
        })
        expect(other.statusCode).toBe(200)
      })

      it('checks a pinned certificate fingerprint only from the configured trusted header', async () => {
        const fingerprint = 'c0ffee'.repeat(10).concat('c0ff')
        const issued = await createRegisterClientSystem(services)(
          {
            code: 'ANES',
            name: '麻醉',
            certificateFingerprint: fingerprint,
            scope: { departmentIds: ['*'], documentTypes: ['*'] },
          },
          SYSTEM_ACTOR,
        )
        const anes = { appId: issued.system.appId, secret: issued.secret }
        const behindProxy = await buildTestApp(services, { certificateFingerprintHeader: 'X-Client-Cert-Fingerprint' })
        try {
          const call = (target: FastifyInstance, extra: Record<string, string>) =>
            target.inject({
              method: 'GET',
              url: '/api/v1/echo',
              headers: { ...signedHeaders(anes, 'GET', '/api/v1/echo', '', now), ...extra },
            })
          const pinned = { 'x-client-cert-fingerprint': fingerprint.toUpperCase() }
          expect((await call(behindProxy, pinned)).statusCode).toBe(200)
          const missing = await call(behindProxy, {})
          expect(missing.statusCode).toBe(401)
          expect(missing.json().detail).toMatch(/certificate-mismatch$/)
          const wrong = await call(behindProxy, { 'x-client-cert-fingerprint': 'ab'.repeat(32) })
          expect(wrong.json().detail).toMatch(/certificate-mismatch$/)
          // Without a configured header nothing the client sends is trusted, so a pinned system cannot pass.
          const untrusted = await call(app, pinned)
          expect(untrusted.statusCode).toBe(401)
          expect(untrusted.json().detail).toMatch(/certificate-mismatch$/)
        } finally {
          await behindProxy.close()
        }
      })

      it('throws the DomainError itself, and returns undefined without an app id header', async () => {
        const authenticate = createClientSystemAuthenticator(services)
        const request = (headers: Record<string, string>) =>
          ({ headers, method: 'GET', url: '/x', ip: '10.0.0.1', rawBodySm3: undefined }) as never
        expect(await authenticate(request({}))).toBeUndefined()
        const error = await authenticate(request({ 'x-yiqian-app-id': his.appId })).catch((e: unknown) => e)
        expect(isDomainError(error, 'UNAUTHENTICATED') && error.details.reason).toBe(
          'missing-header:x-yiqian-timestamp',
        )
      })
    })

    describe('registration routes', () => {
      const admin = { 'x-test-roles': 'sysadmin' }

      it('registers, shows the secret once, lists, changes and rotates', async () => {
        const created = await app.inject({
          method: 'POST',
          url: '/api/v1/client-systems',
          headers: admin,
          payload: {
            code: 'pacs',
            name: '影像归档',
            ipAllowList: ['10.8.0.0/16', 'fd00::/8'],
            scope: { departmentIds: ['*'], documentTypes: ['pacs.report'] },
          },
        })
        expect(created.statusCode).toBe(201)
        expect(created.headers['cache-control']).toBe('no-store')
        const { system, secret } = created.json()
        expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(system).toMatchObject({ code: 'PACS', enabled: true, rateLimitPerMinute: 600, version: 1 })
        expect(system.appId).toMatch(/^ys_[a-z2-7]{16}$/)

        const one = await app.inject({
          url: `/api/v1/client-systems/${system.id}`,
          headers: { 'x-test-roles': 'secadmin' },
        })
        expect(one.statusCode, one.body).toBe(200)
        expect(one.json()).toEqual(system)
        expect(one.body).not.toContain(secret)
        const list = await app.inject({ url: '/api/v1/client-systems', headers: admin })
        expect(list.json().items.map((s: { code: string }) => s.code)).toEqual(expect.arrayContaining(['HIS', 'PACS']))
        expect(list.body).not.toMatch(/sealed/i)

        const disabled = await app.inject({
          method: 'PATCH',
          url: `/api/v1/client-systems/${system.id}`,
          headers: admin,
          payload: { version: 1, enabled: false },
        })
        expect(disabled.json()).toMatchObject({ enabled: false, version: 2 })
        const stale = await app.inject({
          method: 'PATCH',
          url: `/api/v1/client-systems/${system.id}`,
          headers: admin,
          payload: { version: 1, name: 'x' },
        })
        expect(stale.statusCode).toBe(409)

        const rotated = await app.inject({
          method: 'POST',
          url: `/api/v1/client-systems/${system.id}/secret-rotation`,
          headers: admin,
          payload: { graceSeconds: 3600 },
        })
        expect(rotated.statusCode, rotated.body).toBe(200)
        expect(rotated.json().secret).not.toBe(secret)
        expect(rotated.json().system.previousSecretExpiresAt).toBe(new Date(now + 3_600_000).toISOString())
        const noBody = await app.inject({
          method: 'POST',
          url: `/api/v1/client-systems/${system.id}/secret-rotation`,
          headers: admin,
        })
        expect(noBody.statusCode, noBody.body).toBe(200)
        expect(noBody.json().system.previousSecretExpiresAt).toBeNull()
        const missing = await app.inject({ url: '/api/v1/client-systems/nope', headers: admin })
        expect(missing.statusCode).toBe(404)
        expect(missing.json().code).toBe('CLIENT_SYSTEM_NOT_FOUND')
      })

      it.each([
        [{ code: 'BAD CODE', name: 'x', scope: { departmentIds: [], documentTypes: [] } }, 'body.code'],
        [{ code: 'A', name: '', scope: { departmentIds: [], documentTypes: [] } }, 'body.name'],
        [
          { code: 'A', name: 'x', ipAllowList: ['10.0.0.1/8'], scope: { departmentIds: [], documentTypes: [] } },
          'body.ipAllowList.0',
        ],
        [
          { code: 'A', name: 'x', ipAllowList: ['2001:db8::/129'], scope: { departmentIds: [], documentTypes: [] } },
          'body.ipAllowList.0',
        ],
        [
          { code: 'A', name: 'x', rateLimitPerMinute: 0, scope: { departmentIds: [], documentTypes: [] } },
          'body.rateLimitPerMinute',
        ],
        [{ code: 'A', name: 'x', scope: { departmentIds: ['*', 'd1'], documentTypes: [] } }, 'scope.departmentIds'],
        [{ code: 'A', name: 'x' }, 'body.scope'],
        [{ code: 'A', name: 'x', scope: { departmentIds: [], documentTypes: [] }, secret: 'mine' }, 'body'],
      ])('answers 400 naming the field for %j', async (payload, field) => {
        const res = await app.inject({ method: 'POST', url: '/api/v1/client-systems', headers: admin, payload })
        expect(res.statusCode).toBe(400)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(JSON.stringify(res.json())).toContain(field)
      })
    })
  })
}
