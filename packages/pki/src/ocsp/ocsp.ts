import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  TBSRequest,
} from '@peculiar/asn1-ocsp'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  Certificate,
  CRLReason,
  type CRLReasons,
  Extension,
  id_kp_OCSPSigning,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509'
import { bytesToHex, equalBytes, type Signer } from '@yiqian/gm'
import { signStructure, verifyStructure } from '../algorithms.js'
import { type DerLimits, decodeDer, encodeDer } from '../der.js'
import { isPkiError, PkiError } from '../errors.js'
import { keyIdentifierOf, type ParsedCertificate, parseCertificate, verifyCertificateSignature } from '../x509/index.js'

export type OcspHash = 'sha1' | 'sha256'
const HASH_OIDS: Record<OcspHash, string> = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1' }

/** OCSP inputs are small: a request names a few certificates, a response carries at most a responder chain. */
export const OCSP_DER_LIMITS: DerLimits = { maxBytes: 256 * 1024, maxDepth: 16 }

export type CrlReasonName =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise'

const REASON_NAMES: Record<number, CrlReasonName> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
}

export function crlReasonName(code: number): CrlReasonName | undefined {
  return REASON_NAMES[code]
}

function crlReasonCode(name: CrlReasonName): number {
  for (const [code, n] of Object.entries(REASON_NAMES)) if (n === name) return Number(code)
  throw new PkiError('INVALID_ARGUMENT', `unknown revocation reason ${name}`)
}

function hash(algorithm: OcspHash, data: Uint8Array): Uint8Array {
  const crypto = globalThis.process.getBuiltinModule('node:crypto')
  return new Uint8Array(crypto.createHash(algorithm).update(data).digest())
}

function hashOf(certId: CertID): OcspHash | undefined {
  const params = certId.hashAlgorithm.parameters ? new Uint8Array(certId.hashAlgorithm.parameters) : undefined
  // Absent or NULL parameters both occur in the wild (OpenSSL writes NULL).
  if (params && !(params.length === 2 && params[0] === 0x05 && params[1] === 0x00)) return undefined
  for (const [name, oid] of Object.entries(HASH_OIDS))
    if (oid === certId.hashAlgorithm.algorithm) return name as OcspHash
  return undefined
}

/** parseCertificate, with the error naming which input was malformed (the x509 parser just says "certificate"). */
export function parseNamedCertificate(der: Uint8Array, what: string): ParsedCertificate {
  try {
    return parseCertificate(der)
  } catch (error) {
    if (isPkiError(error) && what !== 'certificate') {
      throw new PkiError(error.code, `${what}: ${error.message}`, { cause: error })
    }
    throw error
  }
}

function asCertificate(cert: Uint8Array | ParsedCertificate, what: string): ParsedCertificate {
  return cert instanceof Uint8Array ? parseNamedCertificate(cert, what) : cert
}

/** The subjectPublicKey BIT STRING contents: what CertIDs hash (RFC 6960 §4.1.1), not the whole SPKI. */
function publicKeyBits(cert: ParsedCertificate): Uint8Array {
  const spki = decodeDer(cert.subjectPublicKeyInfo, SubjectPublicKeyInfo, 'subject public key info')
  return new Uint8Array(spki.subjectPublicKey)
}

/** CertID serials are not validated like certificate serials: compare them as unsigned integers, whatever padding. */
function unsignedHex(bytes: Uint8Array): string {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  return bytesToHex(bytes.subarray(i)) || '00'
}

/** The CertID naming `serial` under `issuer` (RFC 6960 §4.1.1). */
export function buildCertId(
  issuer: Uint8Array | ParsedCertificate,
  serial: Uint8Array,
  hashAlgorithm: OcspHash = 'sha1',
): CertID {
  const issuerCert = asCertificate(issuer, 'issuer certificate')
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[hashAlgorithm], parameters: null }),
    issuerNameHash: new OctetString(hash(hashAlgorithm, issuerCert.subjectDer)),
    issuerKeyHash: new OctetString(hash(hashAlgorithm, publicKeyBits(issuerCert))),
    serialNumber: serial.slice().buffer,
  })
}

/** Whether `certId` names the certificate with `serial` issued by `issuer`. */
export function certIdMatches(certId: CertID, issuer: ParsedCertificate, serial: Uint8Array): boolean {
  const algorithm = hashOf(certId)
  if (!algorithm) return false
  return (
    unsignedHex(new Uint8Array(certId.serialNumber)) === unsignedHex(serial) &&
    equalBytes(new Uint8Array(certId.issuerNameHash.buffer), hash(algorithm, issuer.subjectDer)) &&
    equalBytes(new Uint8Array(certId.issuerKeyHash.buffer), hash(algorithm, publicKeyBits(issuer)))
  )
}

