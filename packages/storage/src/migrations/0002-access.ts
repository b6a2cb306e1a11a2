import type { Kysely } from 'kysely'

// Identity and access: sign-in state of console accounts, sessions, settings and policies, and the request
// context (role, source address, outcome, request id) of every audit row.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Console accounts are not only administrators: RA officers and department managers sign in too.
  await db.schema.alterTable('administrators').renameTo('accounts').execute()
  await db.schema
    .alterTable('accounts')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .execute()
  await db.schema
    .alterTable('accounts')
    .addColumn('department_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute()
  await db.schema.alterTable('accounts').addColumn('totp_secret', 'text').execute()
  await db.schema.alterTable('accounts').addColumn('totp_last_step', 'bigint').execute()
  await db.schema
    .alterTable('accounts')
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema.alterTable('accounts').addColumn('locked_until', 'text').execute()
  await db.schema.alterTable('accounts').addColumn('password_changed_at', 'text').execute()
  await db.schema.alterTable('accounts').addColumn('last_login_at', 'text').execute()

  await db.schema
    .createTable('sessions')
    // SM3 of the cookie value: a stolen database does not yield live sessions.
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute()

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute()

  await db.schema.alterTable('audit_events').addColumn('actor_role', 'text').execute()
  await db.schema.alterTable('audit_events').addColumn('source', 'text').execute()
  await db.schema.alterTable('audit_events').addColumn('outcome', 'text').execute()
  await db.schema.alterTable('audit_events').addColumn('request_id', 'text').execute()
  // Counting recent failed sign-ins per source address (password spraying) and per actor.
  await db.schema
    .createIndex('audit_events_type_source_at')
    .on('audit_events')
    .columns(['type', 'source', 'at'])
    .execute()
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute()
  await db.schema.createIndex('audit_events_actor_at').on('audit_events').columns(['actor', 'at']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_actor_at').execute()
  await db.schema.dropIndex('audit_events_at').execute()
  await db.schema.dropIndex('audit_events_type_source_at').execute()
  for (const column of ['request_id', 'outcome', 'source', 'actor_role']) {
    await db.schema.alterTable('audit_events').dropColumn(column).execute()
  }
  await db.schema.dropTable('settings').execute()
  await db.schema.dropTable('sessions').execute()
  for (const column of [
    'last_login_at',
    'password_changed_at',
    'locked_until',
    'failed_logins',
    'totp_last_step',
    'totp_secret',
    'department_ids',
    'status',
  ]) {
    await db.schema.alterTable('accounts').dropColumn(column).execute()
  }
  await db.schema.alterTable('accounts').renameTo('administrators').execute()
}
