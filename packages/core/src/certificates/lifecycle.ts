/**
 * The RA lifecycle as two pure state machines: certificate applications (申请) and certificates (发放/更新/吊销/
 * 冻结/解冻/找回). A transition takes the state, the event and the context (who, when, which policy) and returns
 * the next state with the audit event to append in the same unit of work, or throws a DomainError. No I/O: ids
 * of new things come in with the event.
 *
 * Decisions (see docs/en/certificate-profiles.md):
 * - Renewal makes a new key and a new application; the old certificate stays active until the replacement is
 *   issued and is then revoked with reason `superseded` (the `supersede` event), not kept until it expires: one
 *   person holds one valid signing key, and the server's share of the old two-party key stops being usable.
 * - Recovery (lost phone) revokes the old certificate at once with reason `superseded` — the device is lost, not
 *   known to be compromised (the thief holds only the phone's share and no PIN), so `keyCompromise` would tell
 *   relying parties something untrue and would make them distrust earlier signatures. An officer who has evidence
 *   of compromise may say `keyCompromise` instead. The new application is approved by the officer who re-verified
 *   the holder's identity, ready for enrolment of the new device.
 * - Optimistic versioning: every transition returns `version + 1`. The repository saves only where the stored
 *   version is `version - 1`; of two concurrent transitions (say revoke and renew) the first committed wins and
 *   the other gets VERSION_CONFLICT, reloads, and then usually meets INVALID_TRANSITION (renewing a revoked
 *   certificate). Renew therefore writes the old certificate too, even though its status does not change.
 */
import type { ActorContext } from '../access/principal.js'
import type { AuditEvent } from '../audit/audit-record.js'
import { DomainError } from '../errors.js'

export const APPLICATION_STATES = ['pending', 'approved', 'rejected', 'issued', 'cancelled'] as const
export type ApplicationState = (typeof APPLICATION_STATES)[number]

export const APPLICATION_EVENTS = ['approve', 'reject', 'cancel', 'issue'] as const
export type ApplicationEventType = (typeof APPLICATION_EVENTS)[number]

export const CERTIFICATE_STATES = ['active', 'suspended', 'revoked', 'expired'] as const
export type CertificateState = (typeof CERTIFICATE_STATES)[number]

export const CERTIFICATE_EVENTS = ['suspend', 'resume', 'revoke', 'expire', 'renew', 'recover', 'supersede'] as const
export type CertificateEventType = (typeof CERTIFICATE_EVENTS)[number]

/** RFC 5280 §5.3.1 CRLReason, with its code (7 is unused). Names match @yiqian/pki's RevocationReason. */
export const REVOCATION_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const
export type RevocationReason = keyof typeof REVOCATION_REASON_CODES
export const REVOCATION_REASONS = Object.keys(REVOCATION_REASON_CODES) as RevocationReason[]

export const LIFECYCLE_LIMITS = { reason: 500, id: 64 } as const

export type ApplicationPurpose = 'new' | 'renewal' | 'recovery'

export interface CertificateApplication {
  readonly kind: 'application'
  readonly id: string
  /** The staff member (or patient event) the certificate is for. */
  readonly holderId: string
  /** The holder's own actor (`user:<account id>`), when the holder has an account: four-eyes compares with it. */
  readonly holderActor: string | undefined
  readonly profile: string
  readonly purpose: ApplicationPurpose
  /** The certificate a renewal or recovery replaces. */
  readonly replaces: string | undefined
  readonly status: ApplicationState
  readonly requestedBy: string
  readonly requestedAt: Date
  readonly decidedBy: string | undefined
  readonly decidedAt: Date | undefined
  readonly decisionReason: string | undefined
  readonly certificateId: string | undefined
  readonly version: number
}

export interface Revocation {
  readonly reason: RevocationReason
  readonly at: Date
  readonly by: string
  /** When the key is believed to have been compromised, if earlier (RFC 5280 §5.3.2). */
  readonly invalidityDate: Date | undefined
}

export interface CertificateRecord {
  readonly kind: 'certificate'
  readonly id: string
  readonly serialHex: string
  readonly holderId: string
  readonly holderActor: string | undefined
  readonly profile: string
  /** A CA certificate (it may be revoked for cACompromise). */
  readonly ca: boolean
  readonly notBefore: Date
  readonly notAfter: Date
  readonly status: CertificateState
  readonly statusChangedAt: Date
  readonly revocation: Revocation | undefined
  /** The certificate that replaced this one (renewal), once issued. */
  readonly supersededBy: string | undefined
  readonly version: number
}