function nonceExtension(nonce: Uint8Array): Extension {
  // OpenSSL (and RFC 8954) wrap the nonce in an OCTET STRING inside extnValue.
  return new Extension({
    extnID: id_pkix_ocsp_nonce,
    critical: false,
    extnValue: new OctetString(encodeDer(new OctetString(nonce))),
  })
}

function nonceOf(extensions: readonly Extension[] | undefined): Uint8Array | undefined {
  const ext = extensions?.find((e) => e.extnID === id_pkix_ocsp_nonce)
  if (!ext) return undefined
  const inner = new Uint8Array(ext.extnValue.buffer)
  try {
    return new Uint8Array(AsnConvert.parse(inner, OctetString).buffer)
  } catch {
    // Some responders put the raw nonce in extnValue; compare it as it is.
    return inner
  }
}

export interface OcspRequestOptions {
  readonly certificate: Uint8Array
  readonly issuer: Uint8Array
  /** Nonce bytes to include (RFC 8954: 1–32 bytes). */
  readonly nonce?: Uint8Array
  readonly hashAlgorithm?: OcspHash
}

export function buildOcspRequest({
  certificate,
  issuer,
  nonce,
  hashAlgorithm = 'sha1',
}: OcspRequestOptions): Uint8Array {
  const cert = parseCertificate(certificate)
  if (nonce && (nonce.length < 1 || nonce.length > 32))
    throw new PkiError('INVALID_ARGUMENT', 'nonce must be 1–32 bytes')
  const tbsRequest = new TBSRequest({
    requestList: [new Request({ reqCert: buildCertId(issuer, cert.serial, hashAlgorithm) })],
    ...(nonce && { requestExtensions: [nonceExtension(nonce)] }),
  })
  return encodeDer(new OCSPRequest({ tbsRequest }))
}

export interface ParsedOcspRequest {
  readonly request: OCSPRequest
  readonly certIds: readonly CertID[]
  readonly nonce?: Uint8Array
  readonly signed: boolean
}

export function parseOcspRequest(der: Uint8Array, limits: DerLimits = OCSP_DER_LIMITS): ParsedOcspRequest {
  const request = decodeDer(der, OCSPRequest, 'OCSP request', limits)
  const tbs = request.tbsRequest
  if (tbs.version !== 0) throw new PkiError('MALFORMED_DER', `OCSP request version ${tbs.version} is not v1`)
  if (tbs.requestList.length === 0) throw new PkiError('MALFORMED_DER', 'OCSP request names no certificate')
  for (const r of tbs.requestList) {
    if (!hashOf(r.reqCert)) {
      throw new PkiError(
        'UNSUPPORTED_ALGORITHM',
        `OCSP CertID hash ${r.reqCert.hashAlgorithm.algorithm} is not supported`,
      )
    }
  }
  const nonce = nonceOf(tbs.requestExtensions)
  return {
    request,
    certIds: tbs.requestList.map((r) => r.reqCert),
    ...(nonce && { nonce }),
    signed: request.optionalSignature !== undefined,
  }
}

export type OcspCertStatus =
  | { readonly status: 'good' }
  | { readonly status: 'revoked'; readonly revocationTime: Date; readonly reason?: CrlReasonName }
  | { readonly status: 'unknown' }

export interface OcspEntry {
  /** The certificate (DER) or its serial number bytes; the CertID is built against `issuer`. */
  readonly certificate?: Uint8Array
  readonly serial?: Uint8Array
  /** A CertID taken from a request, answered as it was asked (same hash algorithm). */
  readonly certId?: CertID
  readonly status: OcspCertStatus
  readonly thisUpdate: Date
  readonly nextUpdate?: Date
}

export interface OcspResponseOptions {
  /** Who signs: the issuing CA itself, or a delegated responder whose certificate the issuer signed. */
  readonly responder: { readonly signer: Signer; readonly certificate: Uint8Array }
  readonly issuer: Uint8Array
  readonly entries: readonly OcspEntry[]
  readonly nonce?: Uint8Array
  readonly producedAt: Date
}

/** DER GeneralizedTime has no fraction here: OpenSSL and most relying parties expect whole seconds. */
function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000)
}

