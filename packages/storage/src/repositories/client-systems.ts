import { type ClientSystem, type ClientSystemRepository, DomainError, type RequestNonceRepository } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { ClientSystemsTable, Database } from '../schema.js'

function toDomain(row: Selectable<ClientSystemsTable>): ClientSystem {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    appId: row.app_id,
    enabled: Number(row.enabled) === 1,
    ipAllowList: JSON.parse(row.ip_allow_list) as string[],
    rateLimitPerMinute: Number(row.rate_limit_per_minute),
    scope: {
      departmentIds: JSON.parse(row.department_ids) as string[],
      documentTypes: JSON.parse(row.document_types) as string[],
    },
    certificateFingerprint: row.certificate_fingerprint ?? undefined,
    sealedSecret: row.sealed_secret,
    previousSealedSecret: row.previous_sealed_secret ?? undefined,
    previousSecretExpiresAt: row.previous_secret_expires_at ? new Date(row.previous_secret_expires_at) : undefined,
    secretRotatedAt: new Date(row.secret_rotated_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    version: Number(row.version),
  }
}

function toRow(system: ClientSystem): ClientSystemsTable {
  return {
    id: system.id,
    code: system.code,
    name: system.name,
    app_id: system.appId,
    enabled: system.enabled ? 1 : 0,
    ip_allow_list: JSON.stringify(system.ipAllowList),
    rate_limit_per_minute: system.rateLimitPerMinute,
    department_ids: JSON.stringify(system.scope.departmentIds),
    document_types: JSON.stringify(system.scope.documentTypes),
    certificate_fingerprint: system.certificateFingerprint ?? null,
    sealed_secret: system.sealedSecret,
    previous_sealed_secret: system.previousSealedSecret ?? null,
    previous_secret_expires_at: system.previousSecretExpiresAt?.toISOString() ?? null,
    secret_rotated_at: system.secretRotatedAt.toISOString(),
    created_at: system.createdAt.toISOString(),
    updated_at: system.updatedAt.toISOString(),
    version: system.version,
  }
}

export function clientSystemRepository(db: Kysely<Database>): ClientSystemRepository {
  const byColumn = async (column: 'id' | 'app_id', value: string) => {
    const row = await db.selectFrom('client_systems').selectAll().where(column, '=', value).executeTakeFirst()
    return row && toDomain(row)
  }
  return {
    async list() {
      const rows = await db.selectFrom('client_systems').selectAll().orderBy('code').execute()
      return rows.map(toDomain)
    },
    findById: (id) => byColumn('id', id),
    findByAppId: (appId) => byColumn('app_id', appId),
    async getOrThrow(id) {
      const system = await byColumn('id', id)
      if (!system) throw new DomainError('CLIENT_SYSTEM_NOT_FOUND', `client system ${id} does not exist`, { id })
      return system
    },
    async insert(system) {
      // Checked first so that a PostgreSQL transaction is not aborted by the constraint in the common case; the
      // unique constraints still decide a race.
      const taken = await db
        .selectFrom('client_systems')
        .select('id')
        .where((eb) => eb.or([eb('code', '=', system.code), eb('app_id', '=', system.appId)]))
        .executeTakeFirst()
      const exists = () =>
        new DomainError('CLIENT_SYSTEM_EXISTS', `client system ${system.code} already exists`, {
          field: 'code',
          code: system.code,
        })
      if (taken) throw exists()
      try {
        await db.insertInto('client_systems').values(toRow(system)).execute()
      } catch (error) {
        if (isUniqueViolation(error)) throw exists()
        throw error
      }
    },
    async update(system) {
      const { id: _id, code: _code, app_id: _appId, created_at: _createdAt, ...changes } = toRow(system)
      const result = await db
        .updateTable('client_systems')
        .set(changes)
        .where('id', '=', system.id)
        .where('version', '=', system.version - 1)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) {
        throw new DomainError('VERSION_CONFLICT', `client system ${system.id} was changed by someone else`, {
          id: system.id,
          version: system.version,
        })
      }
    },
  }
}

export function requestNonceRepository(db: Kysely<Database>): RequestNonceRepository {
  return {
    async remember(appId, nonce, expiresAt, now) {
      // One statement on the per-request path: a new nonce is inserted; an expired record of the same nonce no
      // longer protects anything (its timestamp is out of the window), so it is taken over; a live one is left
      // alone and nothing changes. ON CONFLICT rather than catching the unique violation: on PostgreSQL a
      // violation would abort the surrounding transaction. A concurrent insert of the same nonce on another
      // instance waits for this one to commit and then changes nothing.
      const result = await db
        .insertInto('request_nonces')
        .values({ app_id: appId, nonce, expires_at: expiresAt.toISOString() })
        .onConflict((oc) =>
          oc
            .columns(['app_id', 'nonce'])
            .doUpdateSet({ expires_at: expiresAt.toISOString() })
            .where('request_nonces.expires_at', '<', now.toISOString()),
        )
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },
    async purgeExpired(now) {
      const result = await db
        .deleteFrom('request_nonces')
        .where('expires_at', '<', now.toISOString())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
