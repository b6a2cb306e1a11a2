import { type Kysely, sql } from 'kysely'

// RA certificate applications (issue 6). The subject is JSON text; the activation code is stored only as its keyed
// hash (SecretBox.blindIndex). No foreign key to the CA's certificates table (0007-ca): the serial is recorded as
// text once issued, so the two migrations do not depend on each other.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('certificate_applications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('department_id', 'text')
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('replaces', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('holder_actor', 'text')
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('reason', 'text')
    .addColumn('activation_code_hash', 'text')
    .addColumn('activation_expires_at', 'text')
    .addColumn('activation_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('activation_redeemed_at', 'text')
    .addColumn('certificate_id', 'text')
    .addColumn('certificate_serial', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  // The RA list: by status, newest first; by staff; by department.
  await db.schema
    .createIndex('certificate_applications_status')
    .on('certificate_applications')
    .columns(['status', 'requested_at'])
    .execute()
  await db.schema
    .createIndex('certificate_applications_staff')
    .on('certificate_applications')
    .column('staff_id')
    .execute()
  await db.schema
    .createIndex('certificate_applications_department')
    .on('certificate_applications')
    .column('department_id')
    .execute()
  // At most one open (pending or approved) application per staff member, even for concurrent requests.
  await sql`create unique index certificate_applications_one_open on certificate_applications (staff_id) where status in ('pending', 'approved')`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('certificate_applications').execute()
}