export type ApplicationEvent =
  | { readonly type: 'approve' }
  | { readonly type: 'reject'; readonly reason: string }
  | { readonly type: 'cancel'; readonly reason?: string | undefined }
  | { readonly type: 'issue'; readonly certificateId: string; readonly serialHex: string }

export type CertificateEvent =
  | { readonly type: 'suspend'; readonly comment?: string | undefined }
  | { readonly type: 'resume' }
  | {
      readonly type: 'revoke'
      readonly reason: RevocationReason
      readonly invalidityDate?: Date | undefined
      readonly comment?: string | undefined
    }
  | { readonly type: 'expire' }
  | { readonly type: 'renew'; readonly applicationId: string }
  | {
      readonly type: 'recover'
      readonly applicationId: string
      /** How the officer re-verified the holder, e.g. `in-person-id-card`; recorded in the audit trail. */
      readonly identityVerification: string
      readonly reason?: 'superseded' | 'keyCompromise' | undefined
    }
  | { readonly type: 'supersede'; readonly byCertificateId: string }

export interface LifecyclePolicy {
  /** The approver must be neither the holder nor whoever requested (双人复核). */
  readonly fourEyes: boolean
}

export interface TransitionContext {
  readonly actor: ActorContext
  readonly now: Date
  readonly policy: LifecyclePolicy
}

export interface Transition<S> {
  readonly state: S
  /** To append in the same unit of work as the save. */
  readonly audit: AuditEvent
  /** A renewal or recovery opens a new application, to insert in the same unit of work. */
  readonly application?: CertificateApplication | undefined
  /** The audit event of that application, appended after `audit`. */
  readonly applicationAudit?: AuditEvent | undefined
}

/** Application transitions: from → event → to. Everything not listed is INVALID_TRANSITION. */
export const APPLICATION_TRANSITIONS: Readonly<
  Record<ApplicationState, Partial<Record<ApplicationEventType, ApplicationState>>>
> = {
  pending: { approve: 'approved', reject: 'rejected', cancel: 'cancelled' },
  approved: { issue: 'issued', cancel: 'cancelled' },
  rejected: {},
  issued: {},
  cancelled: {},
}

/**
 * Certificate transitions. `renew` leaves the certificate active (it is superseded when the replacement is
 * issued); `recover` and `supersede` end in `revoked` with reason superseded (or keyCompromise on evidence).
 */
export const CERTIFICATE_TRANSITIONS: Readonly<
  Record<CertificateState, Partial<Record<CertificateEventType, CertificateState>>>
> = {
  active: {
    suspend: 'suspended',
    revoke: 'revoked',
    expire: 'expired',
    renew: 'active',
    recover: 'revoked',
    supersede: 'revoked',
  },
  suspended: { resume: 'active', revoke: 'revoked', expire: 'expired', recover: 'revoked', supersede: 'revoked' },
  revoked: {},
  expired: {},
}

/** The audit event type each transition appends. */
export const AUDIT_TYPES = {
  approve: 'certificate-application.approved',
  reject: 'certificate-application.rejected',
  cancel: 'certificate-application.cancelled',
  issue: 'certificate-application.issued',
  suspend: 'certificate.suspended',
  resume: 'certificate.resumed',
  revoke: 'certificate.revoked',
  expire: 'certificate.expired',
  renew: 'certificate.renewal-requested',
  recover: 'certificate.recovered',
  supersede: 'certificate.superseded',
} as const satisfies Record<ApplicationEventType | CertificateEventType, string>

/**
 * Reasons an operator may give to `revoke`. certificateHold is what `suspend` means and removeFromCRL what `resume`
 * means (RFC 5280 §5.3.1: removeFromCRL only in delta CRLs); aACompromise concerns attribute authorities, which we
 * do not run; cACompromise only for a CA certificate.
 */