function certStatusOf(status: OcspCertStatus): CertStatus {
  switch (status.status) {
    case 'good':
      return new CertStatus({ good: null })
    case 'unknown':
      return new CertStatus({ unknown: null })
    case 'revoked':
      return new CertStatus({
        revoked: new RevokedInfo({
          revocationTime: wholeSeconds(status.revocationTime),
          ...(status.reason && { revocationReason: new CRLReason(crlReasonCode(status.reason) as CRLReasons) }),
        }),
      })
  }
}

export async function buildOcspResponse(options: OcspResponseOptions): Promise<Uint8Array> {
  const issuer = parseNamedCertificate(options.issuer, 'issuer certificate')
  const responder = parseNamedCertificate(options.responder.certificate, 'responder certificate')
  if (options.entries.length === 0) throw new PkiError('INVALID_ARGUMENT', 'an OCSP response needs at least one entry')
  const delegated = !equalBytes(responder.der, issuer.der)
  const responses = options.entries.map((entry) => {
    let certId = entry.certId
    if (!certId) {
      const serial = entry.certificate ? parseCertificate(entry.certificate).serial : entry.serial
      if (!serial) throw new PkiError('INVALID_ARGUMENT', 'an OCSP entry needs a certificate, serial or CertID')
      certId = buildCertId(issuer, serial)
    }
    return new SingleResponse({
      certID: certId,
      certStatus: certStatusOf(entry.status),
      thisUpdate: wholeSeconds(entry.thisUpdate),
      ...(entry.nextUpdate && { nextUpdate: wholeSeconds(entry.nextUpdate) }),
    })
  })
  const tbsResponseData = new ResponseData({
    // byKey: the SHA-1 of the responder's public key (RFC 6960 §4.2.1), shorter than a name and unambiguous.
    responderID: new ResponderID({ byKey: new OctetString(keyIdentifierOf(responder.subjectPublicKeyInfo)) }),
    producedAt: wholeSeconds(options.producedAt),
    responses,
    ...(options.nonce && { responseExtensions: [nonceExtension(options.nonce)] }),
  })
  const signed = await signStructure(options.responder.signer, encodeDer(tbsResponseData))
  const basic = new BasicOCSPResponse({
    tbsResponseData,
    signatureAlgorithm: signed.algorithm,
    signature: signed.signature.slice().buffer,
    ...(delegated && { certs: [decodeDer(responder.der, Certificate, 'responder certificate')] }),
  })
  return encodeDer(
    new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(encodeDer(basic)),
      }),
    }),
  )
}

export interface OcspSingleStatus {
  readonly certId: CertID
  readonly serial: string
  readonly certStatus: OcspCertStatus
  readonly thisUpdate: Date
  readonly nextUpdate?: Date
}

export interface ParsedOcspResponse {
  readonly responseStatus: keyof typeof OCSPResponseStatus | 'other'
  /** Present only for a successful response. */
  readonly basic?: BasicOCSPResponse
  readonly tbsResponseData?: Uint8Array
  readonly producedAt?: Date
  readonly responses: readonly OcspSingleStatus[]
  readonly nonce?: Uint8Array
  /** Certificates the responder included (a delegated responder's own, usually). */
  readonly certs: readonly ParsedCertificate[]
}

function singleStatus(single: SingleResponse): OcspSingleStatus {
  const s = single.certStatus
  let certStatus: OcspCertStatus
  if (s.revoked) {
    const reasonCode = s.revoked.revocationReason?.reason
    const reason = reasonCode === undefined ? undefined : crlReasonName(reasonCode)
    certStatus = { status: 'revoked', revocationTime: s.revoked.revocationTime, ...(reason && { reason }) }
  } else if (s.good !== undefined) {
    certStatus = { status: 'good' }
  } else {
    certStatus = { status: 'unknown' }
  }
  return {
    certId: single.certID,
    serial: unsignedHex(new Uint8Array(single.certID.serialNumber)),
    certStatus,
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate && { nextUpdate: single.nextUpdate }),
  }
}

