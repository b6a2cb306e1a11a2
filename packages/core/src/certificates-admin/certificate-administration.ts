/**
 * Issued certificates for the console and relying systems: search and detail within the caller's organisation scope,
 * downloads, the status answer for client systems, and revoke / suspend / resume through the CA service (which
 * audits the change and republishes the CRL in its own unit of work). Stale versions are refused before the CA is
 * asked, so that an officer acting on an old screen gets VERSION_CONFLICT rather than a surprise.
 */
import { createHash } from 'node:crypto'
import { bytesToHex, sm3 } from '@yiqian/gm'
import { certificateToPem, parseCertificate } from '@yiqian/pki'
import type { ActorContext, Principal } from '../access/principal.js'
import type { AuditRecord } from '../audit/audit-record.js'
import { type CaService, describePublicKey, normaliseSerial } from '../ca/ca-service.js'
import type { IssuedCertificate } from '../ca/certificate-authority.js'
import type { CertificateState, RevocationReason } from '../certificates/lifecycle.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import { subtreeIds } from '../organisation/organisation.js'
import { inScope, type OrgScope, orgScopeOf } from '../organisation/scope.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  CERTIFICATE_ADMIN_LIMITS,
  type CertificateListing,
  type CertificateSearch,
  effectiveStatus,
} from './certificate-listing.js'

/** A listing whose `status` is the effective one at the time it was read. */
export type CertificateView = CertificateListing

export interface CertificateDetail extends CertificateView {
  readonly der: Uint8Array
  readonly issuerName: string
  /** `SM2`, `ECDSA-P256`, `RSA-3072`, … */
  readonly keyAlgorithm: string
  readonly fingerprintSm3: string
  readonly fingerprintSha256: string
  readonly history: readonly AuditRecord[]
}

export type CertificateDownloadFormat = 'pem' | 'der' | 'chain'

export interface CertificateDownload {
  readonly fileName: string
  readonly contentType: string
  readonly body: Uint8Array | string
}

/** What a relying system learns about one serial (like OCSP: an unknown serial is an answer, not an error). */
export interface CertificateStatusAnswer {
  readonly serial: string
  readonly issuerId: string | undefined
  readonly status: 'good' | 'revoked' | 'suspended' | 'expired' | 'unknown'
  readonly revocation:
    | { readonly reason: RevocationReason; readonly at: Date; readonly invalidityDate: Date | undefined }
    | undefined
  readonly notBefore: Date | undefined
  readonly notAfter: Date | undefined
  readonly subject: string | undefined
  readonly staffId: string | undefined
}

export type CertificateChange =
  | {
      readonly type: 'revoke'
      readonly reason: RevocationReason
      readonly comment?: string | undefined
      readonly invalidityDate?: Date | undefined
    }
  | { readonly type: 'suspend'; readonly comment?: string | undefined }
  | { readonly type: 'resume' }

export type CertificateFilter = Omit<CertificateSearch, 'departmentIds' | 'now' | 'expiringBefore'> & {
  readonly departmentId?: string | undefined
  readonly expiringWithinDays?: number | undefined
}

export interface CertificateAdministrationDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  /** Absent without a key store: reads still work, changes answer CA_UNAVAILABLE. */
  readonly ca?: CaService | undefined
}

const DAY_MS = 86_400_000

export function caUnavailable(): DomainError {
  return new DomainError('CA_UNAVAILABLE', '证书签发服务未启用 / the certificate authority is not available')
}

function notFound(id: string): DomainError {
  return new DomainError('CERTIFICATE_NOT_FOUND', `证书 ${id} 不存在 / no certificate ${id}`, { field: 'id', id })
}

function invalid(field: string, zh: string, en: string): DomainError {
  return new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field })
}

export function viewOf(listing: CertificateListing, now: Date): CertificateView {
  return { ...listing, status: effectiveStatus(listing, now) }
}

/** `SM2`, `ECDSA-P256`, `RSA-3072`; `unknown` for a key the CA would not have issued for. */
export function keyAlgorithmOf(spki: Uint8Array): string {
  try {
    const key = describePublicKey(spki)
    return key.algorithm === 'RSA' && key.bits ? `RSA-${key.bits}` : key.algorithm
  } catch {
    return 'unknown'
  }
}

