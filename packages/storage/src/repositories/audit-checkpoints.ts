import type {
  AuditCheckpoint,
  AuditCheckpointRepository,
  AuditRetentionRepository,
  AuditSigningKey,
  AuditSigningKeyRepository,
  CheckpointAlgorithm,
} from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { AuditCheckpointsTable, AuditSigningKeysTable, Database } from '../schema.js'

function checkpointOf(row: Selectable<AuditCheckpointsTable>): AuditCheckpoint {
  return {
    seq: Number(row.seq),
    recordHash: row.record_hash,
    at: new Date(row.at),
    count: Number(row.record_count),
    prevHash: row.prev_hash,
    hash: row.hash,
    keyId: row.key_id,
    algorithm: row.algorithm as CheckpointAlgorithm,
    signature: row.signature,
    ...(row.timestamp_token !== null && { timestampToken: row.timestamp_token }),
  }
}

function signingKeyOf(row: Selectable<AuditSigningKeysTable>): AuditSigningKey {
  return {
    id: row.id,
    algorithm: row.algorithm as CheckpointAlgorithm,
    publicKeyPem: row.public_key_pem,
    sealedPrivateKey: row.sealed_private_key,
    createdAt: new Date(row.created_at),
    ...(row.retired_at !== null && { retiredAt: new Date(row.retired_at) }),
  }
}

export function auditCheckpointRepository(db: Kysely<Database>): AuditCheckpointRepository {
  return {
    async latest() {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst()
      return row && checkpointOf(row)
    },
    async get(seq) {
      const row = await db.selectFrom('audit_checkpoints').selectAll().where('seq', '=', seq).executeTakeFirst()
      return row && checkpointOf(row)
    },
    async insertIfAbsent(c) {
      // ON CONFLICT DO NOTHING (any unique key: seq, prev_hash, hash) keeps a PostgreSQL transaction usable
      // where catching a unique violation would not.
      const result = await db
        .insertInto('audit_checkpoints')
        .values({
          seq: c.seq,
          record_hash: c.recordHash,
          at: c.at.toISOString(),
          record_count: c.count,
          prev_hash: c.prevHash,
          hash: c.hash,
          key_id: c.keyId,
          algorithm: c.algorithm,
          signature: c.signature,
          timestamp_token: c.timestampToken ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },
    async page(afterSeq, limit) {
      const rows = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map(checkpointOf)
    },
  }
}

export function auditSigningKeyRepository(db: Kysely<Database>): AuditSigningKeyRepository {
  return {
    async active() {
      const row = await db
        .selectFrom('audit_signing_keys')
        .selectAll()
        .where('retired_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst()
      return row && signingKeyOf(row)
    },
    async insert(key) {
      await db
        .insertInto('audit_signing_keys')
        .values({
          id: key.id,
          algorithm: key.algorithm,
          public_key_pem: key.publicKeyPem,
          sealed_private_key: key.sealedPrivateKey,
          created_at: key.createdAt.toISOString(),
          retired_at: key.retiredAt?.toISOString() ?? null,
        })
        .execute()
    },
    async publicKeys() {
      const rows = await db.selectFrom('audit_signing_keys').select(['id', 'public_key_pem']).orderBy('id').execute()
      return rows.map((r) => ({ keyId: r.id, publicKeyPem: r.public_key_pem }))
    },
  }
}

export function auditRetentionRepository(db: Kysely<Database>): AuditRetentionRepository {
  return {
    async latestAnchor() {
      const row = await db
        .selectFrom('audit_retention_anchors')
        .selectAll()
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst()
      return (
        row && {
          seq: Number(row.seq),
          hash: row.hash,
          purgedAt: new Date(row.purged_at),
          purgedRows: Number(row.purged_rows),
          retentionDays: row.retention_days,
        }
      )
    },
    async firstSeqAtOrAfter(at) {
      const row = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .where('at', '>=', at.toISOString())
        .executeTakeFirst()
      return row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq)
    },
    async latestCheckpointBetween(afterSeq, beforeSeq) {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('seq', '>', afterSeq)
        .where('seq', '<', beforeSeq)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst()
      return row && checkpointOf(row)
    },
    async purgeThrough(anchor) {
      // The anchor first: a second instance purging at the same boundary waits here for the first, then inserts
      // nothing and deletes nothing.
      const inserted = await db
        .insertInto('audit_retention_anchors')
        .values({
          seq: anchor.seq,
          hash: anchor.hash,
          purged_at: anchor.purgedAt.toISOString(),
          purged_rows: 0,
          retention_days: anchor.retentionDays,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return undefined
      const result = await db.deleteFrom('audit_events').where('seq', '<=', anchor.seq).executeTakeFirst()
      const purgedRows = Number(result.numDeletedRows)
      await db
        .updateTable('audit_retention_anchors')
        .set({ purged_rows: purgedRows })
        .where('seq', '=', anchor.seq)
        .execute()
      return purgedRows
    },
  }
}
