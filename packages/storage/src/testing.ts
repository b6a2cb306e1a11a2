import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { DialectName } from './database.js'

/** A throw-away database for one test file: a temporary SQLite folder, or a PostgreSQL database of its own. */
export interface TestDatabase {
  readonly kind: DialectName
  /** Undefined for SQLite (the data folder holds the file). */
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  drop(): Promise<void>
}

/** The server that test runs create their databases on; the user needs CREATEDB. */
export const TEST_PG_ADMIN_URL = process.env.YIQIAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Which databases this run covers: `YIQIAN_TEST_DATABASES=sqlite,postgres` (default sqlite). */
export function testDialects(): DialectName[] {
  const wanted = (process.env.YIQIAN_TEST_DATABASES ?? 'sqlite').split(',').map((s) => s.trim())
  for (const w of wanted) if (w !== 'sqlite' && w !== 'postgres') throw new Error(`YIQIAN_TEST_DATABASES: unknown ${w}`)
  return wanted as DialectName[]
}

export async function createTestDatabase(kind: DialectName): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yiqian-test-'))
  if (kind === 'sqlite') {
    return { kind, databaseUrl: undefined, dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) }
  }
  const name = `yiqian_test_${randomBytes(6).toString('hex')}`
  await withAdmin((c) => c.query(`create database ${name}`))
  const url = new URL(TEST_PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    kind,
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`))
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

async function withAdmin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL })
  await client.connect()
  try {
    await fn(client)
  } finally {
    await client.end()
  }
}
