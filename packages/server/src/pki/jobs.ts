import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import {
  type CaService,
  type Clock,
  type CrlRefreshResult,
  createSendExpiryReminders,
  type ExpiryReminderResult,
  type JobOutcome,
  type MarkExpiredResult,
  markExpiredCertificates,
  type OcspRenewalResult,
  refreshCrls,
  renewOcspResponders,
  type SecretBox,
  type UnitOfWork,
  type WebhookFetch,
} from '@yiqian/core'

/** What the certificate jobs need from the composition root (a subset of AppServices). */
export interface CertificateJobServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  /** Without a CA service (no KEK configured) the CRL and OCSP jobs are skipped. */
  readonly ca?: CaService | undefined
}

export const CERTIFICATE_JOBS = [
  'crl-refresh',
  'ocsp-responder-renewal',
  'certificate-expiry',
  'expiry-reminders',
] as const
export type CertificateJobName = (typeof CERTIFICATE_JOBS)[number]

/** The lease of job `job` in the job_leases table. */
export const leaseName = (job: CertificateJobName): string => `certificate-jobs:${job}`

export interface CertificateJobResults {
  'crl-refresh': CrlRefreshResult
  'ocsp-responder-renewal': OcspRenewalResult
  'certificate-expiry': MarkExpiredResult
  'expiry-reminders': ExpiryReminderResult
}

export type CertificateJobRun = {
  [J in CertificateJobName]:
    | {
        readonly job: J
        readonly status: 'ran'
        readonly outcome: JobOutcome
        readonly result: CertificateJobResults[J]
      }
    /** Another instance holds the lease (it ran this round), or the job cannot run here (no CA service). */
    | { readonly job: J; readonly status: 'skipped'; readonly reason: 'leased' | 'no-ca' }
    | { readonly job: J; readonly status: 'failed'; readonly error: unknown }
}[CertificateJobName]

export interface CertificateScheduleOptions {
  /** Between rounds; default ten minutes. */
  readonly intervalMs?: number | undefined
  /** Before the first round; default five seconds (or the interval, if shorter). */
  readonly initialDelayMs?: number | undefined
  /** This instance's name in the leases; default `<host>:<pid>:<random>`. */
  readonly holder?: string | undefined
  /** A job that failed, or finished with failures (`partial`). */
  readonly onError: (error: unknown, job: CertificateJobName) => void
  /** Every job's run (counts, or why it was skipped), for logs and metrics. */
  readonly onRun?: ((run: CertificateJobRun) => void) | undefined
  /** The webhook's HTTP client; default the global fetch. */
  readonly webhookFetch?: WebhookFetch | undefined
}

export interface CertificateSchedule {
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>
  /** Runs one round now (after any round in progress): each job whose lease this instance gets. */
  runOnce(): Promise<CertificateJobRun[]>
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000)
}

/**
 * Runs the certificate jobs every `intervalMs`, first soon after start. Several instances may run it against one
 * database: before each job an instance takes the job's lease (one atomic statement; the TTL, twice the interval,
 * frees the lease of an instance that died mid-run), and after the job keeps it until the next round is due, so
 * another instance does not repeat the round. Rounds never overlap in one process; the timer does not keep the
 * process alive. A job that throws is reported to `onError` and tried again next round.
 */
export function startCertificateSchedule(
  services: CertificateJobServices,
  options: CertificateScheduleOptions,
): CertificateSchedule {
  const intervalMs = options.intervalMs ?? 10 * 60_000
  const initialDelayMs = options.initialDelayMs ?? Math.min(5000, intervalMs)
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  const ttlMs = 2 * intervalMs
  // After a run the lease is kept until 90 % of the interval after its start: other instances' ticks in the same round
  // find it taken, and by the next round it is free for whichever instance asks first (a holder may always renew).
  const holdMs = Math.floor(intervalMs * 0.9)
  const { uow, clock } = services
  const sendExpiryReminders = createSendExpiryReminders({ ...services, fetch: options.webhookFetch })

  const jobs: { [J in CertificateJobName]: () => Promise<CertificateJobResults[J]> | undefined } = {
    'crl-refresh': () => services.ca && refreshCrls({ ca: services.ca }),
    'ocsp-responder-renewal': () => services.ca && renewOcspResponders({ uow, clock, ca: services.ca }),
    'certificate-expiry': () => markExpiredCertificates({ uow, clock }),
    'expiry-reminders': () => sendExpiryReminders(),
  }

  async function runJob<J extends CertificateJobName>(job: J): Promise<CertificateJobRun> {
    if (!services.ca && (job === 'crl-refresh' || job === 'ocsp-responder-renewal')) {
      return { job, status: 'skipped', reason: 'no-ca' } as CertificateJobRun
    }
    const name = leaseName(job)
    const startedAt = clock.now()
    try {
      if (!(await uow.run((tx) => tx.jobLeases.tryAcquire(name, holder, startedAt, ttlMs)))) {
        return { job, status: 'skipped', reason: 'leased' } as CertificateJobRun
      }
    } catch (thrown) {
      options.onError(thrown, job)
      return { job, status: 'failed', error: thrown } as CertificateJobRun
    }
    let run: CertificateJobRun
    let error: string | undefined
    try {
      const result = (await jobs[job]()) as CertificateJobResults[J]
      const failures = 'errors' in result ? result.errors : []
      const outcome: JobOutcome = failures.length > 0 ? 'partial' : 'success'
      if (failures.length > 0) {
        error = failures.join('; ')
        options.onError(new Error(`${job}: ${error}`), job)
      }
      run = { job, status: 'ran', outcome, result } as CertificateJobRun
    } catch (thrown) {
      error = errorText(thrown)
      options.onError(thrown, job)
      run = { job, status: 'failed', error: thrown } as CertificateJobRun
    }
    const finishedAt = clock.now()
    try {
      await uow.run((tx) =>
        tx.jobLeases.release(name, holder, {
          finishedAt,
          outcome: run.status === 'ran' ? run.outcome : 'failure',
          error,
          until: new Date(Math.max(startedAt.getTime() + holdMs, finishedAt.getTime())),
        }),
      )
    } catch (thrown) {
      // The lease then lapses at its TTL.
      options.onError(thrown, job)
    }
    return run
  }

  async function round(): Promise<CertificateJobRun[]> {
    const runs: CertificateJobRun[] = []
    // In this order: expired certificates are marked before reminders are looked for.
    for (const job of CERTIFICATE_JOBS) {
      const run = await runJob(job)
      runs.push(run)
      try {
        options.onRun?.(run)
      } catch {
        // A logger that throws must not stop the other jobs.
      }
    }
    return runs
  }

  let running: Promise<CertificateJobRun[]> | undefined
  let stopped = false
  const enqueue = (): Promise<CertificateJobRun[]> => {
    const next = (running ?? Promise.resolve([])).catch(() => []).then(round)
    const settled = next.finally(() => {
      if (running === settled) running = undefined
    })
    running = settled
    return settled
  }
  const tick = () => {
    if (running || stopped) return
    // runJob reports its own failures to onError and never throws.
    void enqueue()
  }
  let timer: NodeJS.Timeout | undefined
  const first = setTimeout(() => {
    tick()
    timer = setInterval(tick, intervalMs)
    timer.unref()
  }, initialDelayMs)
  first.unref()

  return {
    async stop() {
      stopped = true
      clearTimeout(first)
      if (timer) clearInterval(timer)
      await running?.catch(() => undefined)
    },
    runOnce() {
      if (stopped) return Promise.reject(new Error('the certificate schedule is stopped'))
      return enqueue()
    },
  }
}
