import type { Kysely } from 'kysely'

// Keys for certificate applications (issue 6): the public key an application is issued for (from a CSR the RA
// officer uploaded, or from two-party key generation with the holder's phone), the server's sealed half of each
// two-party staff key, and the key generation sessions in flight between the phone's two round trips.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('certificate_applications').addColumn('public_key', 'text').execute()
  await db.schema.alterTable('certificate_applications').addColumn('key_origin', 'text').execute()

  // The server's share d2 of a two-party SM2 key, sealed under the KEK (context bound to the key id). The phone's
  // share never reaches the server.
  await db.schema
    .createTable('staff_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('staff_id', 'text', (c) => c.notNull())
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('server_share', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('certificate_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('staff_keys_staff').on('staff_keys').column('staff_id').execute()
  await db.schema.createIndex('staff_keys_application').on('staff_keys').column('application_id').execute()

  // Key generation between the commit and the reveal: the server's session (holding d2, sealed) for one application.
  await db.schema
    .createTable('enrolment_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('session', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute()
  await db.schema
    .createIndex('enrolment_sessions_application')
    .on('enrolment_sessions')
    .column('application_id')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('enrolment_sessions').execute()
  await db.schema.dropTable('staff_keys').execute()
  await db.schema.alterTable('certificate_applications').dropColumn('key_origin').execute()
  await db.schema.alterTable('certificate_applications').dropColumn('public_key').execute()
}