export function revocationReasonProblem(reason: unknown, certificate: { readonly ca: boolean }): string | undefined {
  if (typeof reason !== 'string' || !(REVOCATION_REASONS as string[]).includes(reason)) {
    return `吊销原因不是 RFC 5280 规定的取值 / not an RFC 5280 revocation reason: ${String(reason)}`
  }
  switch (reason as RevocationReason) {
    case 'certificateHold':
      return '冻结请使用“冻结”操作 / certificateHold is expressed by suspending, not revoking'
    case 'removeFromCRL':
      return '解冻请使用“解冻”操作 / removeFromCRL is expressed by resuming a suspended certificate'
    case 'aACompromise':
      return 'aACompromise 仅适用于属性证书 / aACompromise applies to attribute certificates only'
    case 'cACompromise':
      return certificate.ca ? undefined : 'cACompromise 仅适用于 CA 证书 / cACompromise applies to CA certificates only'
    default:
      return undefined
  }
}

function invalid(kind: string, id: string, from: string, event: string): DomainError {
  return new DomainError(
    'INVALID_TRANSITION',
    `${kind} ${id} 处于 ${from} 状态，不能执行 ${event} / ${kind} ${id} is ${from}; ${event} is not allowed`,
    { id, from, event },
  )
}

function auditOf(ctx: TransitionContext, type: string, subject: string, data: Record<string, unknown>): AuditEvent {
  const { actor, actorRole, source, requestId } = ctx.actor
  return { actor, actorRole, source, requestId, type, subject, data, outcome: 'success' }
}

function checkText(field: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === '') {
    if (required) throw new DomainError('INVALID_INPUT', `${field}: 必填 / is required`, { field })
    return undefined
  }
  if (typeof value !== 'string' || [...value].length > LIFECYCLE_LIMITS.reason || /\p{Cc}/u.test(value)) {
    throw new DomainError(
      'INVALID_INPUT',
      `${field}: 最多 ${LIFECYCLE_LIMITS.reason} 个字符且不含控制字符 / at most ${LIFECYCLE_LIMITS.reason} characters, no control characters`,
      { field },
    )
  }
  return value.trim()
}

function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > LIFECYCLE_LIMITS.id) {
    throw new DomainError('INVALID_INPUT', `${field}: 缺少或过长 / missing or too long`, { field })
  }
  return value
}

/** Four-eyes: the deciding officer is neither the holder nor the requester. */
function assertFourEyes(ctx: TransitionContext, holderActor: string | undefined, requestedBy: string | undefined) {
  if (!ctx.policy.fourEyes) return
  const who = ctx.actor.actor
  if (who === holderActor || who === requestedBy) {
    throw new DomainError(
      'FOUR_EYES_REQUIRED',
      '双人复核：审批人不能是申请人或证书持有人 / four-eyes: the approver must be someone other than the requester and the holder',
      { actor: who, ...(who === holderActor ? { role: 'holder' } : { role: 'requester' }) },
    )
  }
}

/** Opens an application. Pending unless `approvedBy` is given (recovery, where the officer verified identity). */
export function openApplication(
  input: {
    readonly id: string
    readonly holderId: string
    readonly holderActor?: string | undefined
    readonly profile: string
    readonly purpose?: ApplicationPurpose | undefined
    readonly replaces?: string | undefined
    /** Who asked; the acting officer unless said otherwise (a recovery is asked for by the holder at the desk). */
    readonly requestedBy?: string | undefined
  },
  ctx: TransitionContext,
): Transition<CertificateApplication> {
  const application: CertificateApplication = {
    kind: 'application',
    id: checkId('id', input.id),
    holderId: checkId('holderId', input.holderId),
    holderActor: input.holderActor,
    profile: checkId('profile', input.profile),
    purpose: input.purpose ?? 'new',
    replaces: input.replaces,
    status: 'pending',
    requestedBy: input.requestedBy ?? ctx.actor.actor,
    requestedAt: ctx.now,
    decidedBy: undefined,
    decidedAt: undefined,
    decisionReason: undefined,
    certificateId: undefined,
    version: 1,
  }
  return {
    state: application,
    audit: auditOf(ctx, 'certificate-application.submitted', application.id, {
      holderId: application.holderId,
      profile: application.profile,
      purpose: application.purpose,
      ...(application.replaces && { replaces: application.replaces }),
    }),
  }
}

