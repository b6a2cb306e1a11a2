import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { buildApp } from './app.js'
import type { ReadinessReport } from './routes/health.js'
import { publicRoutesOnlyServices } from './testing.js'

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('graceful shutdown', () => {
  it('finishes all 100 accepted requests that are in flight when it starts, and accepts no new ones', async () => {
    // Every /readyz waits at this gate, so all 100 are inside the handler when closing begins.
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    let inFlight = 0
    const app = await buildApp({
      services: publicRoutesOnlyServices(),
      version: 'test',
      logger: false,
      bodyLimit: 4096,
      webApps: [],
      readiness: async (): Promise<ReadinessReport> => {
        inFlight++
        await gate
        return { database: { status: 'ok', dialect: 'sqlite' }, migrations: { status: 'current', pending: [] } }
      },
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as { port: number }

    const responses = Array.from({ length: 100 }, () => get(port, '/readyz'))
    await expect.poll(() => inFlight, { timeout: 10_000, interval: 10 }).toBe(100)

    const closed = app.close()
    // The listening socket is gone at once: a new client is refused while the old ones are still served.
    await expect.poll(() => app.server.listening, { timeout: 5000, interval: 10 }).toBe(false)
    await expect(get(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/)

    open()
    const settled = await Promise.all(responses)
    expect(settled.map((r) => r.status)).toEqual(Array(100).fill(200))
    expect(settled.every((r) => JSON.parse(r.body).status === 'ready')).toBe(true)
    await closed
  })
})
