import { describe, expect, it } from 'vitest'
import type { ActorContext } from '../access/principal.js'
import { DomainError, isDomainError } from '../errors.js'
import {
  APPLICATION_EVENTS,
  APPLICATION_STATES,
  type ApplicationEvent,
  type ApplicationEventType,
  type ApplicationState,
  CERTIFICATE_EVENTS,
  CERTIFICATE_STATES,
  type CertificateApplication,
  type CertificateEvent,
  type CertificateEventType,
  type CertificateRecord,
  type CertificateState,
  issuedCertificate,
  openApplication,
  REVOCATION_REASONS,
  type RevocationReason,
  revocationReasonProblem,
  type TransitionContext,
  transition,
  transitionApplication,
  transitionCertificate,
} from './lifecycle.js'

const t0 = new Date('2026-03-01T08:00:00Z')
const notAfter = new Date('2028-03-01T08:00:00Z')
const afterExpiry = new Date('2028-03-02T00:00:00Z')

const actor = (id: string, role = 'ra-officer'): ActorContext => ({
  actor: `user:${id}`,
  actorRole: role,
  source: '10.0.0.5',
  requestId: `req-${id}`,
})
const officerA = actor('officer-a')
const officerB = actor('officer-b')
const holder = actor('doctor-wang', 'staff')

const ctx = (who: ActorContext = officerB, now = t0, fourEyes = true): TransitionContext => ({
  actor: who,
  now,
  policy: { fourEyes },
})

function application(status: ApplicationState): CertificateApplication {
  const opened = openApplication(
    { id: 'app-1', holderId: 'staff-1', holderActor: holder.actor, profile: 'staff-sign' },
    ctx(officerA),
  ).state
  return { ...opened, status, version: 3 }
}

function certificate(status: CertificateState, ca = false): CertificateRecord {
  const issued = issuedCertificate({
    id: 'cert-1',
    serialHex: '4f2a9c',
    application: { ...application('approved') },
    ca,
    notBefore: new Date('2026-02-01T00:00:00Z'),
    notAfter,
    now: new Date('2026-02-01T00:00:00Z'),
  })
  return { ...issued, status, version: 5 }
}

const applicationEvents: Record<ApplicationEventType, ApplicationEvent> = {
  approve: { type: 'approve' },
  reject: { type: 'reject', reason: '身份证明材料不全' },
  cancel: { type: 'cancel' },
  issue: { type: 'issue', certificateId: 'cert-9', serialHex: '7a01' },
}

const certificateEvents: Record<CertificateEventType, CertificateEvent> = {
  suspend: { type: 'suspend', comment: '休假' },
  resume: { type: 'resume' },
  revoke: { type: 'revoke', reason: 'affiliationChanged' },
  expire: { type: 'expire' },
  renew: { type: 'renew', applicationId: 'app-2' },
  recover: { type: 'recover', applicationId: 'app-3', identityVerification: 'in-person-id-card' },
  supersede: { type: 'supersede', byCertificateId: 'cert-2' },
}

/** Written out by hand, independently of the transition tables in lifecycle.ts: [state, audit type]. */
const EXPECTED_APPLICATION: Record<string, readonly [ApplicationState, string]> = {
  'pending/approve': ['approved', 'certificate-application.approved'],
  'pending/reject': ['rejected', 'certificate-application.rejected'],
  'pending/cancel': ['cancelled', 'certificate-application.cancelled'],
  'approved/issue': ['issued', 'certificate-application.issued'],
  'approved/cancel': ['cancelled', 'certificate-application.cancelled'],
}

const EXPECTED_CERTIFICATE: Record<string, readonly [CertificateState, string, RevocationReason?]> = {
  'active/suspend': ['suspended', 'certificate.suspended'],
  'active/revoke': ['revoked', 'certificate.revoked', 'affiliationChanged'],
  'active/expire': ['expired', 'certificate.expired'],
  'active/renew': ['active', 'certificate.renewal-requested'],
  'active/recover': ['revoked', 'certificate.recovered', 'superseded'],
  'active/supersede': ['revoked', 'certificate.superseded', 'superseded'],
  'suspended/resume': ['active', 'certificate.resumed'],
  'suspended/revoke': ['revoked', 'certificate.revoked', 'affiliationChanged'],
  'suspended/expire': ['expired', 'certificate.expired'],
  'suspended/recover': ['revoked', 'certificate.recovered', 'superseded'],
  'suspended/supersede': ['revoked', 'certificate.superseded', 'superseded'],
}

function caught(fn: () => unknown): DomainError {
  try {
    fn()
  } catch (error) {
    if (isDomainError(error)) return error
    throw error
  }
  throw new Error('expected a DomainError')
}

