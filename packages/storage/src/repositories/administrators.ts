import { type Administrator, type AdministratorRepository, type AdministratorRole, DomainError } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { AdministratorsTable, Database } from '../schema.js'

function toDomain(row: Selectable<AdministratorsTable>): Administrator {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    roles: JSON.parse(row.roles) as AdministratorRole[],
    passwordHash: row.password_hash,
    mustChangePassword: Number(row.must_change_password) === 1,
    createdAt: new Date(row.created_at),
    version: Number(row.version),
  }
}

function toRow(admin: Administrator): AdministratorsTable {
  return {
    id: admin.id,
    username: admin.username,
    display_name: admin.displayName,
    roles: JSON.stringify(admin.roles),
    password_hash: admin.passwordHash,
    must_change_password: admin.mustChangePassword ? 1 : 0,
    created_at: admin.createdAt.toISOString(),
    version: admin.version,
  }
}

export function administratorRepository(db: Kysely<Database>): AdministratorRepository {
  return {
    async count() {
      const { n } = await db
        .selectFrom('administrators')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow()
      return Number(n)
    },
    async findByUsername(username) {
      const row = await db.selectFrom('administrators').selectAll().where('username', '=', username).executeTakeFirst()
      return row && toDomain(row)
    },
    async getOrThrow(id) {
      const row = await db.selectFrom('administrators').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw new DomainError('ADMINISTRATOR_NOT_FOUND', `administrator ${id} does not exist`, { id })
      return toDomain(row)
    },
    async insert(admin) {
      try {
        await db.insertInto('administrators').values(toRow(admin)).execute()
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new DomainError('ADMINISTRATOR_EXISTS', `administrator ${admin.username} already exists`, {
            username: admin.username,
          })
        }
        throw error
      }
    },
    async update(admin) {
      const { id: _id, ...changes } = toRow(admin)
      const result = await db
        .updateTable('administrators')
        .set(changes)
        .where('id', '=', admin.id)
        .where('version', '=', admin.version - 1)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) {
        throw new DomainError('VERSION_CONFLICT', `administrator ${admin.id} was changed by someone else`, {
          id: admin.id,
          version: admin.version,
        })
      }
    },
  }
}
