import { sm3 } from '@yiqian/gm'

/**
 * RFC 3161 for clinical systems: the request a client sends to `POST /tsa` and the parts of the reply it must check
 * (status, nonce and imprint echoed). The SDK depends only on the HTTP contract, so this is a small DER codec of its
 * own for exactly these structures; verifying the token's signature and chain is the server's `POST
 * /api/v1/tsa/verify` (or `yiqian ts verify` offline).
 */

export type TimestampHash = 'sm3' | 'sha256' | 'sha384' | 'sha512'

/** Imprint hash: OID, length, the name the server's API uses. */
export const TIMESTAMP_HASHES: Readonly<
  Record<TimestampHash, { readonly oid: string; readonly bytes: number; readonly name: string }>
> = {
  sm3: { oid: '1.2.156.10197.1.401', bytes: 32, name: 'SM3' },
  sha256: { oid: '2.16.840.1.101.3.4.2.1', bytes: 32, name: 'SHA-256' },
  sha384: { oid: '2.16.840.1.101.3.4.2.2', bytes: 48, name: 'SHA-384' },
  sha512: { oid: '2.16.840.1.101.3.4.2.3', bytes: 64, name: 'SHA-512' },
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4'

/** RFC 3161 §2.4.2 PKIFailureInfo bit numbers. */
const FAILURE_BITS: Readonly<Record<number, string>> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
}
const STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification']

export type TimestampErrorCode = 'TSA_REJECTED' | 'TSA_REPLY_MISMATCH' | 'TSA_REPLY_MALFORMED'

/** The TSA answered, but not with a token for this request. */
export class TimestampError extends Error {
  override readonly name = 'TimestampError'
  constructor(
    readonly code: TimestampErrorCode,
    message: string,
    /** For TSA_REJECTED: the PKIStatus, failure names (e.g. `timeNotAvailable`) and status texts. */
    readonly rejection?: {
      readonly status: string
      readonly failInfo: readonly string[]
      readonly text: readonly string[]
    },
  ) {
    super(message)
  }
}

export interface TstInfo {
  readonly policy: string
  readonly hashAlgorithm: TimestampHash
  readonly imprint: Uint8Array
  /** Hex, as the console and the token log show it. */
  readonly serialNumber: string
  readonly genTime: Date
  /** The accuracy the TSA claims, in ms (seconds, millis and micros added up). */
  readonly accuracyMs?: number
  readonly ordering: boolean
  readonly nonce?: bigint
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing

async function subtleDigest(name: string, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest(name, data as Uint8Array<ArrayBuffer>))
}

/** The imprint of `data`: SM3 here, the SHA-2 family by WebCrypto (Node 20 and browsers). */
export async function timestampDigest(hash: TimestampHash, data: Uint8Array): Promise<Uint8Array> {
  switch (hash) {
    case 'sm3':
      return sm3(data)
    case 'sha256':
      return subtleDigest('SHA-256', data)
    case 'sha384':
      return subtleDigest('SHA-384', data)
    case 'sha512':
      return subtleDigest('SHA-512', data)
    default:
      throw new RangeError(`unknown hash ${String(hash)}: sm3, sha256, sha384 or sha512`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// DER writing

function length(n: number): number[] {
  if (n < 0x80) return [n]
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return [0x80 | bytes.length, ...bytes]
}

function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const size = contents.reduce((n, c) => n + c.length, 0)
  const out = new Uint8Array([tag, ...length(size), ...new Uint8Array(size)])
  let at = out.length - size
  for (const c of contents) {
    out.set(c, at)
    at += c.length
  }
  return out
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`not an OID: ${dotted}`)
    return BigInt(a)
  })
  if (arcs.length < 2 || arcs[0]! > 2n) throw new RangeError(`not an OID: ${dotted}`)
  const out: number[] = []
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    const part = [Number(arc & 0x7fn)]
    for (let v = arc >> 7n; v > 0n; v >>= 7n) part.unshift(Number(v & 0x7fn) | 0x80)
    out.push(...part)
  }
  return tlv(0x06, new Uint8Array(out))
}

function positiveInteger(value: bigint): Uint8Array {
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
  return tlv(
    0x02,
    Uint8Array.from(hex.match(/../g)!, (h) => Number.parseInt(h, 16)),
  )
}

export interface TimestampRequestFields {
  readonly hashAlgorithm: TimestampHash
  readonly imprint: Uint8Array
  /** Positive; the reply must echo it. */
  readonly nonce?: bigint
  /** Ask for the TSA certificate in the token (needed to verify it without the certificate at hand). */
  readonly certReq?: boolean
  /** A TSA policy OID; the TSA refuses (unacceptedPolicy) one it does not serve. */
  readonly policy?: string
}

