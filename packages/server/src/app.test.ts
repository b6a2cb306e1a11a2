import { validate as validateOpenApi } from '@readme/openapi-parser'
import { DomainError } from '@yiqian/core'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { buildApp } from './app.js'
import type { ReadinessReport } from './routes/health.js'
import { publicRoutesOnlyServices } from './testing.js'

const ready: ReadinessReport = {
  database: { status: 'ok', dialect: 'sqlite' },
  migrations: { status: 'current', pending: [] },
}

let app: FastifyInstance | undefined

async function appWith(overrides: { readiness?: () => Promise<ReadinessReport>; bodyLimit?: number } = {}) {
  app = await buildApp({
    services: publicRoutesOnlyServices(),
    version: '9.8.7',
    readiness: overrides.readiness ?? (async () => ready),
    logger: false,
    bodyLimit: overrides.bodyLimit ?? 4096,
    webApps: [{ prefix: '/console/', root: '/nonexistent/console/dist' }],
    metricsToken: 'a-metrics-token-of-enough-length',
  })
  return app
}

/** A route that exists only in these tests, to exercise the shared validation and error mapping. */
function addProbeRoute(instance: FastifyInstance) {
  instance.withTypeProvider<ZodTypeProvider>().post(
    '/probe',
    {
      config: { access: 'public' },
      schema: { body: z.object({ name: z.string().min(2), count: z.number().int().max(10) }) },
    },
    async (request) => {
      if (request.body.name === 'conflict') throw new DomainError('VERSION_CONFLICT', 'stale write of probe')
      if (request.body.name === 'crash') throw new Error('secret internal detail: password=hunter2')
      return { ok: true }
    },
  )
}

afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('route access declarations', () => {
  it('refuses to start when a route declares no access', async () => {
    const instance = await appWith()
    instance.get('/api/v1/forgotten', async () => ({ secret: true }))
    await expect(instance.ready()).rejects.toThrow(/without a declared access.*GET \/api\/v1\/forgotten/)
  })

  it('refuses an access that is not a known permission', async () => {
    const instance = await appWith()
    instance.get('/api/v1/typo', { config: { access: 'audit.raed' as 'audit.read' } }, async () => ({}))
    await expect(instance.ready()).rejects.toThrow(/GET \/api\/v1\/typo/)
  })
})

describe('operations endpoints', () => {
  it('answers /healthz with the version', async () => {
    const res = await (await appWith()).inject('/healthz')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'ok', version: '9.8.7' })
  })

  it('answers /readyz 200 when the database answers and migrations are current', async () => {
    const res = await (await appWith()).inject('/readyz')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'ready', checks: ready })
  })

  it.each([
    ['the database does not answer', { ...ready, database: { status: 'unreachable', dialect: 'postgres' } }],
    ['migrations are pending', { ...ready, migrations: { status: 'pending', pending: ['0002-next'] } }],
  ] as const)('answers /readyz 503 as a problem when %s', async (_, report) => {
    const res = await (await appWith({ readiness: async () => report as ReadinessReport })).inject('/readyz')
    expect(res.statusCode).toBe(503)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ status: 503, code: 'NOT_READY', checks: report })
  })

  it('serves Prometheus text on loopback and refuses other callers without the token', async () => {
    const instance = await appWith()
    await instance.inject('/healthz')
    const local = await instance.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })
    expect(local.statusCode).toBe(200)
    expect(local.headers['content-type']).toMatch(/^text\/plain/)
    expect(local.body).toMatch(/yiqian_http_request_duration_seconds_count\{[^}]*route="\/healthz"[^}]*\} 1/)
    expect(local.body).toContain('process_cpu_user_seconds_total')

    const remote = await instance.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })
    expect(remote.statusCode).toBe(403)
    expect(remote.json()).toMatchObject({ code: 'FORBIDDEN' })
    const wrong = await instance.inject({
      url: '/metrics',
      remoteAddress: '10.1.2.3',
      headers: { authorization: 'Bearer a-metrics-token-of-enough-lengtX' },
    })
    expect(wrong.statusCode).toBe(403)
    const withToken = await instance.inject({
      url: '/metrics',
      remoteAddress: '10.1.2.3',
      headers: { authorization: 'Bearer a-metrics-token-of-enough-length' },
    })
    expect(withToken.statusCode).toBe(200)
  })

  it('publishes a valid OpenAPI 3.1 document that describes the routes', async () => {
    const res = await (await appWith()).inject('/openapi.json')
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']))
    const result = await validateOpenApi(structuredClone(doc))
    expect(result.valid, JSON.stringify(result)).toBe(true)
    // The validator does reject a broken document (info.version missing), so the check above can fail.
    const broken = await validateOpenApi({ openapi: '3.1.0', info: { title: 'x' }, paths: {} } as never)
    expect(broken.valid).toBe(false)
  })

  it('serves the browsable API page at /docs', async () => {
    const instance = await appWith()
    const page = await instance.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.body).toMatch(/swagger/i)
    expect(page.headers['content-type']).toMatch(/text\/html/)
  })
})

