import type { AuditLogReads, AuditQuery, AuditRecord } from '@yiqian/core'
import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from 'kysely'
import type { AuditEventsTable, Database } from '../schema.js'

type EventsQuery<O> = SelectQueryBuilder<Database, 'audit_events', O>

function filtered<O>(qb: EventsQuery<O>, f: AuditQuery): EventsQuery<O> {
  let q = qb
  // `at` is ISO-8601 UTC text of one fixed width, so text order is time order on both databases.
  if (f.from) q = q.where('at', '>=', f.from.toISOString())
  if (f.to) q = q.where('at', '<', f.to.toISOString())
  if (f.actor !== undefined) q = q.where('actor', '=', f.actor)
  if (f.subject !== undefined) q = q.where('subject', '=', f.subject)
  if (f.source !== undefined) q = q.where('source', '=', f.source)
  if (f.outcome !== undefined) {
    // Rows written before outcomes were recorded count as successes (AuditEvent's documented default).
    const outcome = f.outcome
    q = q.where((eb) =>
      outcome === 'success'
        ? eb.or([eb('outcome', '=', outcome), eb('outcome', 'is', null)])
        : eb('outcome', '=', outcome),
    )
  }
  if (f.typePrefix) {
    // substr rather than LIKE: no wildcard escaping, and the same case-sensitive match on both databases.
    q = q.where(sql<string>`substr(type, 1, ${sql.lit(f.typePrefix.length)})`, '=', f.typePrefix)
  }
  return q
}

/** The read side of the audit log: paging for verification, filtered queries for auditors. */
export function auditLogReads(
  db: Kysely<Database>,
  toDomain: (row: Selectable<AuditEventsTable>) => AuditRecord,
): AuditLogReads {
  return {
    async head() {
      const head = await db
        .selectFrom('audit_head')
        .select(['seq', 'hash'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow()
      return { seq: Number(head.seq), hash: head.hash }
    },
    async get(seq) {
      const row = await db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirst()
      return row && toDomain(row)
    },
    async after(afterSeq, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map(toDomain)
    },
    async query(filter, page) {
      let q = filtered(db.selectFrom('audit_events').selectAll(), filter)
      if (page.cursor !== undefined) q = q.where('seq', page.order === 'asc' ? '>' : '<', page.cursor)
      const rows = await q.orderBy('seq', page.order).limit(page.limit).execute()
      return rows.map(toDomain)
    },
    async count(filter, upTo) {
      const matching = filtered(db.selectFrom('audit_events').select('seq'), filter).limit(upTo)
      const row = await db
        .selectFrom(matching.as('m'))
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
  }
}
