import { CertificateChoices, CertificateSet, ContentInfo, id_signedData } from '@peculiar/asn1-cms'
import { OctetString } from '@peculiar/asn1-schema'
import {
  id_ct_tstInfo,
  MessageImprint,
  PKIFailureInfo,
  PKIFreeText,
  type PKIStatus,
  PKIStatusInfo,
  TimeStampReq,
  TimeStampResp,
  TSTInfo,
} from '@peculiar/asn1-tsp'
import { AlgorithmIdentifier, ExtendedKeyUsage, id_ce_extKeyUsage } from '@peculiar/asn1-x509'
import { equalBytes, type Signer } from '@yiqian/gm'
import { digest } from '../cms/digest.js'
import {
  type CheckStatus,
  type CmsCheck,
  createCmsWriter,
  decodeCertificate,
  parseCms,
  verifyCms,
} from '../cms/signed-data.js'
import { checkDerShape, type DerLimits, decodeDer, encodeDer } from '../der.js'
import { isPkiError, PkiError } from '../errors.js'
import {
  childrenOf,
  derGeneralizedTime,
  derIntegerOf,
  derOctetString,
  derOid,
  derSmallInteger,
  oidToString,
  readTlv,
  sequence,
  tlv,
} from '../x509/der-build.js'

/** RFC 3161 requests are small; a request far above this is hostile. */
export const TIME_STAMP_REQ_LIMITS: DerLimits = { maxBytes: 64 * 1024, maxDepth: 16 }
const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8'

/** The hashes a message imprint may use, with the length its hashedMessage must have. */
export const TIME_STAMP_HASHES = {
  SM3: { oid: '1.2.156.10197.1.401', bytes: 32 },
  'SHA-256': { oid: '2.16.840.1.101.3.4.2.1', bytes: 32 },
  'SHA-384': { oid: '2.16.840.1.101.3.4.2.2', bytes: 48 },
  'SHA-512': { oid: '2.16.840.1.101.3.4.2.3', bytes: 64 },
} as const

export type TimeStampHash = keyof typeof TIME_STAMP_HASHES

const nodeCrypto = globalThis.process.getBuiltinModule('node:crypto')

/** The imprint of `data` under `hash`, e.g. to verify a token against the document it stamps. */
export function timeStampDigest(hash: TimeStampHash, data: Uint8Array): Uint8Array {
  if (hash === 'SM3') return digest('SM3', data)
  const name = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }[hash]
  if (!name) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported imprint hash ${String(hash)}`)
  return new Uint8Array(nodeCrypto.createHash(name).update(data).digest())
}

/** Absent or NULL parameters are both seen in the wild; anything else is not one of ours. */
function imprintHashOf(identifier: AlgorithmIdentifier): TimeStampHash {
  const params = identifier.parameters ? new Uint8Array(identifier.parameters) : undefined
  const okParams = params === undefined || (params.length === 2 && params[0] === 0x05 && params[1] === 0x00)
  const name = (Object.keys(TIME_STAMP_HASHES) as TimeStampHash[]).find(
    (n) => TIME_STAMP_HASHES[n].oid === identifier.algorithm,
  )
  if (!name || !okParams) {
    throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported imprint hash algorithm ${identifier.algorithm}`)
  }
  return name
}

// ---------------------------------------------------------------------------------------------------------------
// INTEGER helpers: nonces and serial numbers are positive, up to 160 bits and more (RFC 3161 §2.4.2).

function positiveIntegerContents(value: bigint, what: string): ArrayBuffer {
  if (typeof value !== 'bigint' || value <= 0n)
    throw new PkiError('INVALID_ARGUMENT', `${what} must be a positive bigint`)
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
  if (hex.length > 2 * 64) throw new PkiError('INVALID_ARGUMENT', `${what} is longer than 64 bytes`)
  return new Uint8Array(Buffer.from(hex, 'hex')).buffer
}