export async function scopeOf(tx: Repositories, principal: Principal): Promise<OrgScope> {
  if (principal.roles.includes('ra-officer')) return { all: true }
  return orgScopeOf(principal, await tx.departments.list())
}

/** The departments a list is limited to: a filter (with its subtree) within the scope; undefined means all. */
export async function departmentFilter(
  tx: Repositories,
  scope: OrgScope,
  departmentId: string | undefined,
): Promise<string[] | undefined> {
  if (departmentId !== undefined) {
    const ids = [...subtreeIds(await tx.departments.list(), [departmentId])]
    return scope.all ? ids : ids.filter((id) => scope.departmentIds.has(id))
  }
  return scope.all ? undefined : [...scope.departmentIds]
}

export function createCertificateAdministration(deps: CertificateAdministrationDeps) {
  const { uow, clock } = deps

  /** The listing when the caller may see it; out of scope reads as not found. */
  async function visibleOrThrow(tx: Repositories, principal: Principal, id: string): Promise<CertificateListing> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw notFound(String(id).slice(0, 64))
    const listing = await tx.certificateQueries.listing(id)
    if (!listing) throw notFound(id)
    const scope = await scopeOf(tx, principal)
    if (scope.all) return listing
    const member = listing.staffId === undefined ? undefined : await tx.staff.find(listing.staffId)
    if (!member || !inScope(scope, member.departmentIds)) throw notFound(id)
    return listing
  }

  async function certificateOrThrow(tx: Repositories, id: string): Promise<IssuedCertificate> {
    const certificate = await tx.certificates.find(id)
    if (!certificate) throw notFound(id)
    return certificate
  }

  return {
    async search(
      principal: Principal,
      filter: CertificateFilter,
    ): Promise<{ items: CertificateView[]; total: number }> {
      const limit = Math.min(Math.max(1, Math.trunc(filter.limit)), CERTIFICATE_ADMIN_LIMITS.pageSize)
      const offset = Math.max(0, Math.trunc(filter.offset))
      const now = clock.now()
      const serial = filter.serial === undefined ? undefined : normaliseSerial(filter.serial)
      const days = filter.expiringWithinDays
      if (
        days !== undefined &&
        !(Number.isInteger(days) && days >= 0 && days <= CERTIFICATE_ADMIN_LIMITS.expiringDays)
      ) {
        throw invalid(
          'expiringWithinDays',
          `应为 0–${CERTIFICATE_ADMIN_LIMITS.expiringDays} 的整数`,
          `must be an integer from 0 to ${CERTIFICATE_ADMIN_LIMITS.expiringDays}`,
        )
      }
      const page = await uow.run(async (tx) => {
        const departmentIds = await departmentFilter(tx, await scopeOf(tx, principal), filter.departmentId)
        if (departmentIds?.length === 0) return { items: [], total: 0 }
        return tx.certificateQueries.search({
          q: filter.q?.trim() || undefined,
          status: filter.status,
          staffId: filter.staffId,
          serial,
          departmentIds,
          profile: filter.profile,
          expiringBefore: days === undefined ? undefined : new Date(now.getTime() + days * DAY_MS),
          now,
          offset,
          limit,
        })
      })
      return { items: page.items.map((c) => viewOf(c, now)), total: page.total }
    },

    async detail(principal: Principal, id: string): Promise<CertificateDetail> {
      return uow.run(async (tx) => {
        const listing = await visibleOrThrow(tx, principal, id)
        const certificate = await certificateOrThrow(tx, id)
        const issuer = await tx.certificateAuthorities.find(certificate.issuerId)
        const parsed = parseCertificate(certificate.der)
        const history = await tx.audit.query({ subject: id }, { limit: CERTIFICATE_ADMIN_LIMITS.history, order: 'asc' })
        return {
          ...viewOf(listing, clock.now()),
          der: certificate.der,
          issuerName: issuer?.name ?? certificate.issuerId,
          keyAlgorithm: keyAlgorithmOf(parsed.subjectPublicKeyInfo),
          fingerprintSm3: bytesToHex(sm3(certificate.der)),
          fingerprintSha256: createHash('sha256').update(certificate.der).digest('hex'),
          history,
        }
      })
    },

    async download(principal: Principal, id: string, format: CertificateDownloadFormat): Promise<CertificateDownload> {
      return uow.run(async (tx) => {
        const listing = await visibleOrThrow(tx, principal, id)
        const certificate = await certificateOrThrow(tx, id)
        const base = listing.serialHex
        if (format === 'der') {
          return { fileName: `${base}.cer`, contentType: 'application/pkix-cert', body: certificate.der }
        }
        if (format === 'pem') {
          return {
            fileName: `${base}.pem`,
            contentType: 'application/x-pem-file',
            body: certificateToPem(certificate.der),
          }
        }
        if (format !== 'chain') {
          throw invalid('format', '应为 pem、der 或 chain', 'must be pem, der or chain')
        }
        const issuer = await tx.certificateAuthorities.find(certificate.issuerId)
        const issuers = issuer ? [issuer.certificate, ...issuer.chain] : []
        return {
          fileName: `${base}-chain.pem`,
          contentType: 'application/x-pem-file',
          body: [certificate.der, ...issuers].map(certificateToPem).join(''),
        }
      })
    },

    /** The status of one serial for a relying system. Serial in any hex case; `issuerId` when serials collide. */
    async status(query: { serial: string; issuerId?: string | undefined }): Promise<CertificateStatusAnswer> {
      const serial = normaliseSerial(query.serial)
      const now = clock.now()
      const found = await uow.run(async (tx) => {
        if (query.issuerId !== undefined) {
          const one = await tx.certificates.findBySerial(query.issuerId, serial)
          return one ? [one] : []
        }
        return tx.certificates.listBySerial(serial)
      })
      if (found.length > 1) {
        throw invalid('issuerId', '多个 CA 签发了该序列号，请指定 issuerId', 'several CAs issued this serial; name one')
      }
      const certificate = found[0]
      if (!certificate) {
        return {
          serial,
          issuerId: query.issuerId,
          status: 'unknown',
          revocation: undefined,
          notBefore: undefined,
          notAfter: undefined,
          subject: undefined,
          staffId: undefined,
        }
      }
      const state = effectiveStatus(certificate, now)
      return {
        serial,
        issuerId: certificate.issuerId,
        status: state === 'active' ? 'good' : state,
        revocation: certificate.revocation && {
          reason: certificate.revocation.reason,
          at: certificate.revocation.at,
          invalidityDate: certificate.revocation.invalidityDate,
        },
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        subject: certificate.subject,
        staffId: certificate.staffId,
      }
    },

    /**
     * Revokes, suspends or resumes one certificate when `version` is still the stored one (VERSION_CONFLICT
     * otherwise); the lifecycle decides whether the change is allowed (INVALID_TRANSITION otherwise).
     */
    async change(
      principal: Principal,
      actor: ActorContext,
      id: string,
      change: CertificateChange,
      version: number,
    ): Promise<CertificateView> {
      const ca = deps.ca
      if (!ca) throw caUnavailable()
      const listing = await uow.run((tx) => visibleOrThrow(tx, principal, id))
      if (listing.version !== version) {
        throw new DomainError(
          'VERSION_CONFLICT',
          `证书 ${listing.serialHex} 已被他人修改（当前版本 ${listing.version}）/ certificate ${listing.serialHex} ` +
            `changed meanwhile (now version ${listing.version})`,
          { field: 'version', id, version: listing.version },
        )
      }
      const ref = { serial: listing.serialHex, caId: listing.issuerId }
      if (change.type === 'revoke') {
        await ca.revoke(ref, change.reason, actor, { invalidityDate: change.invalidityDate, comment: change.comment })
      } else if (change.type === 'suspend') {
        await ca.suspend(ref, actor, change.comment)
      } else {
        await ca.resume(ref, actor)
      }
      const after = await uow.run((tx) => tx.certificateQueries.listing(id))
      if (!after) throw notFound(id)
      return viewOf(after, clock.now())
    },
  }
}

export type CertificateAdministration = ReturnType<typeof createCertificateAdministration>
export type { CertificateState }
