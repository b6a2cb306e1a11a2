import { type Kysely, Migrator } from 'kysely'
import { migrationProvider, migrations } from './migrations/index.js'
import type { Database } from './schema.js'

export interface MigrationStatus {
  readonly applied: readonly string[]
  readonly pending: readonly string[]
  /** Applied in the database but unknown to this build: the database is newer than the code. */
  readonly unknown: readonly string[]
}

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: migrationProvider })
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

/** Applies every pending migration, each in its own transaction; returns the names applied now. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results } = await migrator(db).migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new MigrationError(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

export async function migrationStatus(db: Kysely<Database>): Promise<MigrationStatus> {
  const known = await migrator(db).getMigrations()
  const names = new Set(Object.keys(migrations))
  // getMigrations lists only migrations this build knows; the table (which exists once one has run) may hold newer ones.
  const recorded = known.some((m) => m.executedAt !== undefined)
    ? (
        await db
          .selectFrom('kysely_migration' as never)
          .select('name' as never)
          .execute()
      ).map((r) => (r as { name: string }).name)
    : []
  return {
    applied: known.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: known.filter((m) => m.executedAt === undefined).map((m) => m.name),
    unknown: recorded.filter((n) => !names.has(n)),
  }
}
