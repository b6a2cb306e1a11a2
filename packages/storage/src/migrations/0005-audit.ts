import type { Kysely } from 'kysely'

// Signed checkpoints over the audit chain, the keys that sign them, and the anchors retention purges leave.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_signing_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_key_pem', 'text', (c) => c.notNull())
    .addColumn('sealed_private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute()

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('record_hash', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('record_count', 'bigint', (c) => c.notNull())
    // Unique: a checkpoint has one successor, so two instances racing cannot fork the checkpoint chain.
    .addColumn('prev_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    // An RFC 3161 token over `hash`, once the TSA exists (issue 7).
    .addColumn('timestamp_token', 'text')
    .execute()

  await db.schema
    .createTable('audit_retention_anchors')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('purged_at', 'text', (c) => c.notNull())
    .addColumn('purged_rows', 'bigint', (c) => c.notNull())
    .addColumn('retention_days', 'integer', (c) => c.notNull())
    .execute()

  // The auditor's filters beyond time and actor (0002 indexes those).
  await db.schema.createIndex('audit_events_subject').on('audit_events').column('subject').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_subject').execute()
  await db.schema.dropTable('audit_retention_anchors').execute()
  await db.schema.dropTable('audit_checkpoints').execute()
  await db.schema.dropTable('audit_signing_keys').execute()
}
