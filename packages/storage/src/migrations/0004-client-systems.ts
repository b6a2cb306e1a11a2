import type { Kysely } from 'kysely'

// Client systems (业务系统) and the nonces of their signed requests. Lists are JSON text, times ISO-8601 text,
// booleans 0/1: the same columns on SQLite and PostgreSQL.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_systems')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull().unique())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('ip_allow_list', 'text', (c) => c.notNull())
    .addColumn('rate_limit_per_minute', 'integer', (c) => c.notNull())
    .addColumn('department_ids', 'text', (c) => c.notNull())
    .addColumn('document_types', 'text', (c) => c.notNull())
    .addColumn('certificate_fingerprint', 'text')
    .addColumn('sealed_secret', 'text', (c) => c.notNull())
    .addColumn('previous_sealed_secret', 'text')
    .addColumn('previous_secret_expires_at', 'text')
    .addColumn('secret_rotated_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()

  // Shared by every instance: the primary key makes a second use of a nonce fail wherever it arrives.
  await db.schema
    .createTable('request_nonces')
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('request_nonces_pk', ['app_id', 'nonce'])
    .execute()
  await db.schema.createIndex('request_nonces_expires_at').on('request_nonces').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('request_nonces').execute()
  await db.schema.dropTable('client_systems').execute()
}
