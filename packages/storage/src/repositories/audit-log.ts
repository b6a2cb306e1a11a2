import { type AuditLog, type AuditOutcome, type AuditRecord, type Clock, sealAuditRecord } from '@yiqian/core'
import { type Kysely, PostgresAdapter, type Selectable } from 'kysely'
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
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  /** The last record this transaction appended: the head, whose row lock the transaction holds. */
  let held: { seq: number; hash: string } | undefined
  return {
    ...auditLogReads(db, toDomain),
    async append(event) {
      // The first append of a transaction updates the head row, which takes its lock: concurrent transactions chain
      // one after another (PostgreSQL re-reads the row after the lock is released; SQLite has a single writer). Later
      // appends in the same transaction hold that lock already, so they reuse the head they know and write the event
      // and the new head in one statement on PostgreSQL. Outside a transaction nothing is remembered.
      let prev = db.isTransaction ? held : undefined
      if (!prev) {
        const head = await db
          .updateTable('audit_head')
          .set((eb) => ({ seq: eb('seq', '+', 1) }))
          .where('id', '=', 1)
          .returning(['seq', 'hash'])
          .executeTakeFirstOrThrow()
        prev = { seq: Number(head.seq) - 1, hash: head.hash }
      }
      const record = sealAuditRecord(prev, event, clock.now())
      const row = {
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
      }
      const head = { seq: record.seq, hash: record.hash }
      if (postgres) {
        await db
          .with('head', (w) => w.updateTable('audit_head').set(head).where('id', '=', 1))
          .insertInto('audit_events')
          .values(row)
          .execute()
      } else {
        await db.insertInto('audit_events').values(row).execute()
        await db.updateTable('audit_head').set(head).where('id', '=', 1).execute()
      }
      // Only once both are written: a failed statement leaves the head as the database has it.
      if (db.isTransaction) held = { seq: record.seq, hash: record.hash }
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
