import { GmError } from './errors.js'

// Byte and big-integer conversions shared by every algorithm. Browser-safe: no Buffer.

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export function bytesToHex(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += HEX_BYTE[bytes[i] as number]
  return out
}

/** The value of one hex digit's character code, or -1. */
function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48 // 0-9
  if (code >= 97 && code <= 102) return code - 87 // a-f
  if (code >= 65 && code <= 70) return code - 55 // A-F
  return -1
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new GmError('INVALID_ARGUMENT', 'not a hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const high = nibble(hex.charCodeAt(2 * i))
    const low = nibble(hex.charCodeAt(2 * i + 1))
    if (high < 0 || low < 0) throw new GmError('INVALID_ARGUMENT', 'not a hex string')
    out[i] = (high << 4) | low
  }
  return out
}

/** Big-endian unsigned. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytesToHex(bytes)}`)
}

/** Big-endian unsigned, left-padded to exactly `length` bytes; throws if it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new GmError('INVALID_ARGUMENT', 'negative integer')
  const hex = value.toString(16)
  if (hex.length > length * 2) throw new GmError('INVALID_ARGUMENT', `integer does not fit in ${length} bytes`)
  return hexToBytes(hex.padStart(length * 2, '0'))
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Compares in time that depends only on the lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

const encoder = new TextEncoder()
/** Strings are UTF-8; bytes pass through. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data
}

/** Cryptographically secure random bytes (Web Crypto: Node 20 and browsers). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length)
  globalThis.crypto.getRandomValues(out)
  return out
}
