import type { KeyAlgorithm, KeyPurpose, KeyRepository, StoredKey } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { Database, KeysTable } from '../schema.js'

function toDomain(row: Selectable<KeysTable>): StoredKey {
  return {
    id: row.id,
    algorithm: row.algorithm as KeyAlgorithm,
    label: row.label,
    purpose: row.purpose as KeyPurpose,
    origin: row.origin === 'imported' ? 'imported' : 'generated',
    publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64')),
    sealedPrivateKey: new Uint8Array(Buffer.from(row.sealed_private_key, 'base64')),
    kekId: row.kek_id,
    createdAt: new Date(row.created_at),
    sealedAt: new Date(row.sealed_at),
    retiredAt: row.retired_at ? new Date(row.retired_at) : undefined,
  }
}

function toRow(key: StoredKey): KeysTable {
  return {
    id: key.id,
    algorithm: key.algorithm,
    label: key.label,
    purpose: key.purpose,
    origin: key.origin,
    public_key: Buffer.from(key.publicKey).toString('base64'),
    sealed_private_key: Buffer.from(key.sealedPrivateKey).toString('base64'),
    kek_id: key.kekId,
    created_at: key.createdAt.toISOString(),
    sealed_at: key.sealedAt.toISOString(),
    retired_at: key.retiredAt?.toISOString() ?? null,
  }
}

export function keyRepository(db: Kysely<Database>): KeyRepository {
  return {
    async insert(key) {
      await db.insertInto('keys').values(toRow(key)).execute()
    },
    async find(id) {
      const row = await db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst()
      return row && toDomain(row)
    },
    async list() {
      const rows = await db.selectFrom('keys').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map(toDomain)
    },
    async listSealedOtherThan(kekId) {
      const rows = await db
        .selectFrom('keys')
        .selectAll()
        .where('kek_id', '<>', kekId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(toDomain)
    },
    async reseal(id, fromKekId, sealed, toKekId, at) {
      const result = await db
        .updateTable('keys')
        .set({
          sealed_private_key: Buffer.from(sealed).toString('base64'),
          kek_id: toKekId,
          sealed_at: at.toISOString(),
        })
        .where('id', '=', id)
        .where('kek_id', '=', fromKekId)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async retire(id, at) {
      const result = await db
        .updateTable('keys')
        .set({ retired_at: at.toISOString() })
        .where('id', '=', id)
        .where('retired_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
  }
}
