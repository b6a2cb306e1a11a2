/**
 * RA certificate applications as stored: the lifecycle's `CertificateApplication` (whose transitions, four-eyes
 * check and audit events come from ../certificates/lifecycle.ts) plus what the RA desk records around it — the
 * requested subject, the holder's department at the time of applying (for scope and filtering), the one-time
 * activation code for self-service enrolment, and the serial once the CA has issued.
 */

import type { ActorContext } from '../access/principal.js'
import type {
  ApplicationPurpose,
  ApplicationState,
  CertificateApplication,
  CertificateEvent,
  CertificateRecord,
  LifecyclePolicy,
  Transition,
} from '../certificates/lifecycle.js'
import type { Repositories } from '../unit-of-work.js'

export const APPLICATION_KINDS = ['apply', 'renew', 'recover'] as const
export type ApplicationKind = (typeof APPLICATION_KINDS)[number]

export const PURPOSE_OF_KIND: Readonly<Record<ApplicationKind, ApplicationPurpose>> = {
  apply: 'new',
  renew: 'renewal',
  recover: 'recovery',
}

export const RA_LIMITS = {
  /** Staff ids in one bulk application (a large hospital is about 6,000–10,000 staff). */
  bulkItems: 20_000,
  subjectAttributes: 16,
  subjectValue: 128,
  pageSize: 500,
  activationCodeDigits: 8,
  activationAttempts: 5,
  activationHours: 72,
} as const

/** The one-time activation code for phone enrolment: only its keyed hash is stored. */
export interface ActivationCode {
  /** `SecretBox.blindIndex('ra.activation:<application id>', code)`: keyed (HMAC-SM3), so a leaked table is not a list of codes. */
  readonly hash: string
  readonly expiresAt: Date
  /** Failed attempts so far; at `RA_LIMITS.activationAttempts` the code is burnt. */
  readonly attempts: number
  readonly redeemedAt: Date | undefined
}

export interface RaApplication extends CertificateApplication {
  readonly applicationKind: ApplicationKind
  readonly institutionId: string
  /** The holder's primary department when the application was made (scope and filtering). */
  readonly departmentId: string | undefined
  /** Requested subject attributes (e.g. `{ CN: '张三', OU: '心内科' }`); the CA's profile decides what is used. */
  readonly subject: Readonly<Record<string, string>>
  readonly activation: ActivationCode | undefined
  /** The certificate serial (hex) once issued. */
  readonly serialHex: string | undefined
  /**
   * The SubjectPublicKeyInfo (DER) the certificate is issued for, once known: from a CSR whose signature proved
   * possession, or the joint public key of a two-party key generation with the holder's phone.
   */
  readonly publicKey: Uint8Array | undefined
  readonly keyOrigin: KeyOrigin | undefined
  readonly updatedAt: Date
}

export const KEY_ORIGINS = ['csr', 'two-party'] as const
export type KeyOrigin = (typeof KEY_ORIGINS)[number]

export interface RaApplicationQuery {
  readonly status?: ApplicationState | undefined
  readonly kind?: ApplicationKind | undefined
  readonly staffId?: string | undefined
  /** Applications whose department is one of these (a subtree, expanded by the caller). */
  readonly departmentIds?: readonly string[] | undefined
  readonly offset: number
  readonly limit: number
}

export interface RaApplicationRepository {
  find(id: string): Promise<RaApplication | undefined>
  /** Inserts new applications (version 1 or, when opened approved, 2). */
  insertMany(applications: readonly RaApplication[]): Promise<void>
  /** Saves where the stored version is `version - 1`; otherwise VERSION_CONFLICT. */
  update(application: RaApplication): Promise<void>
  /** Newest first. */
  search(query: RaApplicationQuery): Promise<{ items: RaApplication[]; total: number }>
  /** Of these staff ids, those that already have a pending or approved application. */
  staffWithOpenApplications(staffIds: readonly string[]): Promise<Set<string>>
}

/**
 * The port a certificate authority implements for the RA (our own CA is the first adapter; an external CA's would
 * call out to it). `prepare` runs before the unit of work opens and loads what issuing needs (the CA's signer); the
 * prepared issuer then works inside the unit of work that marks the application issued, with that unit of work's
 * repositories, so the certificate row commits (or rolls back) together with the application.
 */
export interface CertificateIssuer {
  /** `certificates`: existing certificates the prepared issuer will change (their issuers' signers are loaded too). */
  prepare(options?: { readonly certificates?: readonly string[] | undefined }): Promise<PreparedIssuer>
}

export interface IssuedReference {
  readonly certificateId: string
  readonly serial: string
  readonly issuerId: string
  /** DER. */
  readonly certificate: Uint8Array
}

export interface PreparedIssuer {
  /** Issues the application's certificate for `application.publicKey` (which the RA has checked is present). */
  issue(tx: Repositories, application: RaApplication, actor: ActorContext): Promise<IssuedReference>
  /**
   * A lifecycle event on a certificate named in `prepare` (renew, recover, supersede), its issuer's CRL republished
   * in the same unit of work when the status changes. VERSION_CONFLICT when it changed meanwhile.
   */
  change(
    tx: Repositories,
    certificateId: string,
    event: CertificateEvent,
    actor: ActorContext,
    policy?: LifecyclePolicy,
  ): Promise<{ readonly certificate: CertificateRecord; readonly transition: Transition<CertificateRecord> }>
}
