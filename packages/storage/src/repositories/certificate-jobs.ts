import type {
  CertificateJobRepository,
  CertificateReminder,
  JobLease,
  JobLeaseRepository,
  JobOutcome,
  Notification,
  NotificationRepository,
  ReminderRepository,
  ReminderStatus,
} from '@yiqian/core'
import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely'
import type { CertificateRemindersTable, Database, JobLeasesTable, NotificationsTable } from '../schema.js'

const date = (value: string | null): Date | undefined => (value === null ? undefined : new Date(value))

function leaseOf(row: Selectable<JobLeasesTable>): JobLease {
  return {
    name: row.name,
    holder: row.holder,
    expiresAt: new Date(row.expires_at),
    runCount: Number(row.run_count),
    lastStartedAt: date(row.last_started_at),
    lastFinishedAt: date(row.last_finished_at),
    lastOutcome: (row.last_outcome ?? undefined) as JobOutcome | undefined,
    lastError: row.last_error ?? undefined,
  }
}

/** Job leases: the take-over is one INSERT … ON CONFLICT DO UPDATE … WHERE, atomic on SQLite and PostgreSQL. */
export function jobLeaseRepository(db: Kysely<Database>): JobLeaseRepository {
  return {
    async tryAcquire(name, holder, now, ttlMs) {
      const at = now.toISOString()
      const expiresAt = new Date(now.getTime() + ttlMs).toISOString()
      const taken = await db
        .insertInto('job_leases')
        .values({ name, holder, expires_at: expiresAt, run_count: 1, last_started_at: at })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => ({
              holder: eb.ref('excluded.holder'),
              expires_at: eb.ref('excluded.expires_at'),
              run_count: sql<number>`job_leases.run_count + 1`,
              last_started_at: eb.ref('excluded.last_started_at'),
            }))
            .where((eb) => eb.or([eb('job_leases.expires_at', '<=', at), eb('job_leases.holder', '=', holder)])),
        )
        .returning('name')
        .execute()
      return taken.length === 1
    },
    async release(name, holder, result) {
      const updated = await db
        .updateTable('job_leases')
        .set({
          expires_at: result.until.toISOString(),
          last_finished_at: result.finishedAt.toISOString(),
          last_outcome: result.outcome,
          last_error: result.error?.slice(0, 1000) ?? null,
        })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .executeTakeFirst()
      return Number(updated.numUpdatedRows) === 1
    },
    async find(name) {
      const row = await db.selectFrom('job_leases').selectAll().where('name', '=', name).executeTakeFirst()
      return row && leaseOf(row)
    },
    async list() {
      return (await db.selectFrom('job_leases').selectAll().orderBy('name').execute()).map(leaseOf)
    },
  }
}

/** The queries of the CRL, OCSP and expiry jobs over the certificates table (read only). */
export function certificateJobRepository(db: Kysely<Database>): CertificateJobRepository {
  return {
    async listExpiredIds(now, limit) {
      const rows = await db
        .selectFrom('certificates')
        .select('id')
        .where('status', 'in', ['active', 'suspended'])
        .where('not_after', '<=', now.toISOString())
        .orderBy('not_after')
        .orderBy('id')
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },
    async hasEndEntityCertificates(issuerId) {
      const row = await db
        .selectFrom('certificates')
        .select('id')
        .where('issuer_id', '=', issuerId)
        .where('ca', '=', 0)
        .where('profile_id', '!=', 'ocsp-signer')
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },
  }
}

function statusOf(row: Selectable<CertificateRemindersTable>): ReminderStatus {
  if (row.delivered_at !== null) return 'delivered'
  return row.next_attempt_at === null ? 'failed' : 'pending'
}

function reminderOf(row: Selectable<CertificateRemindersTable>): CertificateReminder {
  return {
    certificateId: row.certificate_id,
    daysBefore: Number(row.days_before),
    staffId: row.staff_id,
    serialHex: row.serial,
    notAfter: new Date(row.not_after),
    createdAt: new Date(row.created_at),
    deliveredAt: date(row.delivered_at),
    attempts: Number(row.attempts),
    lastError: row.last_error ?? undefined,
    nextAttemptAt: date(row.next_attempt_at),
    status: statusOf(row),
  }
}

/** pending: undelivered and still to be tried; failed: undelivered and given up (no next attempt). */
function whereStatus(status: ReminderStatus) {
  return (eb: ExpressionBuilder<Database, 'certificate_reminders'>) => {
    if (status === 'delivered') return eb('delivered_at', 'is not', null)
    return eb.and([eb('delivered_at', 'is', null), eb('next_attempt_at', status === 'pending' ? 'is not' : 'is', null)])
  }
}

