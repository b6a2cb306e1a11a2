import {
  type Clock,
  createAccessService,
  createAccountAdministration,
  createCaCertificateIssuer,
  createCaService,
  createKeyStore,
  createPkcs11KeyStore,
  createSoftKeyStore,
  createTimeStampAuthority,
  kekFromKeyFile,
  type Pkcs11Config,
  type SecretBox,
  type TimeStampAuthorityDeps,
  type TrustedTime,
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
  pkcs11,
  trustedTime,
  tsa: tsaOptions,
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
  /** An HSM: new ECDSA and RSA CA keys are generated in it (other keys stay in the soft store). */
  pkcs11?: Pkcs11Config | undefined
  /** The time the TSA stamps; without it the TSA fails closed (every request gets timeNotAvailable). */
  trustedTime?: TrustedTime | undefined
  /** TSA hooks: the synchroniser's ports (onSourcesChanged, onSettingsChanged), error logging, snapshot lifetime. */
  tsa?: Pick<TimeStampAuthorityDeps, 'onSourcesChanged' | 'onSettingsChanged' | 'onError' | 'snapshotTtlMs'> | undefined
}): AppServices {
  const uow = createUnitOfWork(db, clock)
  const clientSystems = createClientSystemAuthenticator(
    { uow, clock, secretBox },
    { certificateFingerprintHeader: clientCertificateHeader },
  )
  const soft = kek ? createSoftKeyStore({ uow, clock, kek: kekFromKeyFile(kek) }) : undefined
  const keyStore =
    soft &&
    createKeyStore({
      soft,
      ...(pkcs11 && {
        pkcs11: createPkcs11KeyStore({ ...pkcs11, uow, clock }),
        // SM2 needs vendor mechanisms the adapter does not speak yet: SM2 CA keys stay soft (sealed under the KEK).
        placeKey: (spec) => (spec.purpose === 'ca' && spec.algorithm !== 'sm2' ? 'pkcs11' : 'soft'),
      }),
    })
  const ca = keyStore && createCaService({ uow, clock, keyStore, publicBaseUrl })
  return {
    uow,
    clock,
    secretBox,
    db,
    access: createAccessService({ uow, clock, secretBox }),
    accounts: createAccountAdministration({ uow, clock }),
    authenticators: [clientSystems],
    keyStore,
    ca,
    certificateIssuer: ca && createCaCertificateIssuer({ uow, ca }),
    tsa: createTimeStampAuthority({ uow, clock, keyStore, ca, trustedTime, ...tsaOptions }),
  }
}
