import type { Kysely } from 'kysely'

// The timestamp authority (issue 7): signing units (current key and certificate) with every key they ever had (a
// retired one stays to verify what it signed), the time sources handed to the synchroniser, one settings row
// (policies, tolerances, running/stopped, optimistic version) and the log of every token (serial primary key:
// uniqueness across instances is enforced here). Token rows are never updated or deleted.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tsa_units')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('ca_id', 'text', (c) => c.notNull().references('certificate_authorities.id'))
    .addColumn('policy', 'text')
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('key_uri', 'text', (c) => c.notNull())
    .addColumn('certificate', 'text', (c) => c.notNull())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('tsa_unit_keys')
    .addColumn('key_uri', 'text', (c) => c.primaryKey())
    .addColumn('unit_id', 'text', (c) => c.notNull().references('tsa_units.id'))
    .addColumn('certificate', 'text', (c) => c.notNull())
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute()

  await db.schema
    .createTable('tsa_time_sources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('tsa_settings')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('policies', 'text', (c) => c.notNull())
    .addColumn('default_policy', 'text', (c) => c.notNull())
    .addColumn('tolerance_ms', 'integer', (c) => c.notNull())
    .addColumn('holdover_seconds', 'integer', (c) => c.notNull())
    .addColumn('poll_interval_seconds', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_reason', 'text')
    .addColumn('state_changed_at', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()

  // ETSI EN 319 421 best-practices time-stamp policy (id-etsi-tsp-policy 0.4.0.2023.1.1) until the hospital names the
  // policy of its own TSA practice statement. (A per-installation 2.25.<UUID> OID cannot be used: its 128-bit arc is
  // beyond what the ASN.1 library decodes.)
  const policy = '0.4.0.2023.1.1'
  await (db as Kysely<{ tsa_settings: Record<string, unknown> }>)
    .insertInto('tsa_settings')
    .values({
      id: 1,
      policies: JSON.stringify([policy]),
      default_policy: policy,
      tolerance_ms: 100,
      holdover_seconds: 3600,
      poll_interval_seconds: 64,
      state: 'running',
      state_reason: null,
      state_changed_at: null,
      version: 1,
      updated_at: new Date().toISOString(),
    })
    .execute()

  await db.schema
    .createTable('tsa_tokens')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('unit_id', 'text', (c) => c.notNull())
    .addColumn('certificate_serial', 'text', (c) => c.notNull())
    .addColumn('gen_time', 'text', (c) => c.notNull())
    .addColumn('hash_algorithm', 'text', (c) => c.notNull())
    .addColumn('imprint', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text')
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('requester_ip', 'text', (c) => c.notNull())
    .addColumn('client_system_id', 'text')
    .execute()
  // The log reads newest first (and counts the last minute) by gen_time; searches by requester.
  await db.schema.createIndex('tsa_tokens_gen_time').on('tsa_tokens').columns(['gen_time', 'serial']).execute()
  await db.schema.createIndex('tsa_tokens_requester_ip').on('tsa_tokens').column('requester_ip').execute()
  await db.schema.createIndex('tsa_tokens_client_system').on('tsa_tokens').column('client_system_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tsa_tokens').execute()
  await db.schema.dropTable('tsa_settings').execute()
  await db.schema.dropTable('tsa_time_sources').execute()
  await db.schema.dropTable('tsa_unit_keys').execute()
  await db.schema.dropTable('tsa_units').execute()
}