function integerFromContents(contents: ArrayBuffer, what: string): bigint {
  const bytes = new Uint8Array(contents)
  if (bytes.length === 0) throw new PkiError('MALFORMED_DER', `${what} is empty`)
  if (bytes.length > 65) throw new PkiError('MALFORMED_DER', `${what} is longer than 64 bytes`)
  if (bytes[0]! & 0x80) throw new PkiError('MALFORMED_DER', `${what} is negative`)
  const value = BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
  if (value === 0n) throw new PkiError('MALFORMED_DER', `${what} is zero`)
  return value
}

function messageImprint(hashAlgorithm: TimeStampHash, imprint: Uint8Array): MessageImprint {
  const known = Object.hasOwn(TIME_STAMP_HASHES, hashAlgorithm) ? TIME_STAMP_HASHES[hashAlgorithm] : undefined
  if (!known) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported imprint hash ${String(hashAlgorithm)}`)
  if (!(imprint instanceof Uint8Array) || imprint.length !== known.bytes) {
    throw new PkiError('INVALID_ARGUMENT', `imprint must be the ${known.bytes}-byte ${hashAlgorithm} hash`)
  }
  return new MessageImprint({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: known.oid }),
    hashedMessage: new OctetString(imprint),
  })
}

function readImprint(imprint: MessageImprint): { hashAlgorithm: TimeStampHash; imprint: Uint8Array } {
  const hashAlgorithm = imprintHashOf(imprint.hashAlgorithm)
  const bytes = new Uint8Array(imprint.hashedMessage.buffer)
  if (bytes.length !== TIME_STAMP_HASHES[hashAlgorithm].bytes) {
    throw new PkiError('MALFORMED_DER', `message imprint is ${bytes.length} bytes, not a ${hashAlgorithm} hash`)
  }
  return { hashAlgorithm, imprint: bytes }
}

// ---------------------------------------------------------------------------------------------------------------
// TimeStampReq

export interface TimeStampRequest {
  readonly imprint: Uint8Array
  readonly hashAlgorithm: TimeStampHash
  readonly nonce?: bigint
  readonly certReq?: boolean
  /** TSA policy OID. */
  readonly policy?: string
}

export interface ParsedTimeStampRequest extends TimeStampRequest {
  readonly certReq: boolean
  /** OIDs of request extensions; a TSA must reject those it does not know (RFC 3161 §2.4.1). */
  readonly extensions: readonly string[]
}

export function buildTimeStampReq(request: TimeStampRequest): Uint8Array {
  return encodeDer(
    new TimeStampReq({
      version: 1,
      messageImprint: messageImprint(request.hashAlgorithm, request.imprint),
      reqPolicy: request.policy,
      nonce: request.nonce === undefined ? undefined : positiveIntegerContents(request.nonce, 'nonce'),
      certReq: request.certReq ?? false,
    }),
  )
}

/** A request read from outside: either the request, or the RFC 3161 failure to answer it with and why. */
export type TimeStampRequestReading =
  | { readonly ok: true; readonly request: ParsedTimeStampRequest }
  | { readonly ok: false; readonly failure: FailureInfo; readonly reason: string; readonly error: PkiError }

/**
 * Strict read of a request from outside, classified for the answer: not DER within TIME_STAMP_REQ_LIMITS (or an
 * imprint whose length does not fit its hash) → badDataFormat, an unknown imprint hash → badAlg, not v1 or a
 * nonce that is not a positive INTEGER of at most 64 bytes → badRequest. Never throws for bad input.
 */
export function readTimeStampReq(der: Uint8Array): TimeStampRequestReading {
  // The usual request, read directly (a TSA reads thousands a second); anything else, including every request that
  // is refused, goes through the schema parser, which classifies the failure.
  const simple = readSimpleTimeStampReq(der)
  return simple ? { ok: true, request: simple } : readTimeStampReqBySchema(der)
}

/** readTimeStampReq through the schema parser alone (exported for the test that compares the two readings). */
export function readTimeStampReqBySchema(der: Uint8Array): TimeStampRequestReading {
  let req: TimeStampReq
  try {
    req = decodeDer(der, TimeStampReq, 'TimeStampReq', TIME_STAMP_REQ_LIMITS)
  } catch (error) {
    if (!isPkiError(error)) throw error
    return { ok: false, failure: 'badDataFormat', reason: error.message, error }
  }
  if (req.version !== 1) {
    const reason = `TimeStampReq version ${req.version} is not v1`
    return { ok: false, failure: 'badRequest', reason, error: new PkiError('MALFORMED_DER', reason) }
  }
  let imprint: { hashAlgorithm: TimeStampHash; imprint: Uint8Array }
  try {
    imprint = readImprint(req.messageImprint)
  } catch (error) {
    if (!isPkiError(error)) throw error
    const failure = error.code === 'UNSUPPORTED_ALGORITHM' ? 'badAlg' : 'badDataFormat'
    return { ok: false, failure, reason: error.message, error }
  }
  let nonce: bigint | undefined
  try {
    nonce = req.nonce === undefined ? undefined : integerFromContents(req.nonce, 'nonce')
  } catch (error) {
    if (!isPkiError(error)) throw error
    return { ok: false, failure: 'badRequest', reason: error.message, error }
  }
  return {
    ok: true,
    request: {
      ...imprint,
      nonce,
      certReq: req.certReq,
      policy: req.reqPolicy,
      extensions: (req.extensions ?? []).map((e) => e.extnID),
    },
  }
}

const REQ_VERSION_1 = Uint8Array.of(0x02, 0x01, 0x01)
const CERT_REQ_TRUE = Uint8Array.of(0x01, 0x01, 0xff)

/**
 * The direct reading of a request of the usual shape — v1, a known imprint hash of the right length (parameters
 * absent or NULL), optional reqPolicy, nonce (positive, minimal, ≤ 64 bytes) and certReq, no extensions — that
 * writes back to exactly `der`; undefined for anything else (the schema parser then decides).
 */
function readSimpleTimeStampReq(der: Uint8Array): ParsedTimeStampRequest | undefined {
  if (!(der instanceof Uint8Array) || der.length < 2 || der.length > TIME_STAMP_REQ_LIMITS.maxBytes) return undefined
  try {
    checkDerShape(der, 'TimeStampReq', TIME_STAMP_REQ_LIMITS)
    const outer = readTlv(der, 0)
    if (outer.tag !== 0x30 || outer.end !== der.length) return undefined
    const parts = childrenOf(der, outer)
    const [version, imprintTlv] = parts
    if (!version || !imprintTlv || imprintTlv.tag !== 0x30) return undefined
    const imprintParts = childrenOf(der, imprintTlv)
    const [algorithm, hashed] = imprintParts
    if (imprintParts.length !== 2 || algorithm?.tag !== 0x30 || hashed?.tag !== 0x04) return undefined
    const algorithmParts = childrenOf(der, algorithm)
    const [oid, params] = algorithmParts
    if (oid?.tag !== 0x06 || algorithmParts.length > 2) return undefined
    if (params && !(params.tag === 0x05 && params.end === params.start)) return undefined
    const hashOid = oidToString(der, oid.start, oid.end)
    const hashAlgorithm = (Object.keys(TIME_STAMP_HASHES) as TimeStampHash[]).find(
      (name) => TIME_STAMP_HASHES[name].oid === hashOid,
    )
    if (!hashAlgorithm || hashed.end - hashed.start !== TIME_STAMP_HASHES[hashAlgorithm].bytes) return undefined
    let policy: string | undefined
    let nonce: bigint | undefined
    let nonceContent: Uint8Array | undefined
    let certReq = false
    let i = 2
    if (parts[i]?.tag === 0x06) {
      policy = oidToString(der, parts[i]!.start, parts[i]!.end)
      i++
    }
    if (parts[i]?.tag === 0x02) {
      const n = parts[i]!
      const length = n.end - n.start
      // Positive and minimal: no leading 00 unless the next octet's top bit is set; at most 64 octets.
      if (length === 0 || length > 64 || der[n.start]! & 0x80) return undefined
      if (der[n.start] === 0 && (length === 1 || !(der[n.start + 1]! & 0x80))) return undefined
      nonceContent = der.subarray(n.start, n.end)
      nonce = BigInt(`0x${Buffer.from(nonceContent).toString('hex')}`)
      i++
    }
    if (parts[i]?.tag === 0x01) {
      certReq = true
      i++
    }
    if (i !== parts.length) return undefined
    const imprint = new Uint8Array(der.subarray(hashed.start, hashed.end))
    // What a DER encoder writes for these fields must be the request itself: non-minimal lengths, BOOLEANs other
    // than FF, a DEFAULT certReq written out and the like all fall through to the schema parser.
    const again = sequence(
      REQ_VERSION_1,
      sequence(sequence(derOid(hashOid), ...(params ? [Uint8Array.of(0x05, 0x00)] : [])), derOctetString(imprint)),
      ...(policy === undefined ? [] : [derOid(policy)]),
      ...(nonceContent === undefined ? [] : [tlv(0x02, nonceContent)]),
      ...(certReq ? [CERT_REQ_TRUE] : []),
    )
    if (!equalBytes(again, der)) return undefined
    return { hashAlgorithm, imprint, nonce, certReq, policy, extensions: [] }
  } catch (error) {
    if (isPkiError(error)) return undefined
    throw error
  }
}

/** Strict parse of a request from outside: DER only, within TIME_STAMP_REQ_LIMITS, v1, a known imprint hash. */
export function parseTimeStampReq(der: Uint8Array): ParsedTimeStampRequest {
  const reading = readTimeStampReq(der)
  if (reading.ok) return reading.request
  throw reading.error
}

// ---------------------------------------------------------------------------------------------------------------
// TSTInfo and the token

export interface TstInfoFields {
  readonly policy: string
  readonly imprint: Uint8Array
  readonly hashAlgorithm: TimeStampHash
  /** Unique per token (RFC 3161 §2.4.2). */
  readonly serialNumber: bigint
  /** Default now; whole seconds are encoded. */
  readonly genTime?: Date
  readonly accuracy?: { readonly seconds?: number; readonly millis?: number; readonly micros?: number }
  readonly ordering?: boolean
  /** Must be the request's nonce when it had one. */
  readonly nonce?: bigint
}

export interface ParsedTstInfo {
  readonly policy: string
  readonly hashAlgorithm: TimeStampHash
  readonly imprint: Uint8Array
  readonly serialNumber: bigint
  readonly genTime: Date
  readonly nonce?: bigint
  readonly ordering: boolean
  /** The Accuracy field in milliseconds (seconds, millis and micros summed), when present. */
  readonly accuracyMs?: number
}

export function parseTstInfo(der: Uint8Array): ParsedTstInfo {
  const info = decodeDer(der, TSTInfo, 'TSTInfo')
  if (info.version !== 1) throw new PkiError('MALFORMED_DER', `TSTInfo version ${info.version} is not v1`)
  const { hashAlgorithm, imprint } = readImprint(info.messageImprint)
  return {
    policy: info.policy,
    hashAlgorithm,
    imprint,
    serialNumber: integerFromContents(info.serialNumber, 'serialNumber'),
    genTime: info.genTime,
    nonce: info.nonce === undefined ? undefined : integerFromContents(info.nonce, 'nonce'),
    ordering: info.ordering,
    ...(info.accuracy && {
      accuracyMs:
        (info.accuracy.seconds ?? 0) * 1000 + (info.accuracy.millis ?? 0) + (info.accuracy.micros ?? 0) / 1000,
    }),
  }
}

export interface SignTimeStampTokenOptions {
  /** DER from buildTstInfo. */
  readonly tstInfo: Uint8Array
  readonly signer: Signer
  /** The TSA certificate (critical EKU timeStamping), DER. */
  readonly certificate: Uint8Array
  readonly chain?: readonly Uint8Array[]
}

/** A TimeStampToken: SignedData over the TSTInfo, with signing-certificate-v2 (RFC 3161 §2.4.2, RFC 5816). */
export async function signTimeStampToken(options: SignTimeStampTokenOptions): Promise<Uint8Array> {
  const info = parseTstInfo(options.tstInfo)
  return createTimeStampSigner(options).sign(options.tstInfo, info.genTime, true)
}

export interface TimeStampSigner {
  /** The signer certificate's serial number (lower-case hex), as read once. */
  readonly certificateSerial: string
  /**
   * Signs a TSTInfo (DER from buildTstInfo, whose genTime is `genTime`) into a TimeStampToken; the certificate and
   * chain go into it only when `includeCertificates` (the request's certReq, RFC 3161 §2.4.1).
   */
  sign(tstInfo: Uint8Array, genTime: Date, includeCertificates: boolean): Promise<Uint8Array>
  /**
   * The same from the fields: the TSTInfo is encoded directly (byte for byte what buildTstInfo gives), the hot path
   * of a TSA. Returns the token and the TSTInfo.
   */
  issue(fields: TstInfoFields, includeCertificates: boolean): Promise<{ token: Uint8Array; tstInfo: Uint8Array }>
}

// ---------------------------------------------------------------------------------------------------------------
// Direct DER for the hot path: a TSA builds the same few structures thousands of times a second, and the generic
// schema encoder costs far more than the signature. The TSTInfo is written with the DER writers of x509/der-build,
// the token by the CMS writer (cms/signed-data createCmsWriter), which encodes everything constant once per unit; tests
// compare both with the schema encoder byte for byte.

const VERSION_1 = derSmallInteger(1)
const ORDERING_TRUE = Uint8Array.of(0x01, 0x01, 0xff)

/** INTEGER TLV of a positive bigint (a leading 00 before a set top bit), at most 64 content bytes. */
function positiveIntegerDer(value: bigint, what: string): Uint8Array {
  return derIntegerOf(new Uint8Array(positiveIntegerContents(value, what)))
}

/** A small non-negative INTEGER under an implicit context tag (Accuracy millis [0] and micros [1]). */
function implicitSmallInteger(tag: number, value: number): Uint8Array {
  return tlv(tag, derSmallInteger(value).subarray(2))
}

/**
 * TSTInfo DER (RFC 3161 §2.4.2), written directly: the schema encoder it replaced is kept in
 * time-stamp-signer.test.ts as the oracle, byte for byte.
 */
export function buildTstInfo(fields: TstInfoFields): Uint8Array {
  const genTime = fields.genTime ?? new Date()
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) {
    throw new PkiError('INVALID_ARGUMENT', 'genTime is not a valid date')
  }
  const known = Object.hasOwn(TIME_STAMP_HASHES, fields.hashAlgorithm)
    ? TIME_STAMP_HASHES[fields.hashAlgorithm]
    : undefined
  if (!known) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported imprint hash ${String(fields.hashAlgorithm)}`)
  if (!(fields.imprint instanceof Uint8Array) || fields.imprint.length !== known.bytes) {
    throw new PkiError('INVALID_ARGUMENT', `imprint must be the ${known.bytes}-byte ${fields.hashAlgorithm} hash`)
  }
  const parts: Uint8Array[] = [
    VERSION_1,
    derOid(fields.policy),
    sequence(sequence(derOid(known.oid)), derOctetString(fields.imprint)),
    positiveIntegerDer(fields.serialNumber, 'serialNumber'),
    // Whole seconds: the fraction is dropped, as buildTstInfo does.
    derGeneralizedTime(genTime),
  ]
  const accuracy = fields.accuracy
  if (accuracy) {
    const seconds = accuracy.seconds ?? 0
    if (!Number.isSafeInteger(seconds) || seconds < 0) throw new PkiError('INVALID_ARGUMENT', 'accuracy seconds')
    const inner = [derSmallInteger(seconds)]
    for (const [tag, part] of [
      [0x80, accuracy.millis],
      [0x81, accuracy.micros],
    ] as const) {
      if (part === undefined) continue
      if (!Number.isInteger(part) || part < 1 || part > 999) {
        throw new PkiError('INVALID_ARGUMENT', 'accuracy millis/micros must be 1..999')
      }
      inner.push(implicitSmallInteger(tag, part))
    }
    parts.push(sequence(...inner))
  }
  if (fields.ordering) parts.push(ORDERING_TRUE)
  if (fields.nonce !== undefined) parts.push(positiveIntegerDer(fields.nonce, 'nonce'))
  return sequence(...parts)
}