export function transitionApplication(
  application: CertificateApplication,
  event: ApplicationEvent,
  ctx: TransitionContext,
): Transition<CertificateApplication> {
  const to = APPLICATION_TRANSITIONS[application.status][event.type]
  if (to === undefined) throw invalid('certificate-application', application.id, application.status, event.type)
  const base = { ...application, status: to, version: application.version + 1 }
  const audit = (data: Record<string, unknown>) =>
    auditOf(ctx, AUDIT_TYPES[event.type], application.id, { from: application.status, to, ...data })
  switch (event.type) {
    case 'approve': {
      assertFourEyes(ctx, application.holderActor, application.requestedBy)
      const state = { ...base, decidedBy: ctx.actor.actor, decidedAt: ctx.now }
      return { state, audit: audit({ profile: application.profile, fourEyes: ctx.policy.fourEyes }) }
    }
    case 'reject': {
      const reason = checkText('reason', event.reason, true)
      return {
        state: { ...base, decidedBy: ctx.actor.actor, decidedAt: ctx.now, decisionReason: reason },
        audit: audit({ reason }),
      }
    }
    case 'cancel': {
      const reason = checkText('reason', event.reason, false)
      return { state: { ...base, decisionReason: reason }, audit: audit(reason ? { reason } : {}) }
    }
    case 'issue': {
      const certificateId = checkId('certificateId', event.certificateId)
      const serialHex = checkId('serialHex', event.serialHex)
      return {
        state: { ...base, certificateId },
        audit: audit({ certificateId, serial: serialHex, profile: application.profile }),
      }
    }
  }
}

export function transitionCertificate(
  certificate: CertificateRecord,
  event: CertificateEvent,
  ctx: TransitionContext,
): Transition<CertificateRecord> {
  const from = certificate.status
  const to = CERTIFICATE_TRANSITIONS[from][event.type]
  if (to === undefined) throw invalid('certificate', certificate.id, from, event.type)
  const pastEnd = ctx.now.getTime() >= certificate.notAfter.getTime()
  if (event.type === 'expire') {
    if (!pastEnd) {
      throw new DomainError(
        'CERTIFICATE_NOT_EXPIRED',
        `证书 ${certificate.id} 在 ${certificate.notAfter.toISOString()} 前有效 / certificate ${certificate.id} is valid until ${certificate.notAfter.toISOString()}`,
        { id: certificate.id, notAfter: certificate.notAfter.toISOString() },
      )
    }
  } else if (pastEnd) {
    // By time the certificate is already expired; the only change left is recording that.
    throw new DomainError(
      'CERTIFICATE_EXPIRED',
      `证书 ${certificate.id} 已过期 / certificate ${certificate.id} has expired`,
      { id: certificate.id, notAfter: certificate.notAfter.toISOString() },
    )
  }
  const base: CertificateRecord = {
    ...certificate,
    status: to,
    statusChangedAt: to === from ? certificate.statusChangedAt : ctx.now,
    version: certificate.version + 1,
  }
  const audit = (data: Record<string, unknown>) =>
    auditOf(ctx, AUDIT_TYPES[event.type], certificate.id, { serial: certificate.serialHex, from, to, ...data })
  const revoked = (reason: RevocationReason, invalidityDate?: Date): Revocation => ({
    reason,
    at: ctx.now,
    by: ctx.actor.actor,
    invalidityDate,
  })
  switch (event.type) {
    case 'suspend': {
      const comment = checkText('comment', event.comment, false)
      // A hold is listed on the CRL with reason certificateHold.
      return { state: base, audit: audit({ reason: 'certificateHold', ...(comment && { comment }) }) }
    }
    case 'resume':
      // A delta CRL would list it with removeFromCRL; a full CRL simply omits it.
      return { state: base, audit: audit({ reason: 'removeFromCRL' }) }
    case 'revoke': {
      const problem = revocationReasonProblem(event.reason, certificate)
      if (problem) {
        throw new DomainError('REVOCATION_REASON_INVALID', problem, { field: 'reason', reason: String(event.reason) })
      }
      const comment = checkText('comment', event.comment, false)
      const invalidityDate = event.invalidityDate
      if (
        invalidityDate !== undefined &&
        (!(invalidityDate instanceof Date) ||
          Number.isNaN(invalidityDate.getTime()) ||
          invalidityDate.getTime() > ctx.now.getTime())
      ) {
        throw new DomainError('INVALID_INPUT', 'invalidityDate: 不能晚于当前时间 / must not be in the future', {
          field: 'invalidityDate',
        })
      }
      return {
        state: { ...base, revocation: revoked(event.reason, invalidityDate) },
        audit: audit({
          reason: event.reason,
          reasonCode: REVOCATION_REASON_CODES[event.reason],
          ...(invalidityDate && { invalidityDate: invalidityDate.toISOString() }),
          ...(comment && { comment }),
        }),
      }
    }
    case 'expire':
      return { state: base, audit: audit({ notAfter: certificate.notAfter.toISOString() }) }
    case 'renew': {
      const opened = openApplication(
        {
          id: event.applicationId,
          holderId: certificate.holderId,
          holderActor: certificate.holderActor,
          profile: certificate.profile,
          purpose: 'renewal',
          replaces: certificate.id,
        },
        ctx,
      )
      return {
        state: base,
        audit: audit({ applicationId: opened.state.id }),
        application: opened.state,
        applicationAudit: opened.audit,
      }
    }
    case 'recover': {
      const reason = event.reason ?? 'superseded'
      if (reason !== 'superseded' && reason !== 'keyCompromise') {
        throw new DomainError(
          'REVOCATION_REASON_INVALID',
          `找回只能使用 superseded 或 keyCompromise / recovery revokes with superseded or keyCompromise`,
          {
            field: 'reason',
            reason: String(reason),
          },
        )
      }
      const identityVerification = checkText('identityVerification', event.identityVerification, true)
      // The officer who re-verified identity approves the new application, so they must not be the holder.
      assertFourEyes(ctx, certificate.holderActor, undefined)
      const opened = openApplication(
        {
          id: event.applicationId,
          holderId: certificate.holderId,
          holderActor: certificate.holderActor,
          profile: certificate.profile,
          purpose: 'recovery',
          replaces: certificate.id,
          requestedBy: certificate.holderActor ?? `staff:${certificate.holderId}`,
        },
        ctx,
      )
      // Opened and approved at once (version 2): the holder asked, the officer verified identity and approves.
      const application: CertificateApplication = {
        ...opened.state,
        status: 'approved',
        decidedBy: ctx.actor.actor,
        decidedAt: ctx.now,
        version: 2,
      }
      const applicationAudit: AuditEvent = {
        ...opened.audit,
        type: 'certificate-application.approved',
        data: { ...opened.audit.data, from: 'pending', to: 'approved', identityVerification },
      }
      return {
        state: { ...base, revocation: revoked(reason) },
        audit: audit({
          reason,
          reasonCode: REVOCATION_REASON_CODES[reason],
          identityVerification,
          applicationId: application.id,
        }),
        application,
        applicationAudit,
      }
    }
    case 'supersede': {
      const byCertificateId = checkId('byCertificateId', event.byCertificateId)
      return {
        state: { ...base, revocation: revoked('superseded'), supersededBy: byCertificateId },
        audit: audit({ reason: 'superseded', reasonCode: REVOCATION_REASON_CODES.superseded, byCertificateId }),
      }
    }
  }
}