export function parseOcspResponse(der: Uint8Array, limits: DerLimits = OCSP_DER_LIMITS): ParsedOcspResponse {
  const outer = decodeDer(der, OCSPResponse, 'OCSP response', limits)
  const statusName = OCSPResponseStatus[outer.responseStatus] as keyof typeof OCSPResponseStatus | undefined
  if (outer.responseStatus !== OCSPResponseStatus.successful) {
    // RFC 6960 §4.2.1: only a successful response carries responseBytes.
    if (outer.responseBytes) throw new PkiError('MALFORMED_DER', 'unsuccessful OCSP response carries response bytes')
    return { responseStatus: statusName ?? 'other', responses: [], certs: [] }
  }
  if (!outer.responseBytes) throw new PkiError('MALFORMED_DER', 'successful OCSP response has no response bytes')
  if (outer.responseBytes.responseType !== id_pkix_ocsp_basic) {
    throw new PkiError('UNSUPPORTED_ALGORITHM', `OCSP response type ${outer.responseBytes.responseType} is not basic`)
  }
  const basic = decodeDer(
    new Uint8Array(outer.responseBytes.response.buffer),
    BasicOCSPResponse,
    'basic OCSP response',
    limits,
  )
  const data = basic.tbsResponseData
  if (data.version !== 0) throw new PkiError('MALFORMED_DER', `OCSP response version ${data.version} is not v1`)
  if (data.responses.length === 0) throw new PkiError('MALFORMED_DER', 'OCSP response has no single responses')
  if (!data.responderID.byKey && !data.responderID.byName)
    throw new PkiError('MALFORMED_DER', 'OCSP responder ID empty')
  const nonce = nonceOf(data.responseExtensions)
  return {
    responseStatus: 'successful',
    basic,
    tbsResponseData: basic.tbsResponseDataRaw ? new Uint8Array(basic.tbsResponseDataRaw) : encodeDer(data),
    producedAt: data.producedAt,
    responses: data.responses.map(singleStatus),
    ...(nonce && { nonce }),
    certs: (basic.certs ?? []).map((c, i) =>
      parseNamedCertificate(encodeDer(c), `OCSP responder certificate ${i + 1}`),
    ),
  }
}

export type OcspCheckName =
  | 'responseStatus'
  | 'responderAuthorization'
  | 'signature'
  | 'nonce'
  | 'certificateStatus'
  | 'timeWindow'

export interface OcspCheck {
  readonly check: OcspCheckName
  readonly status: 'passed' | 'failed'
  readonly reason: string
}

export interface OcspVerification {
  /** Passed when the response is authentic (and its nonce matches); the certificate statuses are in `responses`. */
  readonly status: 'passed' | 'failed'
  readonly checks: readonly OcspCheck[]
  readonly responder?: string
  readonly producedAt?: Date
  readonly responses: readonly OcspSingleStatus[]
  /** The entry for `certificate`, when one was given and the response names it. */
  readonly certificateStatus?: OcspSingleStatus
}

export interface OcspVerifyOptions {
  /** The CA that issued the certificates asked about. */
  readonly issuer: Uint8Array | ParsedCertificate
  /** The certificate asked about: its entry must be present. */
  readonly certificate?: Uint8Array | ParsedCertificate
  /** The nonce sent in the request: the response must echo it. */
  readonly nonce?: Uint8Array
  /** When the delegated responder's certificate must be valid (default producedAt). */
  readonly at?: Date
  /**
   * The time now, for an online check: producedAt and thisUpdate must not be after it and nextUpdate not before it
   * (within `clockSkewSeconds`). Omitted: no freshness check (path validation judges the window against its own time).
   */
  readonly currentTime?: Date
  readonly clockSkewSeconds?: number
  readonly sm2Id?: string | Uint8Array
}

function matchesResponderId(id: ResponderID, cert: ParsedCertificate): boolean {
  // byKey is the SHA-1 of the subjectPublicKey bits: the RFC 5280 method-1 key identifier.
  if (id.byKey) return equalBytes(new Uint8Array(id.byKey.buffer), keyIdentifierOf(cert.subjectPublicKeyInfo))
  return id.byName !== undefined && equalBytes(encodeDer(id.byName), cert.subjectDer)
}

/**
 * Checks that an OCSP response is authentic: successful, signed by the issuer or by a responder the issuer
 * delegated to (EKU id-kp-OCSPSigning, issued and signed by the issuer, valid when the response was produced),
 * echoing the nonce when one was sent. Malformed input throws a typed PkiError; everything else is a named check.
 */