describe('application transitions: every (state, event) pair', () => {
  const pairs = APPLICATION_STATES.flatMap((s) => APPLICATION_EVENTS.map((e) => [s, e] as const))

  it('covers the whole product and names only real pairs', () => {
    expect(pairs).toHaveLength(APPLICATION_STATES.length * APPLICATION_EVENTS.length)
    const keys = new Set(pairs.map(([s, e]) => `${s}/${e}`))
    for (const key of Object.keys(EXPECTED_APPLICATION)) expect(keys.has(key)).toBe(true)
  })

  it.each(pairs)('%s + %s', (from, event) => {
    const expected = EXPECTED_APPLICATION[`${from}/${event}`]
    const before = application(from)
    if (expected) {
      const result = transitionApplication(before, applicationEvents[event], ctx())
      expect(result.state.status).toBe(expected[0])
      expect(result.state.version).toBe(before.version + 1)
      expect(result.audit).toMatchObject({
        type: expected[1],
        subject: 'app-1',
        actor: officerB.actor,
        actorRole: officerB.actorRole,
        source: officerB.source,
        requestId: officerB.requestId,
        outcome: 'success',
        data: { from, to: expected[0] },
      })
      expect(before.status).toBe(from) // not mutated
    } else {
      const error = caught(() => transitionApplication(before, applicationEvents[event], ctx()))
      expect(error.code).toBe('INVALID_TRANSITION')
      expect(error.details).toEqual({ id: 'app-1', from, event })
    }
  })
})

describe('certificate transitions: every (state, event) pair', () => {
  const pairs = CERTIFICATE_STATES.flatMap((s) => CERTIFICATE_EVENTS.map((e) => [s, e] as const))

  it('covers the whole product and names only real pairs', () => {
    expect(pairs).toHaveLength(CERTIFICATE_STATES.length * CERTIFICATE_EVENTS.length)
    const keys = new Set(pairs.map(([s, e]) => `${s}/${e}`))
    for (const key of Object.keys(EXPECTED_CERTIFICATE)) expect(keys.has(key)).toBe(true)
  })

  it.each(pairs)('%s + %s', (from, event) => {
    const expected = EXPECTED_CERTIFICATE[`${from}/${event}`]
    const before = certificate(from)
    // expire is a transition by time: it happens after notAfter; everything else before.
    const now = event === 'expire' ? afterExpiry : t0
    if (expected) {
      const result = transition(before, certificateEvents[event], ctx(officerB, now))
      expect(result.state.status).toBe(expected[0])
      expect(result.state.version).toBe(before.version + 1)
      expect(result.audit).toMatchObject({
        type: expected[1],
        subject: 'cert-1',
        actor: officerB.actor,
        outcome: 'success',
        data: { serial: '4f2a9c', from, to: expected[0] },
      })
      expect(result.state.revocation?.reason).toBe(expected[2])
      if (expected[2]) expect(result.state.revocation).toMatchObject({ at: now, by: officerB.actor })
      expect(result.state.statusChangedAt).toEqual(expected[0] === from ? before.statusChangedAt : now)
    } else {
      const error = caught(() => transition(before, certificateEvents[event], ctx(officerB, now)))
      expect(error.code).toBe('INVALID_TRANSITION')
      expect(error.details).toEqual({ id: 'cert-1', from, event })
    }
  })

  it('refuses an event of the other machine', () => {
    const error = caught(() => transition(certificate('active'), { type: 'approve' } as never, ctx()))
    expect(error.code).toBe('INVALID_TRANSITION')
  })
})

describe('time', () => {
  it.each(['suspend', 'revoke', 'renew', 'recover', 'supersede'] as const)(
    '%s after notAfter is CERTIFICATE_EXPIRED',
    (event) => {
      const error = caught(() =>
        transitionCertificate(certificate('active'), certificateEvents[event], ctx(officerB, notAfter)),
      )
      expect(error.code).toBe('CERTIFICATE_EXPIRED')
    },
  )

  it('expire before notAfter is CERTIFICATE_NOT_EXPIRED', () => {
    const error = caught(() => transitionCertificate(certificate('active'), { type: 'expire' }, ctx(officerB, t0)))
    expect(error.code).toBe('CERTIFICATE_NOT_EXPIRED')
  })
})

