import { type Account, type AccountRepository, DomainError, type Role } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from '../errors.js'
import type { AccountsTable, Database } from '../schema.js'

const dateOrUndefined = (value: string | null): Date | undefined => (value === null ? undefined : new Date(value))

function toDomain(row: Selectable<AccountsTable>): Account {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    roles: JSON.parse(row.roles) as Role[],
    departmentIds: JSON.parse(row.department_ids) as string[],
    status: row.status === 'disabled' ? 'disabled' : 'active',
    passwordHash: row.password_hash,
    mustChangePassword: Number(row.must_change_password) === 1,
    passwordChangedAt: dateOrUndefined(row.password_changed_at),
    totpSecret: row.totp_secret ?? undefined,
    totpLastStep: row.totp_last_step === null ? undefined : Number(row.totp_last_step),
    failedLogins: Number(row.failed_logins),
    lockedUntil: dateOrUndefined(row.locked_until),
    lastLoginAt: dateOrUndefined(row.last_login_at),
    createdAt: new Date(row.created_at),
    version: Number(row.version),
  }
}

function toRow(account: Account): AccountsTable {
  return {
    id: account.id,
    username: account.username,
    display_name: account.displayName,
    roles: JSON.stringify(account.roles),
    department_ids: JSON.stringify(account.departmentIds),
    status: account.status,
    password_hash: account.passwordHash,
    must_change_password: account.mustChangePassword ? 1 : 0,
    password_changed_at: account.passwordChangedAt?.toISOString() ?? null,
    totp_secret: account.totpSecret ?? null,
    totp_last_step: account.totpLastStep ?? null,
    failed_logins: account.failedLogins,
    locked_until: account.lockedUntil?.toISOString() ?? null,
    last_login_at: account.lastLoginAt?.toISOString() ?? null,
    created_at: account.createdAt.toISOString(),
    version: account.version,
  }
}

export function accountRepository(db: Kysely<Database>): AccountRepository {
  return {
    async count() {
      const { n } = await db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow()
      return Number(n)
    },
    async findByUsername(username) {
      const row = await db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst()
      return row && toDomain(row)
    },
    async getOrThrow(id) {
      const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw new DomainError('ACCOUNT_NOT_FOUND', `account ${id} does not exist`, { id })
      return toDomain(row)
    },
    async list() {
      const rows = await db.selectFrom('accounts').selectAll().orderBy('username').execute()
      return rows.map(toDomain)
    },
    async insert(account) {
      try {
        await db.insertInto('accounts').values(toRow(account)).execute()
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new DomainError('ACCOUNT_EXISTS', `username ${account.username} is taken`, {
            field: 'username',
            username: account.username,
          })
        }
        throw error
      }
    },
    async update(account) {
      const { id: _id, ...changes } = toRow(account)
      const result = await db
        .updateTable('accounts')
        .set(changes)
        .where('id', '=', account.id)
        .where('version', '=', account.version - 1)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) {
        throw new DomainError('VERSION_CONFLICT', `account ${account.id} was changed by someone else`, {
          id: account.id,
          version: account.version,
        })
      }
    },
  }
}