export async function verifyOcspResponse(
  response: Uint8Array | ParsedOcspResponse,
  options: OcspVerifyOptions,
): Promise<OcspVerification> {
  const parsed = response instanceof Uint8Array ? parseOcspResponse(response) : response
  const issuer = asCertificate(options.issuer, 'issuer certificate')
  const checks: OcspCheck[] = []
  const fail = (check: OcspCheckName, reason: string): OcspVerification => {
    checks.push({ check, status: 'failed', reason })
    return {
      status: 'failed',
      checks,
      responses: parsed.responses,
      ...(parsed.producedAt && { producedAt: parsed.producedAt }),
    }
  }
  const { basic, tbsResponseData } = parsed
  if (parsed.responseStatus !== 'successful' || !basic || !tbsResponseData) {
    return fail('responseStatus', `the responder answered ${parsed.responseStatus}`)
  }
  checks.push({ check: 'responseStatus', status: 'passed', reason: 'the responder answered successful' })

  const responderId = basic.tbsResponseData.responderID
  let signer: ParsedCertificate | undefined
  if (matchesResponderId(responderId, issuer)) {
    signer = issuer
    checks.push({ check: 'responderAuthorization', status: 'passed', reason: 'signed by the issuing CA itself' })
  } else {
    const candidate = parsed.certs.find((c) => matchesResponderId(responderId, c))
    if (!candidate)
      return fail('responderAuthorization', 'the responder is neither the issuer nor a certificate included')
    if (!equalBytes(candidate.issuerDer, issuer.subjectDer)) {
      return fail(
        'responderAuthorization',
        `the responder certificate was issued by ${candidate.issuerString}, not the CA`,
      )
    }
    const keyUsage = candidate.extensions.keyUsage
    if (keyUsage && !keyUsage.usages.includes('digitalSignature')) {
      return fail('responderAuthorization', 'the responder certificate keyUsage lacks digitalSignature')
    }
    if (!candidate.extensions.extKeyUsage?.purposes.includes(id_kp_OCSPSigning)) {
      return fail('responderAuthorization', 'the responder certificate lacks extKeyUsage id-kp-OCSPSigning')
    }
    const at = options.at ?? parsed.producedAt ?? new Date()
    if (at < candidate.notBefore || at > candidate.notAfter) {
      return fail('responderAuthorization', `the responder certificate is not valid at ${at.toISOString()}`)
    }
    const ok = await verifyCertificateSignature(candidate, issuer, { sm2Id: options.sm2Id })
    if (!ok) return fail('responderAuthorization', 'the responder certificate is not signed by the issuing CA')
    signer = candidate
    checks.push({
      check: 'responderAuthorization',
      status: 'passed',
      reason: `delegated responder ${candidate.subjectString}`,
    })
  }
  const signatureOk = await verifyStructure(
    basic.signatureAlgorithm,
    signer.subjectPublicKeyInfo,
    tbsResponseData,
    new Uint8Array(basic.signature),
    { sm2Id: options.sm2Id },
  )
  if (!signatureOk) return fail('signature', 'the response signature does not verify with the responder key')
  checks.push({ check: 'signature', status: 'passed', reason: `signed by ${signer.subjectString}` })

  if (options.nonce) {
    if (!parsed.nonce) return fail('nonce', 'the request carried a nonce but the response has none')
    if (!equalBytes(parsed.nonce, options.nonce)) return fail('nonce', 'the response nonce differs from the request')
    checks.push({ check: 'nonce', status: 'passed', reason: 'the response echoes the request nonce' })
  }
  let certificateStatus: OcspSingleStatus | undefined
  if (options.certificate) {
    const cert = asCertificate(options.certificate, 'certificate')
    certificateStatus = parsed.responses.find((r) => certIdMatches(r.certId, issuer, cert.serial))
    if (!certificateStatus) return fail('certificateStatus', `the response does not name serial ${cert.serialHex}`)
    checks.push({
      check: 'certificateStatus',
      status: 'passed',
      reason: `the response names serial ${cert.serialHex}: ${certificateStatus.certStatus.status}`,
    })
  }
  if (options.currentTime) {
    const now = options.currentTime.getTime()
    const skew = (options.clockSkewSeconds ?? 300) * 1000
    const relevant = certificateStatus ? [certificateStatus] : parsed.responses
    if (parsed.producedAt && parsed.producedAt.getTime() > now + skew) {
      return fail('timeWindow', `produced at ${parsed.producedAt.toISOString()}, in the future`)
    }
    for (const r of relevant) {
      if (r.thisUpdate.getTime() > now + skew) {
        return fail('timeWindow', `serial ${r.serial}: thisUpdate ${r.thisUpdate.toISOString()} is in the future`)
      }
      if (r.nextUpdate && r.nextUpdate.getTime() < now - skew) {
        return fail('timeWindow', `serial ${r.serial}: stale since nextUpdate ${r.nextUpdate.toISOString()}`)
      }
    }
    checks.push({ check: 'timeWindow', status: 'passed', reason: `current at ${options.currentTime.toISOString()}` })
  }
  return {
    status: 'passed',
    checks,
    responder: signer.subjectString,
    ...(parsed.producedAt && { producedAt: parsed.producedAt }),
    responses: parsed.responses,
    ...(certificateStatus && { certificateStatus }),
  }
}