describe('four-eyes', () => {
  it('the requesting officer may not approve', () => {
    const error = caught(() => transitionApplication(application('pending'), { type: 'approve' }, ctx(officerA)))
    expect(error.code).toBe('FOUR_EYES_REQUIRED')
    expect(error.details).toMatchObject({ role: 'requester' })
  })

  it('the holder may not approve their own application', () => {
    const error = caught(() => transitionApplication(application('pending'), { type: 'approve' }, ctx(holder)))
    expect(error.code).toBe('FOUR_EYES_REQUIRED')
    expect(error.details).toMatchObject({ role: 'holder' })
  })

  it('a second officer approves and is recorded', () => {
    const result = transitionApplication(application('pending'), { type: 'approve' }, ctx(officerB))
    expect(result.state).toMatchObject({ status: 'approved', decidedBy: officerB.actor, decidedAt: t0 })
    expect(result.audit.data).toMatchObject({ fourEyes: true })
  })

  it('without four-eyes the requester may approve', () => {
    const result = transitionApplication(application('pending'), { type: 'approve' }, ctx(officerA, t0, false))
    expect(result.state.status).toBe('approved')
  })

  it('the holder cannot recover their own certificate', () => {
    const error = caught(() => transitionCertificate(certificate('active'), certificateEvents.recover, ctx(holder)))
    expect(error.code).toBe('FOUR_EYES_REQUIRED')
  })

  it('rejection and cancellation need no second person', () => {
    expect(transitionApplication(application('pending'), applicationEvents.reject, ctx(officerA)).state.status).toBe(
      'rejected',
    )
    expect(transitionApplication(application('pending'), { type: 'cancel' }, ctx(holder)).state.status).toBe(
      'cancelled',
    )
  })
})

describe('renew and recover', () => {
  it('renew keeps the certificate active, bumps its version and opens a pending renewal application', () => {
    const before = certificate('active')
    const result = transitionCertificate(before, certificateEvents.renew, ctx(officerA))
    expect(result.state).toMatchObject({ status: 'active', version: before.version + 1, revocation: undefined })
    expect(result.application).toMatchObject({
      id: 'app-2',
      status: 'pending',
      purpose: 'renewal',
      replaces: 'cert-1',
      holderId: 'staff-1',
      requestedBy: officerA.actor,
      version: 1,
    })
    expect(result.applicationAudit).toMatchObject({ type: 'certificate-application.submitted', subject: 'app-2' })
    // The renewal still needs a second officer under four-eyes.
    expect(caught(() => transitionApplication(result.application!, { type: 'approve' }, ctx(officerA))).code).toBe(
      'FOUR_EYES_REQUIRED',
    )
  })

  it('recover revokes at once with superseded and opens an application approved by the verifying officer', () => {
    const result = transitionCertificate(certificate('suspended'), certificateEvents.recover, ctx(officerB))
    expect(result.state.revocation).toMatchObject({ reason: 'superseded' })
    expect(result.audit.data).toMatchObject({
      reason: 'superseded',
      reasonCode: 4,
      identityVerification: 'in-person-id-card',
    })
    expect(result.application).toMatchObject({
      id: 'app-3',
      status: 'approved',
      purpose: 'recovery',
      replaces: 'cert-1',
      requestedBy: holder.actor,
      decidedBy: officerB.actor,
      version: 2,
    })
    expect(result.applicationAudit).toMatchObject({ type: 'certificate-application.approved', subject: 'app-3' })
    // Ready for enrolment: the next step is issue.
    const issued = transitionApplication(result.application!, applicationEvents.issue, ctx(officerB))
    expect(issued.state.status).toBe('issued')
  })

  it('recover with evidence of compromise may say keyCompromise, nothing else', () => {
    const ok = transitionCertificate(
      certificate('active'),
      { ...certificateEvents.recover, reason: 'keyCompromise' } as CertificateEvent,
      ctx(),
    )
    expect(ok.state.revocation?.reason).toBe('keyCompromise')
    const error = caught(() =>
      transitionCertificate(
        certificate('active'),
        { ...certificateEvents.recover, reason: 'cessationOfOperation' } as never,
        ctx(),
      ),
    )
    expect(error.code).toBe('REVOCATION_REASON_INVALID')
  })

  it('recover needs the identity verification recorded', () => {
    const error = caught(() =>
      transitionCertificate(
        certificate('active'),
        { type: 'recover', applicationId: 'app-3', identityVerification: '' },
        ctx(),
      ),
    )
    expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'identityVerification' } })
  })

  it('supersede records the replacement', () => {
    const result = transitionCertificate(certificate('active'), certificateEvents.supersede, ctx())
    expect(result.state).toMatchObject({
      status: 'revoked',
      supersededBy: 'cert-2',
      revocation: { reason: 'superseded' },
    })
  })
})

