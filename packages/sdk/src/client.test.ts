import { buildApp } from '@yiqian/server'
import { publicRoutesOnlyServices } from '@yiqian/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, ProblemError } from './index.js'

// The client against the real HTTP application, listening on a free port.
describe('sdk client', () => {
  let ready = true
  let url = ''
  const appPromise = buildApp({
    services: publicRoutesOnlyServices(),
    version: '1.2.3',
    logger: false,
    bodyLimit: 4096,
    webApps: [],
    readiness: async () => ({
      database: { status: ready ? 'ok' : 'unreachable', dialect: 'sqlite' },
      migrations: { status: ready ? 'current' : 'unknown', pending: [] },
    }),
  })
  beforeAll(async () => {
    const app = await appPromise
    await app.listen({ host: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  })
  afterAll(async () => (await appPromise).close())

  it('reads health and readiness', async () => {
    const client = createClient({ baseUrl: `${url}/` })
    expect(await client.health()).toMatchObject({ status: 'ok', version: '1.2.3' })
    expect(await client.readiness()).toMatchObject({ status: 'ready' })
  })

  it('turns a problem into a ProblemError with the server code, in the language asked for', async () => {
    ready = false
    const client = createClient({ baseUrl: url, language: 'en' })
    const error = await client.readiness().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProblemError)
    expect((error as ProblemError).code).toBe('NOT_READY')
    expect((error as ProblemError).problem).toMatchObject({ status: 503, title: 'Service not ready' })
    ready = true
  })
})
