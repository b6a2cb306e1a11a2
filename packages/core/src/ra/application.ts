/**
 * RA certificate applications as stored: the lifecycle's `CertificateApplication` (whose transitions, four-eyes
 * check and audit events come from ../certificates/lifecycle.ts) plus what the RA desk records around it — the
 * requested subject, the holder's department at the time of applying (for scope and filtering), the one-time
 * activation code for self-service enrolment, and the serial once the CA has issued.
 */
import type { ApplicationPurpose, ApplicationState, CertificateApplication } from '../certificates/lifecycle.js'
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
  readonly updatedAt: Date
}

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
 * The port the CA service implements. Called inside the unit of work that marks the application issued, with that
 * unit of work's repositories, so the CA's certificate row commits (or rolls back) together with the application.
 */
export interface CertificateIssuer {
  issue(
    application: RaApplication,
    tx: Repositories,
  ): Promise<{ readonly serial: string; readonly certificateId?: string | undefined }>
}