/** One entry point for both machines, dispatching on `state.kind`. */
export function transition(
  state: CertificateApplication,
  event: ApplicationEvent,
  ctx: TransitionContext,
): Transition<CertificateApplication>
export function transition(
  state: CertificateRecord,
  event: CertificateEvent,
  ctx: TransitionContext,
): Transition<CertificateRecord>
export function transition(
  state: CertificateApplication | CertificateRecord,
  event: ApplicationEvent | CertificateEvent,
  ctx: TransitionContext,
): Transition<CertificateApplication> | Transition<CertificateRecord> {
  if (state.kind === 'application') {
    if (!(APPLICATION_EVENTS as readonly string[]).includes(event.type)) {
      throw invalid('certificate-application', state.id, state.status, event.type)
    }
    return transitionApplication(state, event as ApplicationEvent, ctx)
  }
  if (!(CERTIFICATE_EVENTS as readonly string[]).includes(event.type)) {
    throw invalid('certificate', state.id, state.status, event.type)
  }
  return transitionCertificate(state, event as CertificateEvent, ctx)
}

/** A certificate record for a freshly issued certificate (the `issue` of its application happens beside it). */
export function issuedCertificate(input: {
  readonly id: string
  readonly serialHex: string
  readonly application: CertificateApplication
  readonly ca: boolean
  readonly notBefore: Date
  readonly notAfter: Date
  readonly now: Date
}): CertificateRecord {
  return {
    kind: 'certificate',
    id: checkId('id', input.id),
    serialHex: checkId('serialHex', input.serialHex),
    holderId: input.application.holderId,
    holderActor: input.application.holderActor,
    profile: input.application.profile,
    ca: input.ca,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    status: 'active',
    statusChangedAt: input.now,
    revocation: undefined,
    supersededBy: undefined,
    version: 1,
  }
}
