import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, hexToBytes, randomBytes, toBytes } from '../bytes.js'
import { GmError, type GmErrorCode } from '../errors.js'
import { type AffinePoint, decodePoint, encodePoint, N, Sm2Point } from '../sm2/curve.js'
import { randomSeed32 } from '../sm2/scalar-bytes.js'
import { sm3 } from '../sm3.js'

// Building blocks shared by both halves of the two-party protocol. Browser-safe: Uint8Array only, no `node:` imports.

/** The wire version. Bumping it changes every domain-separation tag, so old proofs cannot be replayed into new code. */
export const TWO_PARTY_PROTOCOL_VERSION = 1

const DOMAIN_PREFIX = `yiqian/two-party-sm2/v${TWO_PARTY_PROTOCOL_VERSION}/`

export const SCALAR_LENGTH = 32
export const POINT_LENGTH = 65
export const SESSION_ID_LENGTH = 16
export const DIGEST_LENGTH = 32

function lengthPrefix(length: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) out[bytes - 1 - i] = Math.floor(length / 256 ** i) % 256
  return out
}

/**
 * SM3 over a domain-separated, length-prefixed list, so that no two (label, parts) inputs share an encoding and a
 * hash computed for one purpose (a commitment, a challenge, a nonce) is never valid for another.
 */
export function taggedHash(label: string, ...parts: readonly Uint8Array[]): Uint8Array {
  const tag = toBytes(DOMAIN_PREFIX + label)
  const pieces: Uint8Array[] = [lengthPrefix(tag.length, 2), tag]
  for (const part of parts) pieces.push(lengthPrefix(part.length, 4), part)
  return sm3(concatBytes(...pieces))
}

/** Reduces 64 bytes into [1, n-1]; the bias of a 512-bit value modulo a 256-bit n is below 2^-250. */
function wideToScalar(wide: Uint8Array): bigint {
  return (bytesToBigInt(wide) % (N - 1n)) + 1n
}

/** A uniformly random scalar in [1, n-1] (long-term shares). */
export function randomScalar(): bigint {
  return wideToScalar(randomBytes(64))
}

/**
 * A per-use secret scalar in [1, n-1] derived from fresh randomness AND the party's long-term secret and the
 * transcript (hedged, as in RFC 6979 §3.6 "additional data"): a weak or repeated random source alone cannot make
 * two different transcripts share a nonce, and a working one keeps nonces unpredictable.
 */
export function hedgedScalar(label: string, secret: bigint, ...context: readonly Uint8Array[]): bigint {
  // From the pooled generator: a Web Crypto call per nonce costs more than the hashing around it.
  const seed = randomSeed32()
  const key = scalarToBytes(secret)
  const wide = concatBytes(
    taggedHash(`nonce/${label}`, Uint8Array.of(1), key, seed, ...context),
    taggedHash(`nonce/${label}`, Uint8Array.of(2), key, seed, ...context),
  )
  key.fill(0)
  seed.fill(0)
  return wideToScalar(wide)
}

/** Challenges and transcript-derived values modulo n. */
export function hashToScalar(label: string, ...parts: readonly Uint8Array[]): bigint {
  return bytesToBigInt(taggedHash(label, ...parts)) % N
}

export function scalarToBytes(k: bigint): Uint8Array {
  return bigIntToBytes(k, SCALAR_LENGTH)
}

/** A received scalar: exactly 32 bytes, canonical (below n) and non-zero. */
export function readScalar(bytes: Uint8Array, field: string): bigint {
  if (bytes.length !== SCALAR_LENGTH) throw new GmError('INVALID_KEY', `${field}: expected ${SCALAR_LENGTH} bytes`)
  const k = bytesToBigInt(bytes)
  if (k === 0n || k >= N) throw new GmError('INVALID_KEY', `${field}: scalar out of range [1, n-1]`)
  return k
}

/** A received point: uncompressed, on the curve, not infinity. The error names the field. */
export function readPoint(bytes: Uint8Array, field: string): AffinePoint {
  try {
    return decodePoint(bytes)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new GmError('INVALID_POINT', `${field}: ${reason}`, { cause: error })
  }
}

export function pointToBytes(point: AffinePoint): Uint8Array {
  return encodePoint(point)
}

/** Point addition (not a scalar multiplication: no secret scalar is involved). Undefined for the point at infinity. */
export function addPoints(a: AffinePoint, b: AffinePoint): AffinePoint | undefined {
  const sum = Sm2Point.fromAffine(a).add(Sm2Point.fromAffine(b))
  return sum.is0() ? undefined : sum.toAffine()
}

/** P - G: the joint public key from the shared point (1 + d)·G. Undefined when d = 0. */
export function subtractGenerator(point: AffinePoint): AffinePoint | undefined {
  const difference = Sm2Point.fromAffine(point).subtract(Sm2Point.BASE)
  return difference.is0() ? undefined : difference.toAffine()
}

export function samePoint(a: AffinePoint, b: AffinePoint): boolean {
  return a.x === b.x && a.y === b.y
}

/** Unsigned 64-bit big-endian milliseconds; JavaScript numbers carry it exactly below 2^53. */
export function encodeTimestamp(ms: number): Uint8Array {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new GmError('INVALID_ARGUMENT', 'timestamp must be a safe integer')
  return lengthPrefix(ms, 8)
}

export function decodeTimestamp(bytes: Uint8Array, field: string): number {
  const value = bytesToBigInt(bytes)
  if (bytes.length !== 8 || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GmError('PROTOCOL_VIOLATION', `${field}: timestamp out of range`)
  }
  return Number(value)
}

/** Fixed-length lowercase hex, for the serialisable state objects. */
export function readHex(value: unknown, bytes: number, field: string, code: GmErrorCode): Uint8Array {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-f]*$/.test(value)) {
    throw new GmError(code, `${field}: expected ${bytes * 2} lowercase hex characters`)
  }
  return hexToBytes(value)
}

export { bytesToHex }
