import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.js'

export type DialectName = 'sqlite' | 'postgres'

export interface StorageOptions {
  /** `postgres://…` selects PostgreSQL; absent selects the embedded SQLite file in `dataDir`. */
  readonly databaseUrl?: string | undefined
  readonly dataDir: string
  readonly poolSize?: number
  /** Offline tools (`yiqian audit verify`): no writes, no pragmas; the SQLite file must exist. */
  readonly readOnly?: boolean
}

export interface Storage {
  readonly db: Kysely<Database>
  readonly dialect: DialectName
  /** Where the data is, for logs: the SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string
  close(): Promise<void>
}

export const SQLITE_FILE = 'yiqian.db'

export function openStorage(options: StorageOptions): Storage {
  if (options.readOnly) {
    return options.databaseUrl
      ? openPostgres(options.databaseUrl, options.poolSize ?? 2, true)
      : openSqliteReadOnly(options.dataDir)
  }
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 20) : openSqlite(options.dataDir)
}

function openSqlite(dataDir: string): Storage {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, SQLITE_FILE)
  const sqlite = new SQLite(file)
  // WAL lets readers proceed during a write; synchronous=FULL makes every commit durable across power loss.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() }
}

const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely prepares every query it runs; better-sqlite3's prepare compiles the SQL each time, which costs more than
 * running a small query. Kysely runs a statement to completion before the next (all/run; streaming is not used), so
 * one prepared statement per SQL text can be reused. Oldest first out when the cache is full.
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>()
  const prepare = (source: string) => {
    let statement = cache.get(source)
    if (statement) return statement
    statement = sqlite.prepare(source)
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
    cache.set(source, statement)
    return statement
  }
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === 'prepare') return prepare
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function openSqliteReadOnly(dataDir: string): Storage {
  const file = join(dataDir, SQLITE_FILE)
  const sqlite = new SQLite(file, { readonly: true, fileMustExist: true })
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() }
}

function openPostgres(url: string, max: number, readOnly = false): Storage {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ...(readOnly && { options: '-c default_transaction_read_only=on' }),
  })
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => {})
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, dialect: 'postgres', location: redactUrl(url), close: () => db.destroy() }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(unparsable URL)'
  }
}
