import type { CertificateState, IssuedCertificate, IssuedCertificateRepository, RevocationReason } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { CertificatesTable, Database } from '../schema.js'

function toDomain(row: Selectable<CertificatesTable>): IssuedCertificate {
  return {
    kind: 'certificate',
    id: row.id,
    serialHex: row.serial,
    issuerId: row.issuer_id,
    subject: row.subject,
    staffId: row.staff_id ?? undefined,
    holderId: row.holder_id,
    holderActor: row.holder_actor ?? undefined,
    profile: row.profile_id,
    ca: Number(row.ca) === 1,
    status: row.status as CertificateState,
    statusChangedAt: new Date(row.status_changed_at),
    revocation:
      row.revocation_reason && row.revoked_at
        ? {
            reason: row.revocation_reason as RevocationReason,
            at: new Date(row.revoked_at),
            by: row.revoked_by ?? '',
            invalidityDate: row.invalidity_date ? new Date(row.invalidity_date) : undefined,
          }
        : undefined,
    supersededBy: row.superseded_by ?? undefined,
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
    der: new Uint8Array(Buffer.from(row.der, 'base64')),
    version: Number(row.version),
    createdAt: new Date(row.created_at),
  }
}

/** The columns a lifecycle transition may change. */
function mutable(c: IssuedCertificate) {
  return {
    status: c.status,
    status_changed_at: c.statusChangedAt.toISOString(),
    revocation_reason: c.revocation?.reason ?? null,
    revoked_at: c.revocation?.at.toISOString() ?? null,
    revoked_by: c.revocation?.by ?? null,
    invalidity_date: c.revocation?.invalidityDate?.toISOString() ?? null,
    superseded_by: c.supersededBy ?? null,
    version: c.version,
  }
}

function rowOf(c: IssuedCertificate) {
  return {
    id: c.id,
    serial: c.serialHex,
    issuer_id: c.issuerId,
    subject: c.subject,
    staff_id: c.staffId ?? null,
    holder_id: c.holderId,
    holder_actor: c.holderActor ?? null,
    profile_id: c.profile,
    ca: c.ca ? 1 : 0,
    not_before: c.notBefore.toISOString(),
    not_after: c.notAfter.toISOString(),
    der: Buffer.from(c.der).toString('base64'),
    created_at: c.createdAt.toISOString(),
    ...mutable(c),
  }
}

export function certificateRepository(db: Kysely<Database>): IssuedCertificateRepository {
  const select = () => db.selectFrom('certificates').selectAll()
  return {
    async insert(c) {
      await db.insertInto('certificates').values(rowOf(c)).execute()
    },
    async insertUnlessSerialTaken(c) {
      const inserted = await db
        .insertInto('certificates')
        .values(rowOf(c))
        .onConflict((oc) => oc.columns(['issuer_id', 'serial']).doNothing())
        .returning('id')
        .executeTakeFirst()
      return inserted !== undefined
    },
    async find(id) {
      const row = await select().where('id', '=', id).executeTakeFirst()
      return row && toDomain(row)
    },
    async findBySerial(issuerId, serialHex) {
      const row = await select().where('issuer_id', '=', issuerId).where('serial', '=', serialHex).executeTakeFirst()
      return row && toDomain(row)
    },
    async statusBySerial(issuerId, serialHex) {
      const row = await db
        .selectFrom('certificates')
        .select(['status', 'status_changed_at', 'revocation_reason', 'revoked_at'])
        .where('issuer_id', '=', issuerId)
        .where('serial', '=', serialHex)
        .executeTakeFirst()
      return (
        row && {
          status: row.status as CertificateState,
          statusChangedAt: new Date(row.status_changed_at),
          revocation:
            row.revocation_reason && row.revoked_at
              ? { reason: row.revocation_reason as RevocationReason, at: new Date(row.revoked_at) }
              : undefined,
        }
      )
    },
    async listBySerial(serialHex) {
      const rows = await select()
        .where('serial', '=', serialHex)
        .orderBy('created_at')
        .orderBy('id')
        .limit(10)
        .execute()
      return rows.map(toDomain)
    },
    async listRevoked(issuerId, now) {
      const rows = await select()
        .where('issuer_id', '=', issuerId)
        .where('status', 'in', ['revoked', 'suspended'])
        .where('not_after', '>', now.toISOString())
        .orderBy('serial')
        .execute()
      return rows.map(toDomain)
    },
    async listByStaff(staffId) {
      const rows = await select().where('staff_id', '=', staffId).orderBy('created_at').orderBy('id').execute()
      return rows.map(toDomain)
    },
    async update(c) {
      const result = await db
        .updateTable('certificates')
        .set(mutable(c))
        .where('id', '=', c.id)
        .where('version', '=', c.version - 1)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
  }
}
