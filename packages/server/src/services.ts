import { type Clock, createAccessService, createAccountAdministration, type SecretBox } from '@yiqian/core'
import { createUnitOfWork, type Database } from '@yiqian/storage'
import type { Kysely } from 'kysely'
import type { AppServices } from './app.js'
import { createClientSystemAuthenticator } from './client-systems/index.js'

/** Wires use cases to the database: what main.ts and the tests both build the app from. */
export function createAppServices({
  db,
  clock,
  secretBox,
  clientCertificateHeader,
}: {
  db: Kysely<Database>
  clock: Clock
  secretBox: SecretBox
  /** The header a TLS-terminating proxy puts the verified client-certificate fingerprint in (pinned systems). */
  clientCertificateHeader?: string | undefined
}): AppServices {
  const uow = createUnitOfWork(db, clock)
  const clientSystems = createClientSystemAuthenticator(
    { uow, clock, secretBox },
    { certificateFingerprintHeader: clientCertificateHeader },
  )
  return {
    uow,
    clock,
    secretBox,
    db,
    access: createAccessService({ uow, clock, secretBox }),
    accounts: createAccountAdministration({ uow, clock }),
    authenticators: [clientSystems],
  }
}
