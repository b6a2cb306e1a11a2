import {
  type Clock,
  createAccessService,
  createAccountAdministration,
  createCaService,
  createSoftKeyStore,
  kekFromKeyFile,
  type SecretBox,
} from '@yiqian/core'
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
  kek,
  publicBaseUrl,
}: {
  db: Kysely<Database>
  clock: Clock
  secretBox: SecretBox
  /** The header a TLS-terminating proxy puts the verified client-certificate fingerprint in (pinned systems). */
  clientCertificateHeader?: string | undefined
  /** The raw key-encryption key (32 bytes) the soft key store seals CA keys under; no CA without it. */
  kek?: Uint8Array | undefined
  /** Where relying parties reach /pki/… (written into certificates as CRL, OCSP and caIssuers URLs). */
  publicBaseUrl?: string | undefined
}): AppServices {
  const uow = createUnitOfWork(db, clock)
  const clientSystems = createClientSystemAuthenticator(
    { uow, clock, secretBox },
    { certificateFingerprintHeader: clientCertificateHeader },
  )
  const keyStore = kek ? createSoftKeyStore({ uow, clock, kek: kekFromKeyFile(kek) }) : undefined
  return {
    uow,
    clock,
    secretBox,
    db,
    access: createAccessService({ uow, clock, secretBox }),
    accounts: createAccountAdministration({ uow, clock }),
    authenticators: [clientSystems],
    keyStore,
    ca: keyStore && createCaService({ uow, clock, keyStore, publicBaseUrl }),
  }
}
