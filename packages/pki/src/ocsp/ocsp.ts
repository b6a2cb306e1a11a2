import {
  BasicOCSPResponse,
  CertID,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  type ResponderID,
  type SingleResponse,
  TBSRequest,
} from '@peculiar/asn1-ocsp'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, Extension, id_kp_OCSPSigning } from '@peculiar/asn1-x509'
import { bytesToHex, equalBytes, type Signer } from '@yiqian/gm'
import { verifyStructure } from '../algorithms.js'
import { checkDerShape, type DerLimits, decodeDer, encodeDer } from '../der.js'
import { isPkiError, PkiError } from '../errors.js'
import { signatureAlgorithmDer } from '../x509/certificate.js'
import {
  childrenOf,
  derBitString,
  derGeneralizedTime,
  derOctetString,
  derOid,
  oidToString,
  readTlv,
  sequence,
  spkiParts,
  type Tlv,
  tlv,
} from '../x509/der-build.js'
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
  // The parsed certificate's SPKI was decoded strictly already: read the BIT STRING without decoding it again.
  return spkiParts(cert.subjectPublicKeyInfo).key
}

/** The issuer name and key hashes of a CA under each algorithm, computed once per parsed certificate. */
const issuerHashes = new WeakMap<ParsedCertificate, Map<OcspHash, { name: Uint8Array; key: Uint8Array }>>()
function issuerHashesOf(issuer: ParsedCertificate, algorithm: OcspHash): { name: Uint8Array; key: Uint8Array } {
  let byAlgorithm = issuerHashes.get(issuer)
  if (!byAlgorithm) {
    byAlgorithm = new Map()
    issuerHashes.set(issuer, byAlgorithm)
  }
  let found = byAlgorithm.get(algorithm)
  if (!found) {
    found = { name: hash(algorithm, issuer.subjectDer), key: hash(algorithm, publicKeyBits(issuer)) }
    byAlgorithm.set(algorithm, found)
  }
  return found
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
  const hashes = issuerHashesOf(issuerCert, hashAlgorithm)
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[hashAlgorithm], parameters: null }),
    issuerNameHash: new OctetString(hashes.name.slice()),
    issuerKeyHash: new OctetString(hashes.key.slice()),
    serialNumber: serial.slice().buffer,
  })
}

