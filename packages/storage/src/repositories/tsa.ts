import type {
  TsaAlgorithm,
  TsaRepository,
  TsaSettings,
  TsaState,
  TsaTokenRecord,
  TsaUnit,
  TsaUnitKey,
} from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { Database, TsaTokensTable, TsaUnitKeysTable, TsaUnitsTable } from '../schema.js'

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
const base64 = (der: Uint8Array) => Buffer.from(der).toString('base64')
/** Rows per INSERT: 10 columns each, well under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 500

function unitOf(row: Selectable<TsaUnitsTable>): TsaUnit {
  return {
    id: row.id,
    name: row.name,
    algorithm: row.algorithm as TsaAlgorithm,
    caId: row.ca_id,
    policy: row.policy ?? undefined,
    isDefault: Number(row.is_default) === 1,
    keyUri: row.key_uri,
    certificate: bytes(row.certificate),
    chain: (JSON.parse(row.chain) as string[]).map(bytes),
    createdAt: new Date(row.created_at),
    version: Number(row.version),
  }
}

function unitRow(unit: TsaUnit): Selectable<TsaUnitsTable> {
  return {
    id: unit.id,
    name: unit.name,
    algorithm: unit.algorithm,
    ca_id: unit.caId,
    policy: unit.policy ?? null,
    is_default: unit.isDefault ? 1 : 0,
    key_uri: unit.keyUri,
    certificate: base64(unit.certificate),
    chain: JSON.stringify(unit.chain.map(base64)),
    created_at: unit.createdAt.toISOString(),
    version: unit.version,
  }
}

function keyOf(row: Selectable<TsaUnitKeysTable>): TsaUnitKey {
  return {
    unitId: row.unit_id,
    keyUri: row.key_uri,
    certificate: bytes(row.certificate),
    serialHex: row.serial,
    notAfter: new Date(row.not_after),
    createdAt: new Date(row.created_at),
    retiredAt: row.retired_at ? new Date(row.retired_at) : undefined,
  }
}

function tokenOf(row: Selectable<TsaTokensTable>): TsaTokenRecord {
  return {
    serialHex: row.serial,
    unitId: row.unit_id,
    certificateSerial: row.certificate_serial,
    genTime: new Date(row.gen_time),
    hashAlgorithm: row.hash_algorithm,
    imprint: row.imprint,
    nonce: row.nonce ?? undefined,
    policy: row.policy,
    requesterIp: row.requester_ip,
    clientSystemId: row.client_system_id ?? undefined,
  }
}

export function tsaRepository(db: Kysely<Database>): TsaRepository {
  return {
    async listUnits() {
      const rows = await db.selectFrom('tsa_units').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map(unitOf)
    },
    async findUnit(id) {
      const row = await db.selectFrom('tsa_units').selectAll().where('id', '=', id).executeTakeFirst()
      return row && unitOf(row)
    },
    async insertUnit(unit) {
      await db.insertInto('tsa_units').values(unitRow(unit)).execute()
    },
    async updateUnit(unit, previousVersion) {
      const { id: _id, created_at: _created, ...changes } = unitRow(unit)
      const result = await db
        .updateTable('tsa_units')
        .set(changes)
        .where('id', '=', unit.id)
        .where('version', '=', previousVersion)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async listUnitKeys() {
      const rows = await db.selectFrom('tsa_unit_keys').selectAll().orderBy('created_at').execute()
      return rows.map(keyOf)
    },
    async insertUnitKey(key) {
      await db
        .insertInto('tsa_unit_keys')
        .values({
          key_uri: key.keyUri,
          unit_id: key.unitId,
          certificate: base64(key.certificate),
          serial: key.serialHex,
          not_after: key.notAfter.toISOString(),
          created_at: key.createdAt.toISOString(),
          retired_at: key.retiredAt?.toISOString() ?? null,
        })
        .execute()
    },
    async retireUnitKey(keyUri, at) {
      await db
        .updateTable('tsa_unit_keys')
        .set({ retired_at: at.toISOString() })
        .where('key_uri', '=', keyUri)
        .where('retired_at', 'is', null)
        .execute()
    },

    async listSources() {
      const rows = await db.selectFrom('tsa_time_sources').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        address: row.address,
        createdAt: new Date(row.created_at),
      }))
    },
    async insertSource(source) {
      await db
        .insertInto('tsa_time_sources')
        .values({
          id: source.id,
          name: source.name,
          address: source.address,
          created_at: source.createdAt.toISOString(),
        })
        .execute()
    },
    async deleteSource(id) {
      const result = await db.deleteFrom('tsa_time_sources').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) === 1
    },

    async getSettings(): Promise<TsaSettings> {
      const row = await db.selectFrom('tsa_settings').selectAll().where('id', '=', 1).executeTakeFirstOrThrow()
      return {
        policies: JSON.parse(row.policies) as string[],
        defaultPolicy: row.default_policy,
        toleranceMs: Number(row.tolerance_ms),
        holdoverSeconds: Number(row.holdover_seconds),
        pollIntervalSeconds: Number(row.poll_interval_seconds),
        state: row.state as TsaState,
        stateReason: row.state_reason ?? undefined,
        stateChangedAt: row.state_changed_at ? new Date(row.state_changed_at) : undefined,
        version: Number(row.version),
        updatedAt: new Date(row.updated_at),
      }
    },
    async saveSettings(settings, previousVersion) {
      const result = await db
        .updateTable('tsa_settings')
        .set({
          policies: JSON.stringify(settings.policies),
          default_policy: settings.defaultPolicy,
          tolerance_ms: settings.toleranceMs,
          holdover_seconds: settings.holdoverSeconds,
          poll_interval_seconds: settings.pollIntervalSeconds,
          version: previousVersion + 1,
          updated_at: settings.updatedAt.toISOString(),
        })
        .where('id', '=', 1)
        .where('version', '=', previousVersion)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async saveState(state, reason, at) {
      await db
        .updateTable('tsa_settings')
        .set({ state, state_reason: reason ?? null, state_changed_at: at.toISOString() })
        .where('id', '=', 1)
        .execute()
    },

    async insertTokens(records) {
      for (let i = 0; i < records.length; i += INSERT_CHUNK) {
        await db
          .insertInto('tsa_tokens')
          .values(
            records.slice(i, i + INSERT_CHUNK).map((r) => ({
              serial: r.serialHex,
              unit_id: r.unitId,
              certificate_serial: r.certificateSerial,
              gen_time: r.genTime.toISOString(),
              hash_algorithm: r.hashAlgorithm,
              imprint: r.imprint,
              nonce: r.nonce ?? null,
              policy: r.policy,
              requester_ip: r.requesterIp,
              client_system_id: r.clientSystemId ?? null,
            })),
          )
          .execute()
      }
    },
    async listTokens(query) {
      let q = db.selectFrom('tsa_tokens').selectAll()
      if (query.serialHex !== undefined) q = q.where('serial', '=', query.serialHex)
      if (query.from) q = q.where('gen_time', '>=', query.from.toISOString())
      if (query.to) q = q.where('gen_time', '<', query.to.toISOString())
      if (query.requester !== undefined) {
        const requester = query.requester
        q = q.where((eb) => eb.or([eb('requester_ip', '=', requester), eb('client_system_id', '=', requester)]))
      }
      if (query.after) {
        const time = query.after.genTime.toISOString()
        const serial = query.after.serialHex
        q = q.where((eb) =>
          eb.or([eb('gen_time', '<', time), eb.and([eb('gen_time', '=', time), eb('serial', '<', serial)])]),
        )
      }
      const rows = await q.orderBy('gen_time', 'desc').orderBy('serial', 'desc').limit(query.limit).execute()
      return rows.map(tokenOf)
    },
    async countTokens(since) {
      let q = db.selectFrom('tsa_tokens').select((eb) => eb.fn.countAll().as('n'))
      if (since) q = q.where('gen_time', '>=', since.toISOString())
      const row = await q.executeTakeFirstOrThrow()
      return Number(row.n)
    },
  }
}