describe('revocation reasons (RFC 5280 §5.3.1)', () => {
  const endEntity: Record<RevocationReason, boolean> = {
    unspecified: true,
    keyCompromise: true,
    cACompromise: false,
    affiliationChanged: true,
    superseded: true,
    cessationOfOperation: true,
    certificateHold: false,
    removeFromCRL: false,
    privilegeWithdrawn: true,
    aACompromise: false,
  }
  const cases = REVOCATION_REASONS.flatMap((reason) => [
    [reason, false, endEntity[reason]] as const,
    [reason, true, endEntity[reason] || reason === 'cACompromise'] as const,
  ])

  it('lists the ten RFC 5280 reasons', () => {
    expect(REVOCATION_REASONS).toHaveLength(10)
  })

  it.each(cases)('revoke with %s (CA: %s) allowed: %s', (reason, ca, allowed) => {
    const run = () => transitionCertificate(certificate('active', ca), { type: 'revoke', reason }, ctx())
    if (allowed) {
      const result = run()
      expect(result.state.revocation?.reason).toBe(reason)
      expect(result.audit.data).toMatchObject({ reason })
    } else {
      expect(caught(run)).toMatchObject({ code: 'REVOCATION_REASON_INVALID', details: { field: 'reason', reason } })
    }
  })

  it('refuses names outside RFC 5280', () => {
    expect(revocationReasonProblem('lostPhone', { ca: false })).toMatch(/not an RFC 5280/)
    const error = caught(() =>
      transitionCertificate(certificate('active'), { type: 'revoke', reason: 'lostPhone' as never }, ctx()),
    )
    expect(error.code).toBe('REVOCATION_REASON_INVALID')
  })

  it('keeps a past invalidity date and refuses a future one', () => {
    const when = new Date('2026-02-20T00:00:00Z')
    const result = transitionCertificate(
      certificate('active'),
      { type: 'revoke', reason: 'keyCompromise', invalidityDate: when },
      ctx(),
    )
    expect(result.state.revocation?.invalidityDate).toEqual(when)
    expect(result.audit.data).toMatchObject({ reasonCode: 1, invalidityDate: when.toISOString() })
    const error = caught(() =>
      transitionCertificate(
        certificate('active'),
        { type: 'revoke', reason: 'keyCompromise', invalidityDate: new Date('2027-01-01T00:00:00Z') },
        ctx(),
      ),
    )
    expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'invalidityDate' } })
  })
})

describe('input limits', () => {
  it('a rejection needs a reason of at most 500 characters without control characters', () => {
    for (const reason of ['', 'x'.repeat(501), 'bad\u0000reason']) {
      const error = caught(() => transitionApplication(application('pending'), { type: 'reject', reason }, ctx()))
      expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'reason' } })
    }
  })

  it('ids are bounded', () => {
    const error = caught(() =>
      transitionCertificate(certificate('active'), { type: 'renew', applicationId: 'x'.repeat(65) }, ctx()),
    )
    expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'id' } })
  })
})

describe('optimistic versioning: concurrent revoke and renew', () => {
  /** The rule the storage layer implements: save only over the version the change was computed from. */
  function store(initial: CertificateRecord) {
    let row = initial
    return {
      load: () => row,
      save(next: CertificateRecord) {
        if (row.version !== next.version - 1) {
          throw new DomainError('VERSION_CONFLICT', 'stale', { id: next.id, stored: row.version })
        }
        row = next
      },
    }
  }

  it('the first committed wins, the other gets VERSION_CONFLICT and then INVALID_TRANSITION on reload', () => {
    const db = store(certificate('active'))
    const seenByRevoker = db.load()
    const seenByRenewer = db.load()
    const revoke = transitionCertificate(seenByRevoker, { type: 'revoke', reason: 'privilegeWithdrawn' }, ctx(officerA))
    const renew = transitionCertificate(seenByRenewer, certificateEvents.renew, ctx(officerB))
    db.save(revoke.state)
    expect(caught(() => db.save(renew.state)).code).toBe('VERSION_CONFLICT')
    expect(db.load()).toMatchObject({ status: 'revoked', revocation: { reason: 'privilegeWithdrawn' } })
    expect(caught(() => transitionCertificate(db.load(), certificateEvents.renew, ctx(officerB))).code).toBe(
      'INVALID_TRANSITION',
    )
  })

  it('in the other order the renewal stands and the revocation applies to the reloaded certificate', () => {
    const db = store(certificate('active'))
    const a = db.load()
    const b = db.load()
    db.save(transitionCertificate(b, certificateEvents.renew, ctx(officerB)).state)
    const stale = transitionCertificate(a, { type: 'revoke', reason: 'privilegeWithdrawn' }, ctx(officerA))
    expect(caught(() => db.save(stale.state)).code).toBe('VERSION_CONFLICT')
    const retried = transitionCertificate(db.load(), { type: 'revoke', reason: 'privilegeWithdrawn' }, ctx(officerA))
    db.save(retried.state)
    expect(db.load()).toMatchObject({ status: 'revoked', version: 7 })
  })
})
