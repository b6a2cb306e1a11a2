import { bytesToBigInt, randomBytes } from '../bytes.js'
import { GmError } from '../errors.js'

// Fixed 32-byte conversions for the signing and verification hot paths: bytes.ts goes through hex strings, which
// costs several microseconds per integer; four 64-bit words do not.

const MASK_64 = 0xffffffffffffffffn
const LIMIT_256 = 1n << 256n

/** Big-endian unsigned value of exactly 32 bytes at `offset`. */
export function bigIntFromBytes32(bytes: Uint8Array, offset = 0): bigint {
  if (bytes.length < offset + 32) throw new GmError('INVALID_ARGUMENT', 'expected 32 bytes')
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32)
  return (
    (view.getBigUint64(0) << 192n) |
    (view.getBigUint64(8) << 128n) |
    (view.getBigUint64(16) << 64n) |
    view.getBigUint64(24)
  )
}

/** Writes `value` (< 2^256) big-endian into 32 bytes of `out` at `offset`; returns `out`. */
export function bigIntToBytes32(value: bigint, out: Uint8Array = new Uint8Array(32), offset = 0): Uint8Array {
  if (value < 0n || value >= LIMIT_256) throw new GmError('INVALID_ARGUMENT', 'integer does not fit in 32 bytes')
  const view = new DataView(out.buffer, out.byteOffset + offset, 32)
  view.setBigUint64(0, value >> 192n)
  view.setBigUint64(8, (value >> 128n) & MASK_64)
  view.setBigUint64(16, (value >> 64n) & MASK_64)
  view.setBigUint64(24, value & MASK_64)
  return out
}

/** Big-endian unsigned value of any length (DER INTEGER contents after sign checks). */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 32) return bigIntFromBytes32(bytes)
  if (bytes.length > 32) return bytesToBigInt(bytes)
  const padded = new Uint8Array(32)
  padded.set(bytes, 32 - bytes.length)
  return bigIntFromBytes32(padded)
}

// One Web Crypto call costs about as much as 30 bytes of its output times a hundred (some 10 µs in Node), which is
// several percent of a native SM2 signature. Nonces are therefore drawn from a pool refilled 2 KiB at a time; each
// 32-byte slot is zeroed as soon as it has been read, so the pool never holds a nonce that has been used.
const POOL_BYTES = 2048
let pool: Uint8Array = new Uint8Array(0)
let poolOffset = 0

/** 32 fresh random bytes from the pool (for nonce seeds); the pool's copy is zeroed. */
export function randomSeed32(): Uint8Array {
  if (poolOffset + 32 > pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolOffset = 0
  }
  const seed = pool.slice(poolOffset, poolOffset + 32)
  pool.fill(0, poolOffset, poolOffset + 32)
  poolOffset += 32
  return seed
}

function random256(): bigint {
  const seed = randomSeed32()
  const value = bigIntFromBytes32(seed)
  seed.fill(0)
  return value
}

/**
 * A uniformly random integer in [1, max] by rejection sampling over 256-bit candidates. `max` is close to 2^256 for
 * SM2 (n - 1 or n - 2), so a draw is rejected with probability about 2^-32.
 */
export function randomScalar(max: bigint): bigint {
  for (;;) {
    const candidate = random256()
    if (candidate >= 1n && candidate <= max) return candidate
  }
}
