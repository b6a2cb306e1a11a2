import { createTestDatabase, type TestDatabase } from '@yiqian/storage/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, startServer, yiqian } from './harness.js'

// `YIQIAN_WORKERS=2`: the primary prepares once, two workers share the port and answer; SIGTERM stops them all.
describe('postgres: yiqian serve with two workers', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase('postgres')
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('prepares once, serves from both workers and stops cleanly', { timeout: 120_000 }, async () => {
    const server = await startServer(
      { YIQIAN_DATA: db.dataDir, DATABASE_URL: db.databaseUrl, YIQIAN_WORKERS: '2' },
      60_000,
    )
    try {
      // The primary announces only once both workers are listening.
      expect(server.output().stderr).toContain('2 个工作进程 / workers')
      // One hierarchy and one administrator, although three processes ran the preparation.
      const client = new pg.Client({ connectionString: db.databaseUrl })
      await client.connect()
      try {
        const cas = await client.query('select count(*)::int as n from certificate_authorities')
        expect(cas.rows[0].n).toBe(2)
        const admins = await client.query('select count(*)::int as n from accounts')
        expect(admins.rows[0].n).toBe(1)
      } finally {
        await client.end()
      }
      const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${server.url}/readyz`)))
      expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200))
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  it('refuses several workers on SQLite, naming YIQIAN_WORKERS', async () => {
    const result = await finish(yiqian(['serve'], { YIQIAN_DATA: db.dataDir, YIQIAN_WORKERS: '2' }))
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('YIQIAN_WORKERS')
  })
})