/** DER TimeStampReq (RFC 3161 §2.4.1), as `openssl ts -query` writes it. */
export function encodeTimestampRequest(fields: TimestampRequestFields): Uint8Array {
  const hash = TIMESTAMP_HASHES[fields.hashAlgorithm]
  if (!hash) throw new RangeError(`unknown hash ${String(fields.hashAlgorithm)}: sm3, sha256, sha384 or sha512`)
  if (!(fields.imprint instanceof Uint8Array) || fields.imprint.length !== hash.bytes) {
    throw new RangeError(`the ${fields.hashAlgorithm} digest must be ${hash.bytes} bytes`)
  }
  if (fields.nonce !== undefined && fields.nonce <= 0n) throw new RangeError('the nonce must be positive')
  return tlv(
    0x30,
    tlv(0x02, Uint8Array.of(1)),
    tlv(0x30, tlv(0x30, oid(hash.oid)), tlv(0x04, fields.imprint)),
    ...(fields.policy === undefined ? [] : [oid(fields.policy)]),
    ...(fields.nonce === undefined ? [] : [positiveInteger(fields.nonce)]),
    ...(fields.certReq ? [tlv(0x01, Uint8Array.of(0xff))] : []),
  )
}

// ---------------------------------------------------------------------------------------------------------------
// DER reading (definite lengths only, bounds-checked)

interface Node {
  readonly tag: number
  /** The whole TLV. */
  readonly der: Uint8Array
  readonly value: Uint8Array
}

function malformed(what: string): TimestampError {
  return new TimestampError('TSA_REPLY_MALFORMED', `the TSA reply is not valid DER: ${what}`)
}

function readNode(bytes: Uint8Array, at: number): Node {
  if (at + 2 > bytes.length) throw malformed('truncated')
  const tag = bytes[at]!
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tag')
  let len = bytes[at + 1]!
  let head = 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) throw malformed('indefinite or absurd length')
    if (at + 2 + n > bytes.length) throw malformed('truncated length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + bytes[at + 2 + i]!
    head += n
  }
  if (at + head + len > bytes.length) throw malformed('content longer than the data')
  return { tag, der: bytes.subarray(at, at + head + len), value: bytes.subarray(at + head, at + head + len) }
}

function children(node: Node): Node[] {
  const out: Node[] = []
  for (let at = 0; at < node.value.length; ) {
    const child = readNode(node.value, at)
    out.push(child)
    at += child.der.length
  }
  return out
}

function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw malformed(`${what} missing`)
  return node
}

function readOid(node: Node | undefined, what: string): string {
  const { value } = expectTag(node, 0x06, what)
  const arcs: bigint[] = []
  let arc = 0n
  for (const b of value) {
    arc = (arc << 7n) | BigInt(b & 0x7f)
    if (!(b & 0x80)) {
      arcs.push(arc)
      arc = 0n
    }
  }
  if (arcs.length === 0) throw malformed(`${what} is empty`)
  const first = arcs[0]! < 80n ? arcs[0]! / 40n : 2n
  return [first, arcs[0]! - first * 40n, ...arcs.slice(1)].join('.')
}

function readInteger(node: Node | undefined, what: string, tag = 0x02): bigint {
  const { value } = expectTag(node, tag, what)
  if (value.length === 0 || value.length > 65) throw malformed(`${what} length`)
  let n = 0n
  for (const b of value) n = (n << 8n) | BigInt(b)
  if (value[0]! & 0x80) n -= 1n << BigInt(value.length * 8)
  return n
}

function readTime(node: Node | undefined): Date {
  const text = new TextDecoder().decode(expectTag(node, 0x18, 'genTime').value)
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{1,6})?Z$/.exec(text)
  if (!m) throw malformed(`genTime ${text}`)
  const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms))
}

