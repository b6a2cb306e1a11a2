import type { Kysely } from 'kysely'

// The certificate authority (issue 6): CAs whose keys live in the KeyStore (key_uri), their certificates and current
// CRL (base64 DER), and every certificate they issued. Rows are never deleted: a revoked or expired certificate must
// still be answerable by OCSP and verifiable in archives.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('certificate_authorities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_uri', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('certificate', 'text', (c) => c.notNull())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('certificate_authorities.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('crl', 'text')
    .addColumn('crl_number', 'integer', (c) => c.notNull())
    .addColumn('crl_next_update', 'text')
    // The delegated OCSP responder: its KeyStore URI and ocsp-signer certificate (base64 DER).
    .addColumn('ocsp_key_uri', 'text')
    .addColumn('ocsp_certificate', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('certificates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('issuer_id', 'text', (c) => c.notNull().references('certificate_authorities.id'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('staff_id', 'text')
    .addColumn('holder_id', 'text', (c) => c.notNull())
    .addColumn('holder_actor', 'text')
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('ca', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_changed_at', 'text', (c) => c.notNull())
    .addColumn('revocation_reason', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('revoked_by', 'text')
    .addColumn('invalidity_date', 'text')
    .addColumn('superseded_by', 'text')
    .addColumn('not_before', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('der', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('certificates_issuer_serial', ['issuer_id', 'serial'])
    .execute()
  // OCSP and revocation look up by serial; the CRL lists an issuer's revoked and suspended certificates.
  await db.schema.createIndex('certificates_serial').on('certificates').column('serial').execute()
  await db.schema
    .createIndex('certificates_issuer_status')
    .on('certificates')
    .columns(['issuer_id', 'status'])
    .execute()
  await db.schema.createIndex('certificates_staff').on('certificates').column('staff_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('certificates').execute()
  await db.schema.dropTable('certificate_authorities').execute()
}
