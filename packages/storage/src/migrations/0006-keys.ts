import type { Kysely } from 'kysely'

// `soft:` signing keys (issue 6): the private half is PKCS#8 sealed with SM4-GCM under the key-encryption key
// named by kek_id (base64 text, like every other sealed value), the public half SubjectPublicKeyInfo DER as base64.
// Rows are never deleted: a retired key may be needed to show what it signed.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('sealed_private_key', 'text', (c) => c.notNull())
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('sealed_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute()
  // A KEK rotation asks for the rows not yet under the new KEK.
  await db.schema.createIndex('keys_kek_id').on('keys').column('kek_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('keys').execute()
}