describe('problems (RFC 9457)', () => {
  it('answers an unknown route with a problem in Chinese by default and in English on request', async () => {
    const instance = await appWith()
    const zh = await instance.inject('/no/such/route')
    expect(zh.statusCode).toBe(404)
    expect(zh.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(zh.json()).toMatchObject({
      type: 'urn:yiqian:problem:route-not-found',
      title: '接口不存在',
      status: 404,
      code: 'ROUTE_NOT_FOUND',
      instance: '/no/such/route',
    })
    const en = await instance.inject({
      url: '/no/such/route',
      headers: { 'accept-language': 'en-GB,en;q=0.9,zh;q=0.5' },
    })
    expect(en.json().title).toBe('No such endpoint')
  })

  it('names every field at fault', async () => {
    const instance = await appWith()
    addProbeRoute(instance)
    const res = await instance.inject({ method: 'POST', url: '/probe', payload: { name: 'x', count: 'many' } })
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(body.code).toBe('VALIDATION_FAILED')
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['body.count', 'body.name'])
    const missing = await instance.inject({ method: 'POST', url: '/probe', payload: { name: 'ok' } })
    expect(missing.json().errors).toEqual([expect.objectContaining({ field: 'body.count' })])
  })

  it('maps malformed JSON, oversized bodies and wrong media types to their problems', async () => {
    const instance = await appWith({ bodyLimit: 2048 })
    addProbeRoute(instance)
    const malformed = await instance.inject({
      method: 'POST',
      url: '/probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    })
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'MALFORMED_BODY'])
    const huge = await instance.inject({
      method: 'POST',
      url: '/probe',
      payload: { name: 'x'.repeat(4096), count: 1 },
    })
    expect([huge.statusCode, huge.json().code]).toEqual([413, 'BODY_TOO_LARGE'])
    const xml = await instance.inject({
      method: 'POST',
      url: '/probe',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    })
    expect([xml.statusCode, xml.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE'])
  })

  it('maps a domain error through the catalogue', async () => {
    const instance = await appWith()
    addProbeRoute(instance)
    const res = await instance.inject({ method: 'POST', url: '/probe', payload: { name: 'conflict', count: 1 } })
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ code: 'VERSION_CONFLICT', detail: 'stale write of probe' })
  })

  it('never leaks internals in a 500, and gives the request id to quote', async () => {
    const instance = await appWith()
    addProbeRoute(instance)
    const res = await instance.inject({
      method: 'POST',
      url: '/probe',
      payload: { name: 'crash', count: 1 },
      headers: { 'x-request-id': 'his-4711' },
    })
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain('hunter2')
    expect(res.body).not.toContain('secret')
    expect(res.json()).toMatchObject({ code: 'INTERNAL_ERROR', requestId: 'his-4711' })
    expect(res.headers['x-request-id']).toBe('his-4711')
  })

  it('replaces a malformed caller request id with its own', async () => {
    const res = await (await appWith()).inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\n<script>' } })
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('tells the operator to build a web app that is missing', async () => {
    const res = await (await appWith()).inject('/console/')
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ code: 'WEB_APP_NOT_BUILT' })
  })
})
