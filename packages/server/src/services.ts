import { type Clock, createAccessService, createAccountAdministration, type SecretBox } from '@yiqian/core'
import { createUnitOfWork, type Database } from '@yiqian/storage'
import type { Kysely } from 'kysely'
import type { RequestAuthenticator } from './access/access-control.js'
import type { AppServices } from './app.js'

/** Wires use cases to the database: what main.ts and the tests both build the app from. */
export function createAppServices({
  db,
  clock,
  secretBox,
  authenticators = [],
}: {
  db: Kysely<Database>
  clock: Clock
  secretBox: SecretBox
  authenticators?: readonly RequestAuthenticator[]
}): AppServices {
  const uow = createUnitOfWork(db, clock)
  return {
    uow,
    clock,
    secretBox,
    db,
    access: createAccessService({ uow, clock, secretBox }),
    accounts: createAccountAdministration({ uow, clock }),
    authenticators,
  }
}
