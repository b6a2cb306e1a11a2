/**
 * The read model of issued certificates for the management console and relying systems: a certificate as it is
 * listed (joined with its holder, the holder's primary department and institution), the effective status a person
 * cares about (an active certificate past notAfter reads as expired even before any job marks it), and the query
 * port the storage layer answers for search and reports.
 */
import type { CertificateState, RevocationReason } from '../certificates/lifecycle.js'

export const CERTIFICATE_ADMIN_LIMITS = {
  pageSize: 200,
  query: 200,
  /** expiringWithinDays. */
  expiringDays: 3650,
  /** Audit events shown in a certificate's history. */
  history: 200,
  /** Report rows (departments of a large hospital, months of a decade). */
  reportRows: 5000,
  comment: 500,
} as const

export const REPORT_GROUPS = ['institution', 'department', 'profile', 'month'] as const
export type ReportGroupBy = (typeof REPORT_GROUPS)[number]

/** A certificate as lists show it; `status` is the stored lifecycle state (see `effectiveStatus`). */
export interface CertificateListing {
  readonly id: string
  readonly serialHex: string
  readonly issuerId: string
  readonly subject: string
  readonly staffId: string | undefined
  readonly staffName: string | undefined
  /** The holder's primary department. */
  readonly departmentId: string | undefined
  readonly departmentName: string | undefined
  readonly institutionId: string | undefined
  readonly profile: string
  readonly ca: boolean
  readonly status: CertificateState
  readonly notBefore: Date
  readonly notAfter: Date
  readonly statusChangedAt: Date
  readonly revocation:
    | { readonly reason: RevocationReason; readonly at: Date; readonly invalidityDate: Date | undefined }
    | undefined
  readonly supersededBy: string | undefined
  readonly version: number
  readonly createdAt: Date
}

export interface CertificateSearch {
  /** Subject substring (case-insensitive) or serial prefix (hex). */
  readonly q?: string | undefined
  /** Effective status at `now`. */
  readonly status?: CertificateState | undefined
  readonly staffId?: string | undefined
  /** Exact serial, lower-case hex without leading zero octets. */
  readonly serial?: string | undefined
  /** Certificates whose holder belongs to one of these departments; undefined: no restriction. */
  readonly departmentIds?: readonly string[] | undefined
  readonly profile?: string | undefined
  /** Not revoked, not yet expired, and notAfter at or before this. */
  readonly expiringBefore?: Date | undefined
  readonly now: Date
  readonly offset: number
  readonly limit: number
}

export interface ReportQuery {
  readonly groupBy: ReportGroupBy
  /** Created at or after (inclusive); undefined: since the first. */
  readonly from?: Date | undefined
  /** Created before (exclusive); undefined: up to now. */
  readonly to?: Date | undefined
  readonly now: Date
  /** Certificates that are active and end at or before this count as expiring. */
  readonly expiringBefore: Date
  /** Holders in these departments only; undefined: no restriction. */
  readonly departmentIds?: readonly string[] | undefined
}

/** One group of certificates created in [from, to), with their state now. `key` null: no holder / no department. */
export interface ReportCounts {
  readonly key: string | null
  readonly label: string | null
  readonly issued: number
  readonly active: number
  readonly suspended: number
  readonly revoked: number
  readonly expired: number
  readonly expiringIn30Days: number
}

/** Queries over issued certificates that the lifecycle repository does not answer: search, reports, counts. */
export interface CertificateQueryRepository {
  search(query: CertificateSearch): Promise<{ items: CertificateListing[]; total: number }>
  listing(id: string): Promise<CertificateListing | undefined>
  report(query: ReportQuery): Promise<ReportCounts[]>
  /** How many certificates each CA issued (ids absent: none). */
  issuedCounts(): Promise<Map<string, number>>
}

/** What a person reads as the state: revoked stays revoked; anything else past notAfter is expired. */
export function effectiveStatus(c: Pick<CertificateListing, 'status' | 'notAfter'>, now: Date): CertificateState {
  if (c.status === 'revoked') return 'revoked'
  if (c.status === 'expired' || c.notAfter.getTime() <= now.getTime()) return 'expired'
  return c.status
}