/** Reads the TSTInfo out of a TimeStampToken (a CMS ContentInfo); no signature check. */
export function readTimestampToken(token: Uint8Array): TstInfo {
  const contentInfo = readNode(token, 0)
  const [type, explicit] = children(expectTag(contentInfo, 0x30, 'ContentInfo'))
  if (readOid(type, 'contentType') !== OID_SIGNED_DATA) throw malformed('the token is not SignedData')
  const [signedData] = children(expectTag(explicit, 0xa0, 'content'))
  const eci = children(expectTag(signedData, 0x30, 'SignedData'))[2]
  const [eType, eContent] = children(expectTag(eci, 0x30, 'encapContentInfo'))
  if (readOid(eType, 'eContentType') !== OID_TST_INFO) throw malformed('the token does not hold a TSTInfo')
  const [octets] = children(expectTag(eContent, 0xa0, 'eContent'))
  const tstInfo = readNode(expectTag(octets, 0x04, 'eContent').value, 0)
  const fields = children(expectTag(tstInfo, 0x30, 'TSTInfo'))
  if (readInteger(fields[0], 'version') !== 1n) throw malformed('TSTInfo version')
  const policy = readOid(fields[1], 'policy')
  const [algorithm, hashed] = children(expectTag(fields[2], 0x30, 'messageImprint'))
  const hashOid = readOid(children(expectTag(algorithm, 0x30, 'hashAlgorithm'))[0], 'hashAlgorithm')
  const hashAlgorithm = (Object.keys(TIMESTAMP_HASHES) as TimestampHash[]).find(
    (h) => TIMESTAMP_HASHES[h].oid === hashOid,
  )
  if (!hashAlgorithm) throw malformed(`unknown imprint hash ${hashOid}`)
  const imprint = new Uint8Array(expectTag(hashed, 0x04, 'hashedMessage').value)
  const serial = expectTag(fields[3], 0x02, 'serialNumber').value
  const genTime = readTime(fields[4])
  let accuracyMs: number | undefined
  let ordering = false
  let nonce: bigint | undefined
  for (const field of fields.slice(5)) {
    if (field.tag === 0x30) {
      accuracyMs = 0
      for (const part of children(field)) {
        if (part.tag === 0x02) accuracyMs += Number(readInteger(part, 'accuracy seconds')) * 1000
        else if (part.tag === 0x80) accuracyMs += Number(readInteger(part, 'accuracy millis', 0x80))
        else if (part.tag === 0x81) accuracyMs += Number(readInteger(part, 'accuracy micros', 0x81)) / 1000
      }
    } else if (field.tag === 0x01) ordering = field.value[0] !== 0
    else if (field.tag === 0x02) nonce = readInteger(field, 'nonce')
  }
  return {
    policy,
    hashAlgorithm,
    imprint,
    serialNumber: [...serial]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
      .replace(/^00(?=[89a-f])/, ''),
    genTime,
    ...(accuracyMs !== undefined && { accuracyMs }),
    ordering,
    ...(nonce !== undefined && { nonce }),
  }
}

/** Reads a TimeStampResp: the token when granted, a TSA_REJECTED TimestampError otherwise. */
export function readTimestampResponse(der: Uint8Array): { token: Uint8Array; status: string } {
  const resp = readNode(der, 0)
  if (resp.der.length !== der.length) throw malformed('trailing bytes')
  const [statusInfo, token] = children(expectTag(resp, 0x30, 'TimeStampResp'))
  const parts = children(expectTag(statusInfo, 0x30, 'PKIStatusInfo'))
  const status = STATUS[Number(readInteger(parts[0], 'status'))] ?? 'unknown'
  const text: string[] = []
  const failInfo: string[] = []
  for (const part of parts.slice(1)) {
    if (part.tag === 0x30) for (const s of children(part)) text.push(new TextDecoder().decode(s.value))
    if (part.tag === 0x03) {
      const bits = part.value.subarray(1)
      for (const [bit, name] of Object.entries(FAILURE_BITS)) {
        const n = Number(bit)
        if ((bits[n >> 3] ?? 0) & (0x80 >> (n & 7))) failInfo.push(name)
      }
    }
  }
  if (status !== 'granted' && status !== 'grantedWithMods') {
    throw new TimestampError(
      'TSA_REJECTED',
      `the TSA refused the request: ${status}${failInfo.length ? ` (${failInfo.join(', ')})` : ''}${text.length ? `: ${text.join('; ')}` : ''}`,
      { status, failInfo, text },
    )
  }
  if (!token) throw malformed(`status ${status} without a token`)
  return { token: new Uint8Array(token.der), status }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** The checks a client must make on a reply to its own request (RFC 3161 §2.4.2): imprint and nonce echoed. */
export function checkTimestampEcho(info: TstInfo, request: TimestampRequestFields): void {
  if (info.hashAlgorithm !== request.hashAlgorithm || !equal(info.imprint, request.imprint)) {
    throw new TimestampError('TSA_REPLY_MISMATCH', 'the token does not cover the digest that was sent')
  }
  if (request.nonce !== undefined && info.nonce !== request.nonce) {
    throw new TimestampError('TSA_REPLY_MISMATCH', 'the token does not echo the request nonce')
  }
}

/** 64 random bits, positive. */
export function randomNonce(): bigint {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8))
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n) | 1n
}
