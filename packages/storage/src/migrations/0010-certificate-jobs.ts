import type { Kysely } from 'kysely'

// Scheduled certificate jobs (issue 7): job leases, so that of several server instances one runs each job per round;
// expiry reminders, whose primary key makes them idempotent across runs and instances; in-app notifications.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per job. A holder may run the job while `expires_at` is in the future; after a run the lease is kept until
  // the next run is due, so that another instance does not repeat the same round.
  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('run_count', 'integer', (c) => c.notNull())
    .addColumn('last_started_at', 'text')
    .addColumn('last_finished_at', 'text')
    .addColumn('last_outcome', 'text')
    .addColumn('last_error', 'text')
    .execute()

  // One reminder per certificate and threshold. staff_id, serial and not_after are copied from the certificate so that
  // the webhook can be retried and the list shown without reading the certificate again.
  await db.schema
    .createTable('certificate_reminders')
    .addColumn('certificate_id', 'text', (c) => c.notNull().references('certificates.id'))
    .addColumn('days_before', 'integer', (c) => c.notNull())
    .addColumn('staff_id', 'text', (c) => c.notNull())
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    // When the webhook is next tried; null once delivered or given up.
    .addColumn('next_attempt_at', 'text')
    .addPrimaryKeyConstraint('certificate_reminders_pk', ['certificate_id', 'days_before'])
    .execute()
  await db.schema
    .createIndex('certificate_reminders_next_attempt')
    .on('certificate_reminders')
    .column('next_attempt_at')
    .execute()
  await db.schema
    .createIndex('certificate_reminders_created')
    .on('certificate_reminders')
    .column('created_at')
    .execute()

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('staff_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('title_zh', 'text', (c) => c.notNull())
    .addColumn('title_en', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('read_at', 'text')
    .execute()
  await db.schema.createIndex('notifications_staff').on('notifications').columns(['staff_id', 'created_at']).execute()
  // The reminder job looks for active certificates by expiry.
  await db.schema.createIndex('certificates_expiry_jobs').on('certificates').columns(['status', 'not_after']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('certificates_expiry_jobs').execute()
  await db.schema.dropTable('notifications').execute()
  await db.schema.dropTable('certificate_reminders').execute()
  await db.schema.dropTable('job_leases').execute()
}
