import { createTestDatabase, type TestDatabase } from '@yiqian/storage/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from './harness.js'

// The real process, a real SIGTERM, and 100 requests genuinely in flight: the test holds a lock on the
// migrations table, so every /readyz waits inside its database query until the test lets go.
describe('postgres: SIGTERM with 100 requests in flight', () => {
  let db: TestDatabase
  let server: RunningServer | undefined

  beforeAll(async () => {
    db = await createTestDatabase('postgres')
  })
  afterAll(async () => {
    await server?.stop('SIGKILL')
    await db?.drop()
  })

  it('completes every accepted request, refuses new connections, closes the database and exits 0', async () => {
    server = await startServer({ YIQIAN_DATA: db.dataDir, DATABASE_URL: db.databaseUrl })
    const { url } = server
    const locker = new pg.Client({ connectionString: db.databaseUrl })
    await locker.connect()
    try {
      await locker.query('begin')
      await locker.query('lock table kysely_migration in access exclusive mode')

      const responses = Array.from({ length: 100 }, () =>
        fetch(`${url}/readyz`).then(
          async (r) => ({ status: r.status, body: (await r.json()) as { status?: string } }),
          (error: unknown) => ({ status: 0, body: { status: String(error) } }),
        ),
      )
      // The server's own gauge of accepted, unanswered requests; the metrics request itself is one of them.
      const inFlight = async () => {
        const text = await (await fetch(`${url}/metrics`)).text()
        return Number(/^yiqian_http_requests_in_flight\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? -1) - 1
      }
      await expect.poll(inFlight, { timeout: 15_000, interval: 50 }).toBe(100)

      server.child.kill('SIGTERM')
      await expect.poll(() => server!.output().stdout.includes('shutting down'), { timeout: 5000 }).toBe(true)
      await expect(fetch(`${url}/healthz`)).rejects.toThrow()

      await locker.query('commit')
      const settled = await Promise.all(responses)
      expect(settled.map((r) => r.status)).toEqual(Array(100).fill(200))
      expect(settled.every((r) => r.body.status === 'ready')).toBe(true)
      expect(await server.exited).toBe(0)
      expect(server.output().stdout).toContain('"msg":"stopped"')
    } finally {
      await locker.end()
    }
    // The pool is closed: no connection from the server is left on the database.
    const admin = new pg.Client({ connectionString: db.databaseUrl })
    await admin.connect()
    const { rows } = await admin.query(
      'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    )
    await admin.end()
    expect(rows[0].n).toBe(0)
  })
})
