import type { Kysely } from 'kysely'

// Certificate search and reports (issue: certificate management API): newest-first paging and report periods read
// by created_at, expiry lists by not_after, the profile filter by profile_id.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('certificates_created').on('certificates').columns(['created_at', 'id']).execute()
  await db.schema.createIndex('certificates_not_after').on('certificates').column('not_after').execute()
  await db.schema.createIndex('certificates_profile').on('certificates').column('profile_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('certificates_profile').execute()
  await db.schema.dropIndex('certificates_not_after').execute()
  await db.schema.dropIndex('certificates_created').execute()
}
