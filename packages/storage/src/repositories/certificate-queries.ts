import type {
  CertificateListing,
  CertificateQueryRepository,
  CertificateSearch,
  CertificateState,
  ReportCounts,
  ReportQuery,
  RevocationReason,
} from '@yiqian/core'
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely'
import type { Database } from '../schema.js'

// Read-only queries over issued certificates for the console: a certificate joined with its holder, the holder's
// primary department (position 0) and institution. Statuses are effective at `now` (an active certificate past
// notAfter counts as expired); timestamps are ISO-8601 UTC text, so string comparison orders them.

/** LIKE pattern text with its wildcards escaped (used with ESCAPE '\'). */
function likeText(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`)
}

function count(value: unknown): number {
  return Number(value ?? 0)
}

function base(db: Kysely<Database>) {
  return db
    .selectFrom('certificates as c')
    .leftJoin('staff as s', 's.id', 'c.staff_id')
    .leftJoin('staff_departments as sd', (join) =>
      join.onRef('sd.staff_id', '=', 'c.staff_id').on('sd.position', '=', 0),
    )
    .leftJoin('departments as d', 'd.id', 'sd.department_id')
    .leftJoin('institutions as i', 'i.id', 's.institution_id')
}

type Base = ReturnType<typeof base>
type Eb = Base extends SelectQueryBuilder<infer DB, infer TB, infer _O> ? ExpressionBuilder<DB, TB> : never

/** SQL for "effectively in `state` at `now`". */
function stateIs(eb: Eb, state: CertificateState, now: string): Expression<SqlBool> {
  switch (state) {
    case 'revoked':
      return eb('c.status', '=', 'revoked')
    case 'expired':
      return eb.and([
        eb('c.status', '<>', 'revoked'),
        eb.or([eb('c.status', '=', 'expired'), eb('c.not_after', '<=', now)]),
      ])
    default:
      return eb.and([eb('c.status', '=', state), eb('c.not_after', '>', now)])
  }
}

function inDepartments(eb: Eb, departmentIds: readonly string[]): Expression<SqlBool> {
  // `in ()` is a syntax error on PostgreSQL: no department, no certificate.
  if (departmentIds.length === 0) return sql<SqlBool>`1 = 0`
  return eb.exists(
    eb
      .selectFrom('staff_departments as x')
      .select('x.staff_id')
      .whereRef('x.staff_id', '=', 'c.staff_id')
      .where('x.department_id', 'in', [...departmentIds]),
  )
}

function searchConditions(eb: Eb, q: CertificateSearch): Expression<SqlBool> {
  const now = q.now.toISOString()
  const conditions: Expression<SqlBool>[] = []
  if (q.q) {
    const text = likeText(q.q.toLowerCase())
    conditions.push(
      eb.or([
        sql<SqlBool>`lower(${sql.ref('c.subject')}) like ${`%${text}%`} escape '\\'`,
        sql<SqlBool>`${sql.ref('c.serial')} like ${`${text}%`} escape '\\'`,
      ]),
    )
  }
  if (q.status) conditions.push(stateIs(eb, q.status, now))
  if (q.staffId !== undefined) conditions.push(eb('c.staff_id', '=', q.staffId))
  if (q.serial !== undefined) conditions.push(eb('c.serial', '=', q.serial))
  if (q.profile !== undefined) conditions.push(eb('c.profile_id', '=', q.profile))
  if (q.departmentIds !== undefined) conditions.push(inDepartments(eb, q.departmentIds))
  if (q.expiringBefore) {
    conditions.push(eb('c.status', 'in', ['active', 'suspended']))
    conditions.push(eb('c.not_after', '>', now))
    conditions.push(eb('c.not_after', '<=', q.expiringBefore.toISOString()))
  }
  return eb.and(conditions)
}

function listingQuery(db: Kysely<Database>) {
  return base(db).select([
    'c.id',
    'c.serial',
    'c.issuer_id',
    'c.subject',
    'c.staff_id',
    's.name as staff_name',
    'sd.department_id',
    'd.name as department_name',
    's.institution_id',
    'c.profile_id',
    'c.ca',
    'c.status',
    'c.status_changed_at',
    'c.revocation_reason',
    'c.revoked_at',
    'c.invalidity_date',
    'c.superseded_by',
    'c.not_before',
    'c.not_after',
    'c.version',
    'c.created_at',
  ])
}

type ListingRow = Awaited<ReturnType<ReturnType<typeof listingQuery>['executeTakeFirstOrThrow']>>

function toListing(row: ListingRow): CertificateListing {
  return {
    id: row.id,
    serialHex: row.serial,
    issuerId: row.issuer_id,
    subject: row.subject,
    staffId: row.staff_id ?? undefined,
    staffName: row.staff_name ?? undefined,
    departmentId: row.department_id ?? undefined,
    departmentName: row.department_name ?? undefined,
    institutionId: row.institution_id ?? undefined,
    profile: row.profile_id,
    ca: Number(row.ca) === 1,
    status: row.status as CertificateState,
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
    statusChangedAt: new Date(row.status_changed_at),
    revocation:
      row.revocation_reason && row.revoked_at
        ? {
            reason: row.revocation_reason as RevocationReason,
            at: new Date(row.revoked_at),
            invalidityDate: row.invalidity_date ? new Date(row.invalidity_date) : undefined,
          }
        : undefined,
    supersededBy: row.superseded_by ?? undefined,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
  }
}

/** The group key and its label for each way of grouping a report. */
function groupOf(groupBy: ReportQuery['groupBy']) {
  switch (groupBy) {
    case 'institution':
      return {
        key: sql<string | null>`${sql.ref('s.institution_id')}`,
        label: sql<string | null>`max(${sql.ref('i.name')})`,
      }
    case 'department':
      return {
        key: sql<string | null>`${sql.ref('sd.department_id')}`,
        label: sql<string | null>`max(${sql.ref('d.name')})`,
      }
    case 'profile':
      return {
        key: sql<string | null>`${sql.ref('c.profile_id')}`,
        label: sql<string | null>`max(${sql.ref('c.profile_id')})`,
      }
    case 'month':
      return {
        key: sql<string | null>`substr(${sql.ref('c.created_at')}, 1, 7)`,
        label: sql<string | null>`max(substr(${sql.ref('c.created_at')}, 1, 7))`,
      }
  }
}

export function certificateQueryRepository(db: Kysely<Database>): CertificateQueryRepository {
  return {
    async search(query) {
      const filtered = () => base(db).where((eb) => searchConditions(eb, query))
      const [rows, total] = await Promise.all([
        listingQuery(db)
          .where((eb) => searchConditions(eb, query))
          .orderBy('c.created_at', 'desc')
          .orderBy('c.id', 'desc')
          .limit(query.limit)
          .offset(query.offset)
          .execute(),
        filtered()
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow(),
      ])
      return { items: rows.map(toListing), total: count(total.n) }
    },

    async listing(id) {
      const row = await listingQuery(db).where('c.id', '=', id).executeTakeFirst()
      return row && toListing(row)
    },

    async report(query) {
      const now = query.now.toISOString()
      const soon = query.expiringBefore.toISOString()
      const group = groupOf(query.groupBy)
      const sumWhen = (condition: ReturnType<typeof sql<SqlBool>>) =>
        sql<number | string>`sum(case when ${condition} then 1 else 0 end)`
      const status = sql.ref('c.status')
      const notAfter = sql.ref('c.not_after')
      const rows = await base(db)
        .where((eb) => {
          const conditions: Expression<SqlBool>[] = []
          if (query.from) conditions.push(eb('c.created_at', '>=', query.from.toISOString()))
          if (query.to) conditions.push(eb('c.created_at', '<', query.to.toISOString()))
          if (query.departmentIds !== undefined) conditions.push(inDepartments(eb, query.departmentIds))
          return eb.and(conditions)
        })
        .select([
          group.key.as('key'),
          group.label.as('label'),
          sql<number | string>`count(*)`.as('issued'),
          sumWhen(sql<SqlBool>`${status} = 'active' and ${notAfter} > ${now}`).as('active'),
          sumWhen(sql<SqlBool>`${status} = 'suspended' and ${notAfter} > ${now}`).as('suspended'),
          sumWhen(sql<SqlBool>`${status} = 'revoked'`).as('revoked'),
          sumWhen(sql<SqlBool>`${status} <> 'revoked' and (${status} = 'expired' or ${notAfter} <= ${now})`).as(
            'expired',
          ),
          sumWhen(
            sql<SqlBool>`${status} in ('active', 'suspended') and ${notAfter} > ${now} and ${notAfter} <= ${soon}`,
          ).as('expiring'),
        ])
        .groupBy(group.key)
        .execute()
      const out: ReportCounts[] = rows.map((row) => ({
        key: row.key ?? null,
        label: row.label ?? null,
        issued: count(row.issued),
        active: count(row.active),
        suspended: count(row.suspended),
        revoked: count(row.revoked),
        expired: count(row.expired),
        expiringIn30Days: count(row.expiring),
      }))
      // Groups without a key (no holder, no department) last; months in order, the rest by label.
      return out.sort((a, b) => {
        if (a.key === null || b.key === null) return a.key === b.key ? 0 : a.key === null ? 1 : -1
        const x = query.groupBy === 'month' ? a.key : `${a.label ?? ''}\u0000${a.key}`
        const y = query.groupBy === 'month' ? b.key : `${b.label ?? ''}\u0000${b.key}`
        return x < y ? -1 : x > y ? 1 : 0
      })
    },

    async issuedCounts() {
      const rows = await db
        .selectFrom('certificates')
        .select(['issuer_id', (eb) => eb.fn.countAll().as('n')])
        .groupBy('issuer_id')
        .execute()
      return new Map(rows.map((row) => [row.issuer_id, count(row.n)]))
    },
  }
}
