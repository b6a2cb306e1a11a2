import { DomainError, type SettingsRepository } from '@yiqian/core'
import type { Kysely } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { Database } from '../schema.js'

export function settingsRepository(db: Kysely<Database>): SettingsRepository {
  return {
    async get(key) {
      const row = await db.selectFrom('settings').select(['value', 'version']).where('key', '=', key).executeTakeFirst()
      return row && { value: JSON.parse(row.value) as unknown, version: Number(row.version) }
    },
    async put(key, value, version, at, by) {
      const values = { value: JSON.stringify(value), version, updated_at: at.toISOString(), updated_by: by }
      const conflict = () =>
        new DomainError('VERSION_CONFLICT', `setting ${key} was changed by someone else`, { key, version })
      if (version === 1) {
        try {
          await db
            .insertInto('settings')
            .values({ key, ...values })
            .execute()
          return
        } catch (error) {
          if (isUniqueViolation(error)) throw conflict()
          throw error
        }
      }
      const result = await db
        .updateTable('settings')
        .set(values)
        .where('key', '=', key)
        .where('version', '=', version - 1)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) throw conflict()
    },
  }
}