/**
 * A TSA unit's signer, prepared once: the certificate is checked (critical timeStamping EKU, the signer's key) and
 * the CMS writer encodes everything that does not change per token — SignerIdentifier, signing-certificate-v2,
 * algorithm identifiers, the certificate set — so a token costs a TSTInfo digest, one signature and concatenation.
 */
export function createTimeStampSigner(options: Omit<SignTimeStampTokenOptions, 'tstInfo'>): TimeStampSigner {
  const { signer } = options
  checkTsaCertificate(options.certificate, true)
  const certificate = decodeCertificate(options.certificate, 'TSA certificate')
  if (!equalBytes(encodeDer(certificate.tbsCertificate.subjectPublicKeyInfo), signer.publicKey())) {
    throw new PkiError('INVALID_ARGUMENT', "the certificate does not hold the signer's public key")
  }
  const chain = (options.chain ?? []).map((der, i) => encodeDer(decodeCertificate(der, `chain certificate ${i}`)))
  const writer = createCmsWriter({
    signer,
    certificate: options.certificate,
    chain,
    contentType: id_ct_tstInfo,
    signingCertificateV2: true,
  })
  const serialBytes = new Uint8Array(certificate.tbsCertificate.serialNumber)
  let first = 0
  while (first < serialBytes.length - 1 && serialBytes[first] === 0) first++

  async function signTstInfo(tstInfo: Uint8Array, genTime: Date, includeCertificates: boolean): Promise<Uint8Array> {
    if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) {
      throw new PkiError('INVALID_ARGUMENT', 'genTime is not a valid date')
    }
    return writer.sign({ content: tstInfo, encapsulate: true, signingTime: genTime, includeCertificates })
  }

  return {
    certificateSerial: Buffer.from(serialBytes.subarray(first)).toString('hex'),
    sign: signTstInfo,
    async issue(fields, includeCertificates) {
      const genTime = new Date((fields.genTime ?? new Date()).getTime())
      genTime.setUTCMilliseconds(0)
      const tstInfo = buildTstInfo({ ...fields, genTime })
      return { token: await signTstInfo(tstInfo, genTime, includeCertificates), tstInfo }
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TimeStampResp

export type TimeStampStatus =
  | 'granted'
  | 'grantedWithMods'
  | 'rejection'
  | 'waiting'
  | 'revocationWarning'
  | 'revocationNotification'

/**
 * PKIFailureInfo named bits with their RFC 3161 §2.4.2 numbers. (The PKIFailureInfoFlags enum of @peculiar/asn1-tsp
 * is off by one or more bits for all but badAlg, so it is not used.)
 */
export const FAILURE_INFO_BITS = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const

export type FailureInfo = keyof typeof FAILURE_INFO_BITS

export interface TimeStampResponse {
  readonly status: TimeStampStatus
  readonly statusStrings?: readonly string[]
  /** Why a request was rejected. Unknown bits in a parsed response are dropped. */
  readonly failInfo?: readonly FailureInfo[]
  /** DER TimeStampToken; present exactly when the status is granted or grantedWithMods. */
  readonly token?: Uint8Array
}

const STATUS_NAMES: readonly TimeStampStatus[] = [
  'granted',
  'grantedWithMods',
  'rejection',
  'waiting',
  'revocationWarning',
  'revocationNotification',
]

function isGranted(status: TimeStampStatus): boolean {
  return status === 'granted' || status === 'grantedWithMods'
}

export function buildTimeStampResp(response: TimeStampResponse): Uint8Array {
  const status = STATUS_NAMES.indexOf(response.status)
  if (status < 0) throw new PkiError('INVALID_ARGUMENT', `unknown PKIStatus ${String(response.status)}`)
  if (isGranted(response.status) !== (response.token !== undefined)) {
    throw new PkiError('INVALID_ARGUMENT', 'a token goes with granted/grantedWithMods and only with them')
  }
  let failInfo: PKIFailureInfo | undefined
  if (response.failInfo !== undefined) {
    let bits = 0
    for (const name of response.failInfo) {
      const bit = FAILURE_INFO_BITS[name]
      if (bit === undefined) throw new PkiError('INVALID_ARGUMENT', `unknown PKIFailureInfo ${String(name)}`)
      bits += bits & (2 ** bit) ? 0 : 2 ** bit
    }
    if (bits === 0) throw new PkiError('INVALID_ARGUMENT', 'failInfo must name at least one failure')
    // BitString.fromNumber puts 2^n at named bit n and drops trailing zero bits, as DER wants.
    failInfo = new PKIFailureInfo(bits)
  }
  const token = response.token ? decodeDer(response.token, ContentInfo, 'timestamp token') : undefined
  return encodeDer(
    new TimeStampResp({
      status: new PKIStatusInfo({
        status: status as PKIStatus,
        statusString: response.statusStrings?.length ? new PKIFreeText([...response.statusStrings]) : undefined,
        failInfo,
      }),
      timeStampToken: token,
    }),
  )
}

function failureNames(bits: number): FailureInfo[] {
  return (Object.keys(FAILURE_INFO_BITS) as FailureInfo[]).filter(
    (name) => Math.floor(bits / 2 ** FAILURE_INFO_BITS[name]) % 2 === 1,
  )
}

export function parseTimeStampResp(der: Uint8Array): TimeStampResponse {
  const resp = decodeDer(der, TimeStampResp, 'TimeStampResp')
  const status = STATUS_NAMES[resp.status.status]
  if (status === undefined) throw new PkiError('MALFORMED_DER', `unknown PKIStatus ${resp.status.status}`)
  const token = resp.timeStampToken ? encodeDer(resp.timeStampToken) : undefined
  if (isGranted(status) !== (token !== undefined)) {
    throw new PkiError('MALFORMED_DER', `status ${status} ${token ? 'with' : 'without'} a token`)
  }
  return {
    status,
    statusStrings: resp.status.statusString ? [...resp.status.statusString] : undefined,
    failInfo: resp.status.failInfo ? failureNames(resp.status.failInfo.toNumber()) : undefined,
    token,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

export type TimeStampCheckName = CmsCheck['name'] | 'content-type' | 'imprint' | 'nonce' | 'tsa-certificate'

export interface TimeStampCheck {
  readonly name: TimeStampCheckName
  readonly status: CheckStatus
  readonly reason: string
}

export interface TimeStampVerification {
  readonly valid: boolean
  readonly checks: readonly TimeStampCheck[]
  readonly tstInfo?: ParsedTstInfo
  readonly tsaCertificate?: Uint8Array
}

export interface VerifyTimeStampTokenOptions {
  /** The hash the token should cover. */
  readonly imprint: Uint8Array
  /** When given, the token's imprint hash algorithm must be this one. */
  readonly hashAlgorithm?: TimeStampHash
  /** The request's nonce; the token must echo it. */
  readonly nonce?: bigint
  readonly trusted?: readonly Uint8Array[]
  /**
   * Candidate TSA certificates (DER) for a token that carries none (it was requested without certReq): the one the
   * SignerInfo names is used as if the token carried it.
   */
  readonly certificates?: readonly Uint8Array[]
}

/** RFC 3161 §2.3: the TSA certificate has one extended key usage, id-kp-timeStamping, marked critical. */
function checkTsaCertificate(certificateDer: Uint8Array, throwing: boolean): TimeStampCheck {
  const certificate = decodeCertificate(certificateDer, 'TSA certificate')
  const extensions = (certificate.tbsCertificate.extensions ?? []).filter((e) => e.extnID === id_ce_extKeyUsage)
  let reason: string | undefined
  if (extensions.length !== 1) reason = 'the TSA certificate has no (single) extendedKeyUsage extension'
  else if (!extensions[0]!.critical) reason = 'the extendedKeyUsage extension of the TSA certificate is not critical'
  else {
    let usages: string[] = []
    try {
      usages = [...decodeDer(new Uint8Array(extensions[0]!.extnValue.buffer), ExtendedKeyUsage, 'extendedKeyUsage')]
    } catch (error) {
      if (!isPkiError(error)) throw error
      reason = 'the extendedKeyUsage extension is malformed'
    }
    if (!reason && (usages.length !== 1 || usages[0] !== ID_KP_TIME_STAMPING)) {
      reason = 'extendedKeyUsage of the TSA certificate is not exactly timeStamping'
    }
  }
  if (reason && throwing) throw new PkiError('INVALID_CERTIFICATE', reason)
  return reason
    ? { name: 'tsa-certificate', status: 'failed', reason }
    : { name: 'tsa-certificate', status: 'passed', reason: 'critical extendedKeyUsage timeStamping' }
}

/**
 * Verifies a TimeStampToken (a ContentInfo, not a TimeStampResp): the CMS signature with a required
 * signing-certificate-v2, eContentType id-ct-TSTInfo, imprint, nonce and the TSA certificate's EKU.
 * Throws a PkiError only for input that is not strict-DER SignedData.
 */
export async function verifyTimeStampToken(
  token: Uint8Array,
  options: VerifyTimeStampTokenOptions,
): Promise<TimeStampVerification> {
  const cms = await verifyCms(withCertificates(token, options.certificates), {
    trusted: options.trusted,
    requireSigningCertificate: true,
  })
  const checks: TimeStampCheck[] = [...cms.checks]
  const done = (extra: Partial<TimeStampVerification> = {}): TimeStampVerification => ({
    valid: checks.every((c) => c.status !== 'failed'),
    checks,
    tsaCertificate: cms.signerCertificate,
    ...extra,
  })
  if (cms.contentType !== id_ct_tstInfo) {
    checks.push({ name: 'content-type', status: 'failed', reason: `eContentType ${cms.contentType} is not TSTInfo` })
    return done()
  }
  checks.push({ name: 'content-type', status: 'passed', reason: 'eContentType is id-ct-TSTInfo' })
  if (!cms.content) return done()

  let tstInfo: ParsedTstInfo
  try {
    tstInfo = parseTstInfo(cms.content)
  } catch (error) {
    if (!isPkiError(error)) throw error
    checks.push({ name: 'structure', status: 'failed', reason: `TSTInfo: ${error.message}` })
    return done()
  }

  const hashOk = options.hashAlgorithm === undefined || options.hashAlgorithm === tstInfo.hashAlgorithm
  checks.push(
    hashOk && equalBytes(tstInfo.imprint, options.imprint)
      ? { name: 'imprint', status: 'passed', reason: `${tstInfo.hashAlgorithm} imprint matches` }
      : { name: 'imprint', status: 'failed', reason: `the token's ${tstInfo.hashAlgorithm} imprint does not match` },
  )
  if (options.nonce === undefined) {
    checks.push({ name: 'nonce', status: 'skipped', reason: 'no nonce expected' })
  } else {
    checks.push(
      tstInfo.nonce === options.nonce
        ? { name: 'nonce', status: 'passed', reason: 'the nonce is echoed' }
        : { name: 'nonce', status: 'failed', reason: 'the token does not echo the request nonce' },
    )
  }
  if (cms.signerCertificate) checks.push(checkTsaCertificate(cms.signerCertificate, false))
  return done({ tstInfo })
}

/** The token with `certificates` put into its SignedData when it carries none; otherwise the token as it is. */
function withCertificates(token: Uint8Array, certificates: readonly Uint8Array[] | undefined): Uint8Array {
  if (!certificates?.length) return token
  const { signedData, gmt0010 } = parseCms(token)
  if (gmt0010 || (signedData.certificates?.length ?? 0) > 0) return token
  signedData.certificates = new CertificateSet(
    certificates.map(
      (der, i) => new CertificateChoices({ certificate: decodeCertificate(der, `candidate certificate ${i}`) }),
    ),
  )
  return encodeDer(new ContentInfo({ contentType: id_signedData, content: encodeDer(signedData).slice().buffer }))
}

/** The TSTInfo of a token without verifying it (e.g. to show genTime before verification). */
export function readTimeStampToken(token: Uint8Array): ParsedTstInfo {
  const { signedData } = parseCms(token)
  const eci = signedData.encapContentInfo
  if (eci.eContentType !== id_ct_tstInfo || !eci.eContent?.single) {
    throw new PkiError('MALFORMED_DER', 'not a TimeStampToken (eContent is not a TSTInfo)')
  }
  return parseTstInfo(new Uint8Array(eci.eContent.single.buffer))
}
