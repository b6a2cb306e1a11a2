import { type AuditLog, type AuditOutcome, type AuditRecord, type Clock, sealAuditRecord } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { AuditEventsTable, Database } from '../schema.js'
import { auditLogReads } from './audit-log-reads.js'

function toDomain(row: Selectable<AuditEventsTable>): AuditRecord {
  return {
    seq: Number(row.seq),
    at: new Date(row.at),
    type: row.type,
    actor: row.actor,
    subject: row.subject ?? undefined,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
    ...(row.actor_role !== null && { actorRole: row.actor_role }),
    ...(row.source !== null && { source: row.source }),
    ...(row.outcome !== null && { outcome: row.outcome as AuditOutcome }),
    ...(row.request_id !== null && { requestId: row.request_id }),
  }
}

/** Must run inside a transaction: the head update, the insert and the caller's change commit together. */
export function auditLog(db: Kysely<Database>, clock: Clock): AuditLog {
  return {
    ...auditLogReads(db, toDomain),
    async append(event) {
      // Updating the head row takes its lock first, so concurrent transactions chain one after another
      // (PostgreSQL re-reads the row after the lock is released; SQLite has a single writer).
      const head = await db
        .updateTable('audit_head')
        .set((eb) => ({ seq: eb('seq', '+', 1) }))
        .where('id', '=', 1)
        .returning(['seq', 'hash'])
        .executeTakeFirstOrThrow()
      const record = sealAuditRecord({ seq: Number(head.seq) - 1, hash: head.hash }, event, clock.now())
      await db
        .insertInto('audit_events')
        .values({
          seq: record.seq,
          at: record.at.toISOString(),
          type: record.type,
          actor: record.actor,
          subject: record.subject ?? null,
          data: JSON.stringify(record.data ?? {}),
          prev_hash: record.prevHash,
          hash: record.hash,
          actor_role: record.actorRole ?? null,
          source: record.source ?? null,
          outcome: record.outcome ?? null,
          request_id: record.requestId ?? null,
        })
        .execute()
      await db.updateTable('audit_head').set({ hash: record.hash }).where('id', '=', 1).execute()
      return record
    },
    async countSince({ type, source, since }) {
      let query = db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('type', '=', type)
        .where('at', '>=', since.toISOString())
      if (source !== undefined) query = query.where('source', '=', source)
      const { n } = await query.executeTakeFirstOrThrow()
      return Number(n)
    },
    async range(from, to) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>=', from)
        .where('seq', '<', to)
        .orderBy('seq')
        .execute()
      return rows.map(toDomain)
    },
  }
}
