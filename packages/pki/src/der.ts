import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema'
import { PkiError } from './errors.js'

export interface DerLimits {
  /** Largest accepted input in bytes. */
  readonly maxBytes: number
  /** Deepest accepted nesting of constructed values. */
  readonly maxDepth: number
}

/** Certificates, CRLs and CMS blobs a hospital handles are far below these; anything above is hostile. */
export const DEFAULT_DER_LIMITS: DerLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 32 }

/**
 * Walks the TLV structure once, before any schema sees it: definite lengths only, in their shortest form, every
 * value inside its parent, nesting within `maxDepth`, nothing after the outermost value. This bounds the work the
 * schema parser (which accepts BER) can be made to do, and names the first fault.
 */
export function checkDerShape(der: Uint8Array, what: string, limits: DerLimits = DEFAULT_DER_LIMITS): void {
  if (!(der instanceof Uint8Array)) throw new PkiError('INVALID_ARGUMENT', `${what} must be a Uint8Array`)
  if (der.length > limits.maxBytes) throw new PkiError('TOO_LARGE', `${what} is larger than ${limits.maxBytes} bytes`)
  if (der.length === 0) throw new PkiError('MALFORMED_DER', `${what} is empty`)
  // An explicit stack of (end offset) instead of recursion: depth is bounded by the limit, not by the JS stack.
  const ends: number[] = [der.length]
  let offset = 0
  let topLevelValues = 0
  while (offset < der.length || ends.length > 1) {
    while (ends.length > 1 && offset === ends[ends.length - 1]) ends.pop()
    if (offset >= der.length) break
    if (ends.length === 1 && ++topLevelValues > 1) {
      throw new PkiError('NOT_STRICT_DER', `${what} has trailing bytes after the value (offset ${offset})`)
    }
    const tag = der[offset++]!
    if ((tag & 0x1f) === 0x1f) {
      // High tag numbers: base-128, no leading 0x80 byte.
      if (der[offset] === 0x80) throw new PkiError('NOT_STRICT_DER', `${what}: non-minimal tag at ${offset}`)
      let n = 0
      while (offset < der.length && der[offset]! & 0x80) {
        if (++n > 4) throw new PkiError('MALFORMED_DER', `${what}: tag number too large at ${offset}`)
        offset++
      }
      offset++
    }
    if (offset >= der.length) throw new PkiError('MALFORMED_DER', `${what} is truncated (length missing)`)
    const first = der[offset++]!
    let length: number
    if (first < 0x80) {
      length = first
    } else if (first === 0x80) {
      throw new PkiError('NOT_STRICT_DER', `${what}: indefinite length at ${offset - 1}`)
    } else {
      const count = first & 0x7f
      if (count > 4) throw new PkiError('TOO_LARGE', `${what}: length of ${count} bytes at ${offset - 1}`)
      if (offset + count > der.length) throw new PkiError('MALFORMED_DER', `${what} is truncated (length)`)
      if (der[offset] === 0) throw new PkiError('NOT_STRICT_DER', `${what}: length with leading zero at ${offset}`)
      length = 0
      for (let i = 0; i < count; i++) length = length * 256 + der[offset++]!
      if (length < 0x80) throw new PkiError('NOT_STRICT_DER', `${what}: long form for a short length at ${offset}`)
    }
    const end = offset + length
    if (end > ends[ends.length - 1]!) {
      throw new PkiError('MALFORMED_DER', `${what}: value at ${offset} runs past its container (truncated?)`)
    }
    if (tag & 0x20) {
      if (ends.length > limits.maxDepth) throw new PkiError('TOO_DEEP', `${what} nests deeper than ${limits.maxDepth}`)
      ends.push(end)
    } else {
      offset = end
    }
  }
}

/**
 * Parses `der` with a @peculiar/asn1-* schema and requires it to be the one DER encoding of the result: the shape
 * check above, then parse, re-serialise and compare byte for byte (catches non-minimal integers, unsorted SETs,
 * BER booleans and everything else the schema parser tolerates).
 */
export function decodeDer<T>(der: Uint8Array, schema: new () => T, what: string, limits?: DerLimits): T {
  checkDerShape(der, what, limits)
  let parsed: T
  let again: Uint8Array
  try {
    parsed = AsnParser.parse(der, schema)
    again = new Uint8Array(AsnSerializer.serialize(parsed))
  } catch (cause) {
    throw new PkiError('MALFORMED_DER', `${what} is not a valid ${schema.name}`, { cause })
  }
  if (again.length !== der.length || !again.every((b, i) => b === der[i])) {
    throw new PkiError('NOT_STRICT_DER', `${what} is not in DER form (it re-encodes differently)`)
  }
  return parsed
}

export function encodeDer(value: object): Uint8Array {
  return new Uint8Array(AsnSerializer.serialize(value))
}
