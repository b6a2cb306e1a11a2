import type { Clock, Repositories, UnitOfWork } from '@yiqian/core'
import type { Kysely } from 'kysely'
import { administratorRepository } from './repositories/administrators.js'
import { auditLog } from './repositories/audit-log.js'
import type { Database } from './schema.js'

export function repositoriesOf(db: Kysely<Database>, clock: Clock): Repositories {
  return { administrators: administratorRepository(db), audit: auditLog(db, clock) }
}

/** Each `run` is one database transaction; a throw rolls back every write, audit included. */
export function createUnitOfWork(db: Kysely<Database>, clock: Clock): UnitOfWork {
  return {
    run: (fn) => db.transaction().execute((trx) => fn(repositoriesOf(trx, clock))),
  }
}
