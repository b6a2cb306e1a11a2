import type { CaAlgorithm, CaStatus, CertificateAuthority, CertificateAuthorityRepository } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { CertificateAuthoritiesTable, Database } from '../schema.js'

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
const base64 = (der: Uint8Array) => Buffer.from(der).toString('base64')

function toDomain(row: Selectable<CertificateAuthoritiesTable>): CertificateAuthority {
  return {
    id: row.id,
    name: row.name,
    keyUri: row.key_uri,
    algorithm: row.algorithm as CaAlgorithm,
    certificate: bytes(row.certificate),
    chain: (JSON.parse(row.chain) as string[]).map(bytes),
    parentId: row.parent_id ?? undefined,
    status: row.status as CaStatus,
    crl: row.crl === null ? undefined : bytes(row.crl),
    crlNumber: Number(row.crl_number),
    crlNextUpdate: row.crl_next_update ? new Date(row.crl_next_update) : undefined,
    ocspResponder:
      row.ocsp_key_uri && row.ocsp_certificate
        ? { keyUri: row.ocsp_key_uri, certificate: bytes(row.ocsp_certificate) }
        : undefined,
    createdAt: new Date(row.created_at),
  }
}

export function certificateAuthorityRepository(db: Kysely<Database>): CertificateAuthorityRepository {
  return {
    async insert(ca) {
      await db
        .insertInto('certificate_authorities')
        .values({
          id: ca.id,
          name: ca.name,
          key_uri: ca.keyUri,
          algorithm: ca.algorithm,
          certificate: base64(ca.certificate),
          chain: JSON.stringify(ca.chain.map(base64)),
          parent_id: ca.parentId ?? null,
          status: ca.status,
          crl: ca.crl ? base64(ca.crl) : null,
          crl_number: ca.crlNumber,
          crl_next_update: ca.crlNextUpdate?.toISOString() ?? null,
          ocsp_key_uri: ca.ocspResponder?.keyUri ?? null,
          ocsp_certificate: ca.ocspResponder ? base64(ca.ocspResponder.certificate) : null,
          created_at: ca.createdAt.toISOString(),
        })
        .execute()
    },
    async find(id) {
      const row = await db.selectFrom('certificate_authorities').selectAll().where('id', '=', id).executeTakeFirst()
      return row && toDomain(row)
    },
    async list() {
      const rows = await db
        .selectFrom('certificate_authorities')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(toDomain)
    },
    async saveCrl(id, crl, previousNumber) {
      const result = await db
        .updateTable('certificate_authorities')
        .set({ crl: base64(crl.der), crl_number: crl.number, crl_next_update: crl.nextUpdate.toISOString() })
        .where('id', '=', id)
        .where('crl_number', '=', previousNumber)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async saveOcspResponder(id, responder) {
      await db
        .updateTable('certificate_authorities')
        .set({ ocsp_key_uri: responder.keyUri, ocsp_certificate: base64(responder.certificate) })
        .where('id', '=', id)
        .execute()
    },
  }
}
