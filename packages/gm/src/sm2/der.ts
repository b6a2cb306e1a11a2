import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema'
import { equalBytes } from '../bytes.js'
import { GmError, type GmErrorCode } from '../errors.js'
import { bigIntFromBytes, bigIntToBytes32 } from './scalar-bytes.js'

/** Keys and signatures are a few hundred bytes at most; anything larger is hostile or a mistake. */
export const MAX_KEY_OR_SIGNATURE_BYTES = 16 * 1024

/**
 * Parses `der` with a @peculiar schema and requires it to be the one DER encoding of what was parsed. The schema
 * parser accepts BER (long-form and indefinite lengths, constructed strings) and ignores trailing bytes; serialising
 * the result again and comparing byte for byte rejects all of that. INTEGER minimality is not covered when a schema
 * keeps the raw contents (ArrayBuffer converters): check those with `unsignedIntegerFromContents`.
 */
export function parseStrictDer<T>(
  der: Uint8Array,
  schema: new () => T,
  code: GmErrorCode,
  what: string,
  maxBytes: number = MAX_KEY_OR_SIGNATURE_BYTES,
): T {
  if (!(der instanceof Uint8Array)) throw new GmError(code, `${what} must be a Uint8Array`)
  if (der.length > maxBytes) throw new GmError(code, `${what} is longer than ${maxBytes} bytes`)
  let parsed: T
  let again: Uint8Array
  try {
    parsed = AsnParser.parse(der, schema)
    again = new Uint8Array(AsnSerializer.serialize(parsed))
  } catch (cause) {
    throw new GmError(code, `${what} is not valid DER`, { cause })
  }
  if (!equalBytes(again, der)) throw new GmError(code, `${what} is not strict DER (BER form, or trailing bytes)`)
  return parsed
}

export function serializeDer(value: object): Uint8Array {
  return new Uint8Array(AsnSerializer.serialize(value))
}

/**
 * The value of DER INTEGER contents that must be non-negative, or undefined when the contents are empty, negative or
 * not minimal (a leading 00 that is not needed to keep the sign bit clear).
 */
export function unsignedIntegerFromContents(contents: ArrayBuffer | Uint8Array): bigint | undefined {
  const bytes = contents instanceof Uint8Array ? contents : new Uint8Array(contents)
  const first = bytes[0]
  if (first === undefined || first & 0x80) return undefined
  if (first === 0 && bytes.length > 1) {
    if (!(bytes[1]! & 0x80)) return undefined
    return bigIntFromBytes(bytes.subarray(1))
  }
  return bigIntFromBytes(bytes)
}

/** Minimal DER INTEGER contents of a value in [0, 2^256): big-endian, with a 00 only when the top bit is set. */
export function unsignedIntegerContents(value: bigint): ArrayBuffer {
  const full = bigIntToBytes32(value, new Uint8Array(33), 1)
  let start = 1
  while (start < 32 && full[start] === 0) start++
  if (full[start]! & 0x80) start--
  return full.slice(start).buffer
}

/**
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } for r, s in [0, 2^256), written directly (the same bytes as
 * the schema encoder; der.test.ts compares them): at most 72 bytes, so one length octet each.
 */
export function signatureValueDer(r: bigint, s: bigint): Uint8Array {
  const rc = new Uint8Array(unsignedIntegerContents(r))
  const sc = new Uint8Array(unsignedIntegerContents(s))
  const out = new Uint8Array(6 + rc.length + sc.length)
  out[0] = 0x30
  out[1] = 4 + rc.length + sc.length
  out[2] = 0x02
  out[3] = rc.length
  out.set(rc, 4)
  out[4 + rc.length] = 0x02
  out[5 + rc.length] = sc.length
  out.set(sc, 6 + rc.length)
  return out
}
