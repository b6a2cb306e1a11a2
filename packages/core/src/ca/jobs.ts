/**
 * Scheduled certificate jobs: CRL refresh, delegated OCSP responder renewal and marking expired certificates. Each is
 * a use case over the ports below and returns counts for logs and metrics. They are safe to run on several server
 * instances at once (the schedule also takes a job lease, so normally only one does): the CA service publishes a CRL
 * only over the number it read, and a certificate is saved only over the version it read.
 */
import { parseCertificate } from '@yiqian/pki'
import type { ActorContext } from '../access/principal.js'
import { transitionCertificate } from '../certificates/lifecycle.js'
import type { Clock } from '../clock.js'
import type { UnitOfWork } from '../unit-of-work.js'
import type { CaService } from './ca-service.js'

export const JOB_OUTCOMES = ['success', 'partial', 'failure'] as const
export type JobOutcome = (typeof JOB_OUTCOMES)[number]

/** Who last ran a scheduled job and until when it is theirs. */
export interface JobLease {
  readonly name: string
  readonly holder: string
  readonly expiresAt: Date
  readonly runCount: number
  readonly lastStartedAt: Date | undefined
  readonly lastFinishedAt: Date | undefined
  readonly lastOutcome: JobOutcome | undefined
  readonly lastError: string | undefined
}

export interface JobLeaseRepository {
  /**
   * Takes the lease `name` for `holder` until `now + ttlMs` when it is absent, expired (`expiresAt <= now`) or already
   * held by `holder`, counting a run; true when taken. One atomic statement: of concurrent callers at most one wins.
   */
  tryAcquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>
  /**
   * Records the end of `holder`'s run. The lease stays with `holder` until `until` (pass the finish time to free it at
   * once). False when `holder` no longer holds it (it expired and someone else took it).
   */
  release(
    name: string,
    holder: string,
    result: {
      readonly finishedAt: Date
      readonly outcome: JobOutcome
      readonly error?: string | undefined
      readonly until: Date
    },
  ): Promise<boolean>
  find(name: string): Promise<JobLease | undefined>
  list(): Promise<JobLease[]>
}

/** The queries of the certificate jobs (the storage's `certificateJobs`). */
export interface CertificateJobRepository {
  /** Ids of active or suspended certificates with `notAfter <= now`, earliest expiry first, at most `limit`. */
  listExpiredIds(now: Date, limit: number): Promise<string[]>
  /** Whether the CA issued an end-entity certificate other than its own OCSP responder certificates. */
  hasEndEntityCertificates(issuerId: string): Promise<boolean>
}

export const CERTIFICATE_JOB_LIMITS = {
  /** Certificates marked expired per unit of work. */
  expireBatch: 500,
  /** A delegated OCSP responder is renewed when it expires within this long (or is missing). */
  ocspRenewBeforeSeconds: 7 * 86_400,
  /** Error messages kept in a job result. */
  errors: 10,
} as const

/** The actor of scheduled jobs in the audit trail. */
export function jobActor(job: string): ActorContext {
  return { actor: 'system', actorRole: '', source: 'local', requestId: `job:${job}` }
}

export interface CertificateJobDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly ca: CaService
}

export interface CrlRefreshResult {
  readonly checked: number
  readonly refreshed: number
  readonly failed: number
  readonly errors: readonly string[]
}

export interface OcspRenewalResult {
  readonly checked: number
  readonly renewed: number
  readonly failed: number
  readonly errors: readonly string[]
}

export interface MarkExpiredResult {
  readonly expired: number
  /** Rows someone else changed between read and write (another instance, an officer): left to them. */
  readonly skipped: number
  readonly batches: number
}

function messageOf(id: string, error: unknown): string {
  return `${id}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500)
}

/** Asks the CA service for every active CA's CRL; it publishes a new one when the current is missing or due. */
export async function refreshCrls(deps: Pick<CertificateJobDeps, 'ca'>): Promise<CrlRefreshResult> {
  const cas = (await deps.ca.list()).filter((ca) => ca.status === 'active')
  let refreshed = 0
  const errors: string[] = []
  for (const before of cas) {
    try {
      await deps.ca.crl(before.id, jobActor('crl-refresh'))
      const after = await deps.ca.find(before.id)
      if (after.crlNumber > before.crlNumber) refreshed++
    } catch (error) {
      errors.push(messageOf(before.id, error))
    }
  }
  return {
    checked: cas.length,
    refreshed,
    failed: errors.length,
    errors: errors.slice(0, CERTIFICATE_JOB_LIMITS.errors),
  }
}

/**
 * Provisions a fresh delegated OCSP responder for every active CA that answers for end-entity certificates (an issuing
 * CA, or any CA that issued one) when its responder is missing or expires within seven days.
 */
export async function renewOcspResponders(deps: CertificateJobDeps): Promise<OcspRenewalResult> {
  const cas = (await deps.ca.list()).filter((ca) => ca.status === 'active')
  const now = deps.clock.now().getTime()
  let checked = 0
  let renewed = 0
  const errors: string[] = []
  for (const ca of cas) {
    try {
      const answersForLeaves =
        ca.parentId !== undefined || (await deps.uow.run((tx) => tx.certificateJobs.hasEndEntityCertificates(ca.id)))
      if (!answersForLeaves) continue
      checked++
      const notAfter = ca.ocspResponder && parseCertificate(ca.ocspResponder.certificate).notAfter.getTime()
      if (notAfter !== undefined && notAfter - now > CERTIFICATE_JOB_LIMITS.ocspRenewBeforeSeconds * 1000) continue
      await deps.ca.provisionOcspResponder(ca.id, jobActor('ocsp-responder-renewal'))
      renewed++
    } catch (error) {
      errors.push(messageOf(ca.id, error))
    }
  }
  return { checked, renewed, failed: errors.length, errors: errors.slice(0, CERTIFICATE_JOB_LIMITS.errors) }
}

/**
 * Records `expired` for active and suspended certificates past their notAfter, through the lifecycle transition (so
 * each gets its `certificate.expired` audit record), in batches of one unit of work each. A certificate changed
 * meanwhile (version race) is skipped; the next run sees it again if it still needs it.
 */
export async function markExpiredCertificates(
  deps: Pick<CertificateJobDeps, 'uow' | 'clock'> & { readonly batchSize?: number },
): Promise<MarkExpiredResult> {
  const batchSize = deps.batchSize ?? CERTIFICATE_JOB_LIMITS.expireBatch
  const actor = jobActor('certificate-expiry')
  let expired = 0
  let skipped = 0
  let batches = 0
  for (;;) {
    const now = deps.clock.now()
    const outcome = await deps.uow.run(async (tx) => {
      const ids = await tx.certificateJobs.listExpiredIds(now, batchSize)
      let done = 0
      let lost = 0
      for (const id of ids) {
        const current = await tx.certificates.find(id)
        if (!current || (current.status !== 'active' && current.status !== 'suspended') || current.notAfter > now) {
          lost++
          continue
        }
        const next = transitionCertificate(current, { type: 'expire' }, { actor, now, policy: { fourEyes: true } })
        if (!(await tx.certificates.update({ ...current, ...next.state }))) {
          lost++
          continue
        }
        await tx.audit.append({ ...next.audit, data: { ...next.audit.data, issuer: current.issuerId } })
        done++
      }
      return { listed: ids.length, done, lost }
    })
    if (outcome.listed === 0) break
    batches++
    expired += outcome.done
    skipped += outcome.lost
    // A short batch was the last; a batch that changed nothing would list the same rows again.
    if (outcome.listed < batchSize || outcome.done === 0) break
  }
  return { expired, skipped, batches }
}
