/**
 * Small DER writers and readers for the hot paths (certificate issuance, OCSP answers): concatenating encoded
 * parts is an order of magnitude cheaper than building @peculiar/asn1-schema objects and serialising them. Every
 * output here has a differential test against the schema encoder.
 */
import { checkDerShape } from '../der.js'
import { PkiError } from '../errors.js'

/** The DER length octets of `length`. */
export function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length)
  const bytes: number[] = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

/** Tag, length and the concatenation of `parts`. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const p of parts) size += p.length
  const length = derLength(size)
  const out = new Uint8Array(1 + length.length + size)
  out[0] = tag
  out.set(length, 1)
  let offset = 1 + length.length
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export const sequence = (...parts: readonly Uint8Array[]): Uint8Array => tlv(0x30, ...parts)

const oidCache = new Map<string, Uint8Array>()

/** OBJECT IDENTIFIER, whole TLV, from dotted form (cached: the same few OIDs recur in every certificate). */
export function derOid(oid: string): Uint8Array {
  const cached = oidCache.get(oid)
  if (cached) return cached
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(oid)) throw new PkiError('INVALID_ARGUMENT', `not a dotted OID: ${oid}`)
  const arcs = oid.split('.').map((a) => BigInt(a))
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]
  const body: number[] = []
  for (const value of values) {
    const group: number[] = [Number(value & 0x7fn)]
    for (let v = value >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80)
    body.push(...group)
  }
  const der = tlv(0x06, Uint8Array.from(body))
  if (oidCache.size < 1024) oidCache.set(oid, der)
  return der
}

/** INTEGER from its content octets, taken as already minimal (serialToBytes checked them). */
export function derIntegerOf(content: Uint8Array): Uint8Array {
  return tlv(0x02, content)
}

/** INTEGER of a small non-negative number. */
export function derSmallInteger(value: number): Uint8Array {
  const bytes: number[] = []
  let n = value
  do {
    bytes.unshift(n & 0xff)
    n = Math.floor(n / 256)
  } while (n > 0)
  if (bytes[0]! & 0x80) bytes.unshift(0)
  return tlv(0x02, Uint8Array.from(bytes))
}

export function derOctetString(content: Uint8Array): Uint8Array {
  return tlv(0x04, content)
}

/** BIT STRING with no unused bits (signatures, keys). */
export function derBitString(content: Uint8Array): Uint8Array {
  return tlv(0x03, Uint8Array.of(0), content)
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n))

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

function timeDigits(date: Date, fullYear: boolean): string {
  const year = date.getUTCFullYear()
  return (
    (fullYear ? String(year).padStart(4, '0') : two(year % 100)) +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds())
  )
}

/** GeneralizedTime in whole seconds, `YYYYMMDDHHMMSSZ` (the fraction is dropped, as the callers round anyway). */
export function derGeneralizedTime(date: Date): Uint8Array {
  return tlv(0x18, ascii(`${timeDigits(date, true)}Z`))
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function derTime(date: Date): Uint8Array {
  if (date.getUTCFullYear() > 2049) return derGeneralizedTime(date)
  return tlv(0x17, ascii(`${timeDigits(date, false)}Z`))
}

export interface Tlv {
  readonly tag: number
  /** Offset of the first content octet. */
  readonly start: number
  /** Offset just past the value. */
  readonly end: number
}

/** One TLV at `offset` (low tag numbers, definite lengths: callers ran checkDerShape first). */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new PkiError('MALFORMED_DER', 'truncated value')
  const tag = der[offset]!
  let length = der[offset + 1]!
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > limit) throw new PkiError('MALFORMED_DER', 'bad length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!
    start += count
  }
  const end = start + length
  if (end > limit) throw new PkiError('MALFORMED_DER', 'value runs past its container')
  return { tag, start, end }
}

/** The TLVs directly inside `outer` (callers ran checkDerShape first). */
export function childrenOf(der: Uint8Array, outer: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let offset = outer.start; offset < outer.end; ) {
    const child = readTlv(der, offset, outer.end)
    out.push(child)
    offset = child.end
  }
  return out
}

/** Dotted form of the OID whose content octets are der[start, end). */
export function oidToString(der: Uint8Array, start: number, end: number): string {
  if (end <= start || der[end - 1]! & 0x80) throw new PkiError('MALFORMED_DER', 'malformed OBJECT IDENTIFIER')
  const arcs: string[] = []
  let value = 0n
  let first = true
  for (let i = start; i < end; i++) {
    const b = der[i]!
    if (value === 0n && b === 0x80) throw new PkiError('NOT_STRICT_DER', 'non-minimal OBJECT IDENTIFIER arc')
    value = (value << 7n) | BigInt(b & 0x7f)
    if (b & 0x80) continue
    if (first) {
      const top = value < 40n ? 0n : value < 80n ? 1n : 2n
      arcs.push(String(top), String(value - top * 40n))
      first = false
    } else arcs.push(String(value))
    value = 0n
  }
  return arcs.join('.')
}

export interface SpkiParts {
  readonly algorithm: string
  /** The parameters when they are an OBJECT IDENTIFIER (the named curve of an EC key). */
  readonly parameterOid?: string
  /** The subjectPublicKey BIT STRING contents without the unused-bits octet. */
  readonly key: Uint8Array
}

/**
 * Reads SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } without a
 * schema: shortest-form lengths, nothing after either part, an OID first in the identifier, no unused bits.
 * MALFORMED_DER (or NOT_STRICT_DER) names `what` otherwise.
 */
export function spkiParts(spki: Uint8Array, what = 'subject public key info'): SpkiParts {
  checkDerShape(spki, what)
  try {
    const outer = readTlv(spki, 0)
    if (outer.tag !== 0x30 || outer.end !== spki.length) throw new Error('not a SEQUENCE')
    const algorithm = readTlv(spki, outer.start, outer.end)
    if (algorithm.tag !== 0x30) throw new Error('no AlgorithmIdentifier')
    const oid = readTlv(spki, algorithm.start, algorithm.end)
    if (oid.tag !== 0x06) throw new Error('no algorithm OID')
    let parameterOid: string | undefined
    if (oid.end < algorithm.end) {
      const params = readTlv(spki, oid.end, algorithm.end)
      if (params.end !== algorithm.end) throw new Error('trailing bytes in AlgorithmIdentifier')
      if (params.tag === 0x06) parameterOid = oidToString(spki, params.start, params.end)
    }
    const bits = readTlv(spki, algorithm.end, outer.end)
    if (bits.tag !== 0x03 || bits.end !== outer.end) throw new Error('no subjectPublicKey BIT STRING')
    if (bits.end - bits.start < 2 || spki[bits.start] !== 0) throw new Error('subjectPublicKey has unused bits')
    return {
      algorithm: oidToString(spki, oid.start, oid.end),
      ...(parameterOid !== undefined && { parameterOid }),
      key: spki.subarray(bits.start + 1, bits.end),
    }
  } catch (cause) {
    if (cause instanceof PkiError) throw cause
    throw new PkiError('MALFORMED_DER', `${what} is not a valid SubjectPublicKeyInfo`, { cause })
  }
}