/** Whether `certId` names the certificate with `serial` issued by `issuer`. */
export function certIdMatches(certId: CertID, issuer: ParsedCertificate, serial: Uint8Array): boolean {
  const algorithm = hashOf(certId)
  if (!algorithm) return false
  if (unsignedHex(new Uint8Array(certId.serialNumber)) !== unsignedHex(serial)) return false
  const hashes = issuerHashesOf(issuer, algorithm)
  return (
    equalBytes(new Uint8Array(certId.issuerNameHash.buffer), hashes.name) &&
    equalBytes(new Uint8Array(certId.issuerKeyHash.buffer), hashes.key)
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
  // The usual form, one DER OCTET STRING filling extnValue, read directly; anything else as before.
  if (inner[0] === 0x04 && inner.length >= 2 && inner[1]! < 0x80 && inner[1] === inner.length - 2) {
    return inner.slice(2)
  }
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

/**
 * Parses an OCSP request strictly (DER only, v1, at least one CertID, supported hashes). The usual shape — unsigned,
 * no requestor name, CertIDs without per-request extensions, request extensions such as the nonce — is read directly
 * and accepted only if writing it back gives the input bytes; anything else goes through the schema decoder.
 */
export function parseOcspRequest(der: Uint8Array, limits: DerLimits = OCSP_DER_LIMITS): ParsedOcspRequest {
  return parseSimpleRequest(der, limits) ?? parseOcspRequestWithSchema(der, limits)
}

/** The schema-decoder path of parseOcspRequest (exported for the differential tests). */
export function parseOcspRequestWithSchema(der: Uint8Array, limits: DerLimits = OCSP_DER_LIMITS): ParsedOcspRequest {
  const request = decodeDer(der, OCSPRequest, 'OCSP request', limits)
  const tbs = request.tbsRequest
  if (tbs.version !== 0) throw new PkiError('MALFORMED_DER', `OCSP request version ${tbs.version} is not v1`)
  if (tbs.requestList.length === 0) throw new PkiError('MALFORMED_DER', 'OCSP request names no certificate')
  checkHashes(tbs.requestList.map((r) => r.reqCert))
  const nonce = nonceOf(tbs.requestExtensions)
  return {
    request,
    certIds: tbs.requestList.map((r) => r.reqCert),
    ...(nonce && { nonce }),
    signed: request.optionalSignature !== undefined,
  }
}

function checkHashes(certIds: readonly CertID[]): void {
  for (const certId of certIds) {
    if (!hashOf(certId)) {
      throw new PkiError('UNSUPPORTED_ALGORITHM', `OCSP CertID hash ${certId.hashAlgorithm.algorithm} is not supported`)
    }
  }
}

/** The children of the constructed value `outer`, each with its encoded bytes. */
/** A copy of der[start, end) (a Buffer's slice would share, and expose, its pool). */
const copyOf = (der: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(der.subarray(start, end))
const bufferSlice = (der: Uint8Array, start: number, end: number): ArrayBuffer =>
  copyOf(der, start, end).buffer as ArrayBuffer

/**
 * The direct reading of parseOcspRequest; undefined when the request is not of the usual shape or does not write
 * back to the same bytes (the schema path then decides, and names the fault).
 */
function parseSimpleRequest(der: Uint8Array, limits: DerLimits): ParsedOcspRequest | undefined {
  if (!(der instanceof Uint8Array) || der.length > limits.maxBytes || der.length === 0) return undefined
  let parsed: { certIds: CertID[]; extensions: Extension[] } | undefined
  try {
    checkDerShape(der, 'OCSP request', limits)
    parsed = readSimpleRequest(der)
  } catch {
    return undefined
  }
  if (!parsed) return undefined
  const { certIds, extensions } = parsed
  checkHashes(certIds)
  const nonce = nonceOf(extensions)
  let request: OCSPRequest | undefined
  return {
    // The schema object only when someone asks for it.
    get request() {
      request ??= decodeDer(der, OCSPRequest, 'OCSP request', limits)
      return request
    },
    certIds,
    ...(nonce && { nonce }),
    signed: false,
  }
}

/** DER of CertIDs read by readSimpleRequest, so an answer echoes them without running the schema serializer. */
const certIdDers = new WeakMap<CertID, Uint8Array>()

/** The CertIDs and request extensions of a request of the usual shape that writes back to `der` exactly. */
function readSimpleRequest(der: Uint8Array): { certIds: CertID[]; extensions: Extension[] } | undefined {
  const outer = readTlv(der, 0)
  if (outer.tag !== 0x30 || outer.end !== der.length) return undefined
  const top = childrenOf(der, outer)
  if (top.length !== 1 || top[0]!.tag !== 0x30) return undefined
  const tbsParts = childrenOf(der, top[0]!)
  const list = tbsParts[0]
  if (list?.tag !== 0x30 || tbsParts.length > 2) return undefined
  const extensionsTlv = tbsParts[1]
  if (extensionsTlv && extensionsTlv.tag !== 0xa2) return undefined
  const requests: Uint8Array[] = []
  const certIds: CertID[] = []
  for (const request of childrenOf(der, list)) {
    if (request.tag !== 0x30) return undefined
    const inRequest = childrenOf(der, request)
    if (inRequest.length !== 1 || inRequest[0]!.tag !== 0x30) return undefined
    const parts = childrenOf(der, inRequest[0]!)
    if (parts.length !== 4) return undefined
    const [algorithm, nameHash, keyHash, serial] = parts as [Tlv, Tlv, Tlv, Tlv]
    if (algorithm.tag !== 0x30 || nameHash.tag !== 0x04 || keyHash.tag !== 0x04 || serial.tag !== 0x02) return undefined
    const algorithmParts = childrenOf(der, algorithm)
    const oid = algorithmParts[0]
    const params = algorithmParts[1]
    if (oid?.tag !== 0x06 || algorithmParts.length > 2) return undefined
    if (params && !(params.tag === 0x05 && params.end === params.start)) return undefined
    if (serial.end === serial.start) return undefined
    const algorithmOid = oidToString(der, oid.start, oid.end)
    const certId = new CertID({
      hashAlgorithm: new AlgorithmIdentifier({
        algorithm: algorithmOid,
        ...(params && { parameters: null }),
      }),
      issuerNameHash: new OctetString(copyOf(der, nameHash.start, nameHash.end)),
      issuerKeyHash: new OctetString(copyOf(der, keyHash.start, keyHash.end)),
      serialNumber: bufferSlice(der, serial.start, serial.end),
    })
    certIds.push(certId)
    const certIdBytes = sequence(
      sequence(derOid(algorithmOid), ...(params ? [Uint8Array.of(0x05, 0x00)] : [])),
      derOctetString(der.subarray(nameHash.start, nameHash.end)),
      derOctetString(der.subarray(keyHash.start, keyHash.end)),
      tlv(0x02, der.subarray(serial.start, serial.end)),
    )
    // The same bytes encodeDer(certId) gives (the request is checked below to write back exactly): kept for the answer.
    certIdDers.set(certId, certIdBytes)
    requests.push(sequence(certIdBytes))
  }
  if (certIds.length === 0) return undefined
  // Minimal INTEGERs only (DER): a leading 00 only before a set top bit, a leading FF only before a clear one.
  for (const id of certIds) {
    const n = new Uint8Array(id.serialNumber)
    if (n.length > 1 && ((n[0] === 0 && !(n[1]! & 0x80)) || (n[0] === 0xff && n[1]! & 0x80))) return undefined
  }
  const extensions: Extension[] = []
  const written: Uint8Array[] = []
  if (extensionsTlv) {
    const inner = childrenOf(der, extensionsTlv)
    if (inner.length !== 1 || inner[0]!.tag !== 0x30) return undefined
    const entries = childrenOf(der, inner[0]!)
    if (entries.length === 0) return undefined
    for (const entry of entries) {
      if (entry.tag !== 0x30) return undefined
      const parts = childrenOf(der, entry)
      const oid = parts[0]
      const critical = parts.length === 3 ? parts[1] : undefined
      const value = parts[parts.length - 1]
      if (oid?.tag !== 0x06 || value?.tag !== 0x04 || parts.length < 2 || parts.length > 3) {
        return undefined
      }
      // DER leaves out the DEFAULT FALSE and writes TRUE as FF.
      if (critical && !(critical.tag === 0x01 && critical.end - critical.start === 1 && der[critical.start] === 0xff)) {
        return undefined
      }
      const extnID = oidToString(der, oid.start, oid.end)
      const extnValue = der.subarray(value.start, value.end)
      extensions.push(
        new Extension({
          extnID,
          critical: critical !== undefined,
          extnValue: new OctetString(copyOf(extnValue, 0, extnValue.length)),
        }),
      )
      written.push(
        sequence(derOid(extnID), ...(critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []), derOctetString(extnValue)),
      )
    }
  }
  const again = sequence(sequence(sequence(...requests), ...(extensionsTlv ? [tlv(0xa2, sequence(...written))] : [])))
  return equalBytes(again, der) ? { certIds, extensions } : undefined
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
  /**
   * Who signs: the issuing CA itself, or a delegated responder whose certificate the issuer signed (DER, or parsed
   * once by a caller answering many requests).
   */
  readonly responder: { readonly signer: Signer; readonly certificate: Uint8Array | ParsedCertificate }
  readonly issuer: Uint8Array | ParsedCertificate
  readonly entries: readonly OcspEntry[]
  readonly nonce?: Uint8Array
  readonly producedAt: Date
}

/** DER GeneralizedTime has no fraction here: OpenSSL and most relying parties expect whole seconds. */
function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000)
}

/** CertStatus DER: good [0] NULL, revoked [1] RevokedInfo, unknown [2] NULL (implicit tags). */
function certStatusDer(status: OcspCertStatus): Uint8Array {
  switch (status.status) {
    case 'good':
      return Uint8Array.of(0x80, 0x00)
    case 'unknown':
      return Uint8Array.of(0x82, 0x00)
    case 'revoked':
      return tlv(
        0xa1,
        derGeneralizedTime(wholeSeconds(status.revocationTime)),
        ...(status.reason ? [tlv(0xa0, Uint8Array.of(0x0a, 0x01, crlReasonCode(status.reason)))] : []),
      )
  }
}

const NONCE_OID = derOid(id_pkix_ocsp_nonce)
const BASIC_OID = derOid(id_pkix_ocsp_basic)

/** The responderID byKey of a responder certificate, computed once per parsed certificate. */
const responderKeyIds = new WeakMap<ParsedCertificate, Uint8Array>()
function responderKeyId(cert: ParsedCertificate): Uint8Array {
  let id = responderKeyIds.get(cert)
  if (!id) {
    id = keyIdentifierOf(cert.subjectPublicKeyInfo)
    responderKeyIds.set(cert, id)
  }
  return id
}

/**
 * A successful OCSPResponse carrying a BasicOCSPResponse (RFC 6960 §4.2.1), written directly as DER: ResponseData is
 * signed once and wrapped by concatenation, a delegated responder's certificate embedded as its own bytes.
 */
export async function buildOcspResponse(options: OcspResponseOptions): Promise<Uint8Array> {
  const issuer = asCertificate(options.issuer, 'issuer certificate')
  const responder = asCertificate(options.responder.certificate, 'responder certificate')
  if (options.entries.length === 0) throw new PkiError('INVALID_ARGUMENT', 'an OCSP response needs at least one entry')
  const delegated = responder !== issuer && !equalBytes(responder.der, issuer.der)
  const responses = options.entries.map((entry) => {
    let certId = entry.certId
    if (!certId) {
      const serial = entry.certificate ? parseCertificate(entry.certificate).serial : entry.serial
      if (!serial) throw new PkiError('INVALID_ARGUMENT', 'an OCSP entry needs a certificate, serial or CertID')
      certId = buildCertId(issuer, serial)
    }
    return sequence(
      certIdDers.get(certId) ?? encodeDer(certId),
      certStatusDer(entry.status),
      derGeneralizedTime(wholeSeconds(entry.thisUpdate)),
      ...(entry.nextUpdate ? [tlv(0xa0, derGeneralizedTime(wholeSeconds(entry.nextUpdate)))] : []),
    )
  })
  const tbsResponseData = sequence(
    // version v1 is the DEFAULT and left out; byKey [2]: the SHA-1 of the responder's public key (RFC 6960 §4.2.1),
    // shorter than a name and unambiguous.
    tlv(0xa2, derOctetString(responderKeyId(responder))),
    derGeneralizedTime(wholeSeconds(options.producedAt)),
    sequence(...responses),
    // OpenSSL (and RFC 8954) wrap the nonce in an OCTET STRING inside extnValue.
    ...(options.nonce ? [tlv(0xa1, sequence(sequence(NONCE_OID, derOctetString(derOctetString(options.nonce)))))] : []),
  )
  const signer = options.responder.signer
  const signature = await signer.sign(tbsResponseData)
  const basic = sequence(
    tbsResponseData,
    signatureAlgorithmDer(signer.algorithm),
    derBitString(signature),
    ...(delegated ? [tlv(0xa0, sequence(responder.der))] : []),
  )
  return sequence(
    Uint8Array.of(0x0a, 0x01, OCSPResponseStatus.successful),
    tlv(0xa0, sequence(BASIC_OID, derOctetString(basic))),
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
