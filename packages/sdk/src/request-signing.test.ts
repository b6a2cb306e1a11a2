import { createHash, createHmac, randomBytes } from 'node:crypto'
import {
  type Clock,
  createRegisterClientSystem,
  createSecretBox,
  DomainError,
  type Principal,
  SYSTEM_ACTOR,
} from '@yiqian/core'
import { createClientSystemAuthenticator, installBodyDigest } from '@yiqian/server'
import { createUnitOfWork, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase } from '@yiqian/storage/testing'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalString, createClient, ProblemError, signRequest } from './index.js'

describe('signRequest', () => {
  it('signs the documented canonical string with HMAC-SM3, as node:crypto computes it', () => {
    const secret = 'q3Jx0Yb8n2k5VZ4pQ1r7T9sUwXyA6cDeFgHiJkLmNoP'
    const body = '{"documentType":"emr.note","departmentId":"d-icu"}'
    const headers = signRequest({
      appId: 'ys_abcdefghijklmnop',
      secret,
      method: 'post',
      path: '/api/v1/sign-requests?mode=instant',
      body: new TextEncoder().encode(body),
      now: new Date(1795852800000),
      nonce: 'n0nce_0123456789abcdef',
    })
    const canonical = [
      'YIQIAN-HMAC-SM3',
      'POST',
      '/api/v1/sign-requests?mode=instant',
      '1795852800000',
      'n0nce_0123456789abcdef',
      createHash('sm3').update(body).digest('hex'),
    ].join('\n')
    expect(headers).toEqual({
      'X-Yiqian-App-Id': 'ys_abcdefghijklmnop',
      'X-Yiqian-Timestamp': '1795852800000',
      'X-Yiqian-Nonce': 'n0nce_0123456789abcdef',
      'X-Yiqian-Signature': createHmac('sm3', secret).update(canonical).digest('base64'),
    })
    expect(canonicalString({ method: 'post', path: '/p', timestamp: '1', nonce: 'n', bodySm3: 'h' })).toBe(
      'YIQIAN-HMAC-SM3\nPOST\n/p\n1\nn\nh',
    )
  })

  it('uses SM3 of the empty string without a body, and a fresh nonce each time', () => {
    const base = { appId: 'ys_abcdefghijklmnop', secret: 's', method: 'GET', path: '/x', now: new Date(5) }
    const a = signRequest(base)
    const b = signRequest(base)
    expect(a['X-Yiqian-Nonce']).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(a['X-Yiqian-Nonce']).not.toBe(b['X-Yiqian-Nonce'])
    const canonical = ['YIQIAN-HMAC-SM3', 'GET', '/x', '5', a['X-Yiqian-Nonce'], createHash('sm3').digest('hex')]
    expect(a['X-Yiqian-Signature']).toBe(createHmac('sm3', 's').update(canonical.join('\n')).digest('base64'))
  })

  it.each([
    [{ nonce: 'short' }, /nonce/],
    [{ nonce: 'has space in it 0123' }, /nonce/],
    [{ path: 'api/v1/x' }, /path/],
  ])('refuses %j', (change, message) => {
    const base = { appId: 'ys_abcdefghijklmnop', secret: 's', method: 'GET', path: '/x' }
    expect(() => signRequest({ ...base, ...change })).toThrowError(message)
  })
})

// The SDK against the server's real authenticator over HTTP: a small app with the body digest and an access check
// that runs the authenticator in preValidation, as the server's access control does.
describe('a client with credentials', () => {
  let testDb: TestDatabase
  let storage: Storage
  let app: FastifyInstance
  let url = ''
  let credentials: { appId: string; secret: string }
  let now = Date.parse('2026-11-28T08:00:00.000Z')
  const clock: Clock = { now: () => new Date(now) }

  beforeAll(async () => {
    testDb = await createTestDatabase('sqlite')
    storage = openStorage({ dataDir: testDb.dataDir })
    await migrateToLatest(storage.db)
    const services = { uow: createUnitOfWork(storage.db, clock), clock, secretBox: createSecretBox(randomBytes(32)) }
    const issued = await createRegisterClientSystem(services)(
      { code: 'HIS', name: '住院医生工作站', scope: { departmentIds: ['*'], documentTypes: ['*'] } },
      SYSTEM_ACTOR,
    )
    credentials = { appId: issued.system.appId, secret: issued.secret }
    const authenticate = createClientSystemAuthenticator(services)

    app = Fastify({ logger: false })
    installBodyDigest(app)
    app.decorateRequest('principal', undefined)
    app.addHook('preValidation', async (request) => {
      request.principal = await authenticate(request)
      if (!request.principal) throw new DomainError('UNAUTHENTICATED', 'sign first')
    })
    app.setErrorHandler((error, _request, reply) => {
      const reason = error instanceof DomainError ? String(error.details.reason) : 'other'
      return reply
        .code(401)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'unauthenticated', status: 401, code: 'UNAUTHENTICATED', detail: reason })
    })
    const echo = async (request: { principal: Principal | undefined; body: unknown; url: string }) => ({
      appId: request.principal?.name,
      body: request.body ?? null,
      url: request.url,
    })
    app.get('/api/v1/echo', echo)
    app.post('/api/v1/echo', echo)
    await app.listen({ host: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  })
  afterAll(async () => {
    await app?.close()
    await storage?.close()
    await testDb?.drop()
  })

  it('signs a POST with a JSON body and a GET with a query so that the server accepts them', async () => {
    const client = createClient({ baseUrl: `${url}/`, credentials, now: clock.now })
    expect(await client.request('POST', '/api/v1/echo', { 名字: '张三', n: [1, 2] })).toEqual({
      appId: credentials.appId,
      body: { 名字: '张三', n: [1, 2] },
      url: '/api/v1/echo',
    })
    expect(await client.request('GET', '/api/v1/echo?dept=d%2F1&q=a b')).toMatchObject({
      appId: credentials.appId,
      url: '/api/v1/echo?dept=d%2F1&q=a%20b',
    })
  })

  it('is refused with a wrong secret or a clock 6 minutes off, as a ProblemError naming the reason', async () => {
    const wrong = createClient({
      baseUrl: url,
      credentials: { ...credentials, secret: 'x'.repeat(43) },
      now: clock.now,
    })
    const error = await wrong.request('GET', '/api/v1/echo').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProblemError)
    expect((error as ProblemError).problem).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'bad-signature' })
    const skewed = createClient({ baseUrl: url, credentials, now: () => new Date(now - 360_000) })
    const stale = await skewed.request('GET', '/api/v1/echo').catch((e: unknown) => e)
    expect((stale as ProblemError).problem.detail).toBe('stale-timestamp')
    now += 1
  })
})
