import type { Migration, MigrationProvider } from 'kysely'
import * as m0001 from './0001-foundation.js'

/** Versioned migrations, applied in name order. Never edit one that has shipped: add the next. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-foundation': m0001,
}

export const migrationProvider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) }
