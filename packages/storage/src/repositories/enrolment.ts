import {
  DomainError,
  type EnrolmentSession,
  type EnrolmentSessionRepository,
  type StaffKey,
  type StaffKeyRepository,
  type StaffKeyStatus,
} from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { Database, StaffKeysTable } from '../schema.js'

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')

function staffKeyOf(row: Selectable<StaffKeysTable>): StaffKey {
  return {
    id: row.id,
    staffId: row.staff_id,
    applicationId: row.application_id,
    publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64')),
    serverShare: row.server_share,
    status: row.status as StaffKeyStatus,
    certificateId: row.certificate_id ?? undefined,
    createdAt: new Date(row.created_at),
    version: Number(row.version),
  }
}

export function staffKeyRepository(db: Kysely<Database>): StaffKeyRepository {
  return {
    async insert(key) {
      await db
        .insertInto('staff_keys')
        .values({
          id: key.id,
          staff_id: key.staffId,
          application_id: key.applicationId,
          public_key: b64(key.publicKey),
          server_share: key.serverShare,
          status: key.status,
          certificate_id: key.certificateId ?? null,
          created_at: key.createdAt.toISOString(),
          version: key.version,
        })
        .execute()
    },
    async find(id) {
      const row = await db.selectFrom('staff_keys').selectAll().where('id', '=', id).executeTakeFirst()
      return row && staffKeyOf(row)
    },
    async listByStaff(staffId) {
      const rows = await db
        .selectFrom('staff_keys')
        .selectAll()
        .where('staff_id', '=', staffId)
        .orderBy('created_at', 'desc')
        .execute()
      return rows.map(staffKeyOf)
    },
    async update(key) {
      const result = await db
        .updateTable('staff_keys')
        .set({ status: key.status, certificate_id: key.certificateId ?? null, version: key.version })
        .where('id', '=', key.id)
        .where('version', '=', key.version - 1)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
  }
}

export function enrolmentSessionRepository(db: Kysely<Database>): EnrolmentSessionRepository {
  return {
    async insert(session: EnrolmentSession) {
      try {
        await db
          .insertInto('enrolment_sessions')
          .values({
            id: session.id,
            application_id: session.applicationId,
            session: session.session,
            created_at: session.createdAt.toISOString(),
            expires_at: session.expiresAt.toISOString(),
            completed_at: null,
          })
          .execute()
      } catch (error) {
        if (!isUniqueViolation(error)) throw error
        throw new DomainError('ENROLMENT_INVALID', 'commit: 重复的注册请求 / a replayed enrolment request', {
          field: 'commit',
          reason: 'replayed',
        })
      }
    },
    async find(id) {
      const row = await db.selectFrom('enrolment_sessions').selectAll().where('id', '=', id).executeTakeFirst()
      return (
        row && {
          id: row.id,
          applicationId: row.application_id,
          session: row.session,
          createdAt: new Date(row.created_at),
          expiresAt: new Date(row.expires_at),
          completedAt: row.completed_at === null ? undefined : new Date(row.completed_at),
        }
      )
    },
    async complete(id, at) {
      const result = await db
        .updateTable('enrolment_sessions')
        .set({ completed_at: at.toISOString(), session: '' })
        .where('id', '=', id)
        .where('completed_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
  }
}