export function reminderRepository(db: Kysely<Database>): ReminderRepository {
  const key = (certificateId: string, daysBefore: number) =>
    db
      .updateTable('certificate_reminders')
      .where('certificate_id', '=', certificateId)
      .where('days_before', '=', daysBefore)
  return {
    async listExpiring({ after, until, daysBefore, limit }) {
      const rows = await db
        .selectFrom('certificates as c')
        .select(['c.id', 'c.serial', 'c.staff_id', 'c.not_after'])
        .where('c.status', '=', 'active')
        .where('c.staff_id', 'is not', null)
        .where('c.not_after', '>', after.toISOString())
        .where('c.not_after', '<=', until.toISOString())
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('certificate_reminders as r')
                .select('r.certificate_id')
                .whereRef('r.certificate_id', '=', 'c.id')
                .where('r.days_before', '=', daysBefore),
            ),
          ),
        )
        .orderBy('c.not_after')
        .orderBy('c.id')
        .limit(limit)
        .execute()
      return rows.map((r) => ({
        certificateId: r.id,
        serialHex: r.serial,
        staffId: r.staff_id ?? '',
        notAfter: new Date(r.not_after),
      }))
    },
    async insert({ certificate, daysBefore, createdAt, deliveredAt, nextAttemptAt }) {
      const inserted = await db
        .insertInto('certificate_reminders')
        .values({
          certificate_id: certificate.certificateId,
          days_before: daysBefore,
          staff_id: certificate.staffId,
          serial: certificate.serialHex,
          not_after: certificate.notAfter.toISOString(),
          created_at: createdAt.toISOString(),
          delivered_at: deliveredAt?.toISOString() ?? null,
          attempts: 0,
          last_error: null,
          next_attempt_at: nextAttemptAt?.toISOString() ?? null,
        })
        .onConflict((oc) => oc.columns(['certificate_id', 'days_before']).doNothing())
        .returning('certificate_id')
        .execute()
      return inserted.length === 1
    },
    async listRetryable(now, limit) {
      const rows = await db
        .selectFrom('certificate_reminders')
        .selectAll()
        .where('delivered_at', 'is', null)
        .where('next_attempt_at', 'is not', null)
        .where('next_attempt_at', '<=', now.toISOString())
        .orderBy('next_attempt_at')
        .orderBy('certificate_id')
        .limit(limit)
        .execute()
      return rows.map(reminderOf)
    },
    async claim(certificateId, daysBefore, seen, until) {
      const result = await key(certificateId, daysBefore)
        .set({ next_attempt_at: until.toISOString() })
        .where('delivered_at', 'is', null)
        .where('next_attempt_at', '=', seen.toISOString())
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async recordAttempt(certificateId, daysBefore, result) {
      await key(certificateId, daysBefore)
        .set((eb) =>
          result.delivered
            ? {
                attempts: eb('attempts', '+', 1),
                delivered_at: result.at.toISOString(),
                next_attempt_at: null,
                last_error: null,
              }
            : {
                attempts: eb('attempts', '+', 1),
                last_error: result.error.slice(0, 500),
                next_attempt_at: result.nextAttemptAt?.toISOString() ?? null,
              },
        )
        .execute()
    },
    async find(certificateId, daysBefore) {
      const row = await db
        .selectFrom('certificate_reminders')
        .selectAll()
        .where('certificate_id', '=', certificateId)
        .where('days_before', '=', daysBefore)
        .executeTakeFirst()
      return row && reminderOf(row)
    },
    async search({ status, offset, limit }) {
      let query = db.selectFrom('certificate_reminders')
      if (status) query = query.where(whereStatus(status))
      const rows = await query
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('certificate_id')
        .orderBy('days_before')
        .limit(limit)
        .offset(offset)
        .execute()
      const count = await query.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()
      return { items: rows.map(reminderOf), total: Number(count.n) }
    },
  }
}

function notificationOf(row: Selectable<NotificationsTable>): Notification {
  return {
    id: row.id,
    staffId: row.staff_id,
    kind: row.kind as Notification['kind'],
    title: { zh: row.title_zh, en: row.title_en },
    body: JSON.parse(row.body) as Record<string, unknown>,
    createdAt: new Date(row.created_at),
    readAt: date(row.read_at),
  }
}

export function notificationRepository(db: Kysely<Database>): NotificationRepository {
  return {
    async insert(n) {
      await db
        .insertInto('notifications')
        .values({
          id: n.id,
          staff_id: n.staffId,
          kind: n.kind,
          title_zh: n.title.zh,
          title_en: n.title.en,
          body: JSON.stringify(n.body),
          created_at: n.createdAt.toISOString(),
          read_at: n.readAt?.toISOString() ?? null,
        })
        .execute()
    },
    async listByStaff(staffId, limit) {
      const rows = await db
        .selectFrom('notifications')
        .selectAll()
        .where('staff_id', '=', staffId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute()
      return rows.map(notificationOf)
    },
  }
}
