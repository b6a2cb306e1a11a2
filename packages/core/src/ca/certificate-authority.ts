/**
 * The certificate authority's records and the storage ports it owns. A CA is a key in the KeyStore (addressed by
 * URI) plus its certificate, the chain up to the root, and its current CRL. An issued certificate is the lifecycle
 * record of certificates/lifecycle.ts plus what the CA needs to answer for it: issuer, serial, subject and DER.
 */
import type { CertificateRecord, RevocationReason } from '../certificates/lifecycle.js'

export const CA_ALGORITHMS = ['sm2', 'ecdsa-p256', 'rsa-3072'] as const
export type CaAlgorithm = (typeof CA_ALGORITHMS)[number]

export const CA_STATUSES = ['active', 'retired'] as const
export type CaStatus = (typeof CA_STATUSES)[number]

export const CA_LIMITS = {
  name: 64,
  /** SubjectPublicKeyInfo: an RSA-16384 key is about 2.1 kB. */
  publicKeyBytes: 4096,
  /** Cert IDs answered in one OCSP request. */
  ocspRequests: 20,
  /** OCSP request DER. */
  ocspRequestBytes: 16 * 1024,
  /** How long a CRL is valid; a CRL is regenerated at every change and at the latest a day before this. */
  crlValiditySeconds: 7 * 86_400,
  crlRefreshSeconds: 86_400,
  /** OCSP responses are computed from the database on request; relying parties may cache them this long. */
  ocspValiditySeconds: 3600,
} as const

export interface CertificateAuthority {
  /** `ca-` + 16 hex digits; also the file name in publication URLs. */
  readonly id: string
  readonly name: string
  readonly keyUri: string
  readonly algorithm: CaAlgorithm
  /** The CA's own certificate, DER. */
  readonly certificate: Uint8Array
  /** The issuers' certificates, DER, nearest first, ending with the root; empty for a root. */
  readonly chain: readonly Uint8Array[]
  /** The CA that issued this one; undefined for a root. */
  readonly parentId: string | undefined
  readonly status: CaStatus
  /** The current CRL (DER), regenerated at every revocation change. */
  readonly crl: Uint8Array | undefined
  /** The number of the current CRL; 0 before the first. */
  readonly crlNumber: number
  readonly crlNextUpdate: Date | undefined
  /**
   * A delegated OCSP responder (RFC 6960 §4.2.2.2: an `ocsp-signer` certificate this CA issued, with its KeyStore key).
   * Used while it is valid for at least another hour; otherwise the CA key answers.
   */
  readonly ocspResponder: { readonly keyUri: string; readonly certificate: Uint8Array } | undefined
  readonly createdAt: Date
}

/** An issued certificate: the lifecycle record plus what the CA publishes about it. */
export interface IssuedCertificate extends CertificateRecord {
  /** The issuing CA's id. */
  readonly issuerId: string
  /** RFC 4514-style subject string, for lists and search. */
  readonly subject: string
  readonly staffId: string | undefined
  readonly der: Uint8Array
  readonly createdAt: Date
}

export interface CertificateAuthorityRepository {
  insert(ca: CertificateAuthority): Promise<void>
  find(id: string): Promise<CertificateAuthority | undefined>
  list(): Promise<CertificateAuthority[]>
  /** Saves a new CRL when the stored number is still `previousNumber`; false otherwise (someone else did). */
  saveCrl(
    id: string,
    crl: { readonly der: Uint8Array; readonly number: number; readonly nextUpdate: Date },
    previousNumber: number,
  ): Promise<boolean>
  saveOcspResponder(id: string, responder: { readonly keyUri: string; readonly certificate: Uint8Array }): Promise<void>
}

export interface CertificateRevocationStatus {
  readonly status: IssuedCertificate['status']
  readonly statusChangedAt: Date
  readonly revocation?: { readonly reason: RevocationReason; readonly at: Date } | undefined
}

export interface IssuedCertificateRepository {
  insert(certificate: IssuedCertificate): Promise<void>
  /** Inserts unless its issuer already used the serial (then false, nothing written): one statement, no lookup. */
  insertUnlessSerialTaken(certificate: IssuedCertificate): Promise<boolean>
  find(id: string): Promise<IssuedCertificate | undefined>
  /** Serials are lower-case hex without sign padding (pki's serialToHex). */
  findBySerial(issuerId: string, serialHex: string): Promise<IssuedCertificate | undefined>
  /** What an OCSP answer needs of one certificate, and nothing more (no DER): the responder's hot path. */
  statusBySerial(issuerId: string, serialHex: string): Promise<CertificateRevocationStatus | undefined>
  /** Every issuer's certificate with this serial (serials are unique per issuer only). */
  listBySerial(serialHex: string): Promise<IssuedCertificate[]>
  /** Revoked and suspended certificates of one issuer that have not yet expired at `now`: what its CRL lists. */
  listRevoked(issuerId: string, now: Date): Promise<IssuedCertificate[]>
  listByStaff(staffId: string): Promise<IssuedCertificate[]>
  /** Saves `certificate` when the stored version is `certificate.version - 1`; false otherwise. */
  update(certificate: IssuedCertificate): Promise<boolean>
}
