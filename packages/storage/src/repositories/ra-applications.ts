import {
  type ApplicationKind,
  type ApplicationState,
  DomainError,
  type KeyOrigin,
  type RaApplication,
  type RaApplicationRepository,
} from '@yiqian/core'
import type { Insertable, Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { CertificateApplicationsTable, Database } from '../schema.js'

// Chunks keep each statement under both engines' bound-parameter limits (24 columns × 400 rows < 32,766).
const ROWS_PER_INSERT = 400
const IDS_PER_QUERY = 1000

const PURPOSES = { apply: 'new', renew: 'renewal', recover: 'recovery' } as const

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const iso = (date: Date | undefined) => (date ? date.toISOString() : null)
const dateOf = (text: string | null) => (text === null ? undefined : new Date(text))

function rowOf(a: RaApplication): Insertable<CertificateApplicationsTable> {
  return {
    id: a.id,
    kind: a.applicationKind,
    staff_id: a.holderId,
    institution_id: a.institutionId,
    department_id: a.departmentId ?? null,
    profile_id: a.profile,
    replaces: a.replaces ?? null,
    subject: JSON.stringify(a.subject),
    status: a.status,
    holder_actor: a.holderActor ?? null,
    requested_by: a.requestedBy,
    requested_at: a.requestedAt.toISOString(),
    decided_by: a.decidedBy ?? null,
    decided_at: iso(a.decidedAt),
    reason: a.decisionReason ?? null,
    activation_code_hash: a.activation?.hash ?? null,
    activation_expires_at: iso(a.activation?.expiresAt),
    activation_attempts: a.activation?.attempts ?? 0,
    activation_redeemed_at: iso(a.activation?.redeemedAt),
    certificate_id: a.certificateId ?? null,
    certificate_serial: a.serialHex ?? null,
    public_key: a.publicKey ? Buffer.from(a.publicKey).toString('base64') : null,
    key_origin: a.keyOrigin ?? null,
    version: a.version,
    created_at: a.requestedAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  }
}

function applicationOf(row: Selectable<CertificateApplicationsTable>): RaApplication {
  const kind = row.kind as ApplicationKind
  return {
    kind: 'application',
    id: row.id,
    holderId: row.staff_id,
    holderActor: row.holder_actor ?? undefined,
    profile: row.profile_id,
    purpose: PURPOSES[kind],
    replaces: row.replaces ?? undefined,
    status: row.status as ApplicationState,
    requestedBy: row.requested_by,
    requestedAt: new Date(row.requested_at),
    decidedBy: row.decided_by ?? undefined,
    decidedAt: dateOf(row.decided_at),
    decisionReason: row.reason ?? undefined,
    certificateId: row.certificate_id ?? undefined,
    version: Number(row.version),
    applicationKind: kind,
    institutionId: row.institution_id,
    departmentId: row.department_id ?? undefined,
    subject: JSON.parse(row.subject) as Record<string, string>,
    activation:
      row.activation_code_hash === null || row.activation_expires_at === null
        ? undefined
        : {
            hash: row.activation_code_hash,
            expiresAt: new Date(row.activation_expires_at),
            attempts: Number(row.activation_attempts),
            redeemedAt: dateOf(row.activation_redeemed_at),
          },
    serialHex: row.certificate_serial ?? undefined,
    publicKey: row.public_key === null ? undefined : new Uint8Array(Buffer.from(row.public_key, 'base64')),
    keyOrigin: (row.key_origin ?? undefined) as KeyOrigin | undefined,
    updatedAt: new Date(row.updated_at),
  }
}

function openConflict(): DomainError {
  return new DomainError(
    'CERTIFICATE_APPLICATION_OPEN',
    '该人员已有待审批或待签发的申请 / the staff member already has a pending or approved application',
    { field: 'staffId' },
  )
}

export function raApplicationRepository(db: Kysely<Database>): RaApplicationRepository {
  return {
    async find(id) {
      const row = await db.selectFrom('certificate_applications').selectAll().where('id', '=', id).executeTakeFirst()
      return row && applicationOf(row)
    },
    async insertMany(applications) {
      try {
        for (const chunk of chunks(applications, ROWS_PER_INSERT)) {
          await db.insertInto('certificate_applications').values(chunk.map(rowOf)).execute()
        }
      } catch (error) {
        if (isUniqueViolation(error)) throw openConflict()
        throw error
      }
    },
    async update(application) {
      const { id, version, ...values } = rowOf(application)
      let result: { numUpdatedRows: bigint }
      try {
        result = await db
          .updateTable('certificate_applications')
          .set({ ...values, version })
          .where('id', '=', id)
          .where('version', '=', Number(version) - 1)
          .executeTakeFirstOrThrow()
      } catch (error) {
        if (isUniqueViolation(error)) throw openConflict()
        throw error
      }
      if (Number(result.numUpdatedRows) !== 1) {
        throw new DomainError(
          'VERSION_CONFLICT',
          `证书申请 ${id} 已被他人修改 / certificate application ${id} was changed by someone else`,
          { id, version },
        )
      }
    },
    async search(query) {
      let base = db.selectFrom('certificate_applications')
      if (query.status !== undefined) base = base.where('status', '=', query.status)
      if (query.kind !== undefined) base = base.where('kind', '=', query.kind)
      if (query.staffId !== undefined) base = base.where('staff_id', '=', query.staffId)
      if (query.departmentIds !== undefined) {
        const ids = query.departmentIds
        if (ids.length === 0) return { items: [], total: 0 }
        base = base.where('department_id', 'in', ids)
      }
      const count = await base.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow()
      const rows = await base
        .selectAll()
        .orderBy('requested_at', 'desc')
        .orderBy('id')
        .limit(query.limit)
        .offset(query.offset)
        .execute()
      return { items: rows.map(applicationOf), total: Number(count.n) }
    },
    async staffWithOpenApplications(staffIds) {
      const open = new Set<string>()
      for (const chunk of chunks(staffIds, IDS_PER_QUERY)) {
        const rows = await db
          .selectFrom('certificate_applications')
          .select('staff_id')
          .where('staff_id', 'in', chunk)
          .where('status', 'in', ['pending', 'approved'])
          .execute()
        for (const row of rows) open.add(row.staff_id)
      }
      return open
    },
  }
}
