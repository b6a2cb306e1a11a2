import { weierstrass } from '@noble/curves/abstract/weierstrass.js'
import { bigIntToBytes, bytesToBigInt, concatBytes } from '../bytes.js'
import { GmError } from '../errors.js'

/** The SM2 recommended curve (GB/T 32918.5), OID 1.2.156.10197.1.301. */
export const SM2_CURVE: Readonly<Record<'p' | 'a' | 'b' | 'n' | 'h' | 'Gx' | 'Gy', bigint>> = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
}

export const SM2_CURVE_OID = '1.2.156.10197.1.301'
export const N = SM2_CURVE.n
export const P = SM2_CURVE.p

/** noble's projective point class for SM2 (pure JS; runs in browsers). */
export const Sm2Point = weierstrass({
  p: SM2_CURVE.p,
  n: SM2_CURVE.n,
  h: SM2_CURVE.h,
  a: SM2_CURVE.a,
  b: SM2_CURVE.b,
  Gx: SM2_CURVE.Gx,
  Gy: SM2_CURVE.Gy,
})
export type Sm2Point = InstanceType<typeof Sm2Point>

/** An affine point with both coordinates, as the protocols carry it. */
export interface AffinePoint {
  readonly x: bigint
  readonly y: bigint
}

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m
  return r >= 0n ? r : r + m
}

/** a^-1 mod m for prime m (Fermat); a must be non-zero mod m. */
export function invert(a: bigint, m: bigint): bigint {
  let result = 1n
  let base = mod(a, m)
  if (base === 0n) throw new GmError('INVALID_ARGUMENT', 'zero has no inverse')
  let e = m - 2n
  while (e > 0n) {
    if (e & 1n) result = (result * base) % m
    base = (base * base) % m
    e >>= 1n
  }
  return result
}

/**
 * Public-key validation (GB/T 32918.1 §6.2 / SEC 1 §3.2.2.1): coordinates in [0, p), on the curve, not the point at
 * infinity (and, with cofactor 1, n·Q = O holds for every curve point). Throws INVALID_POINT.
 */
export function validatePoint(point: AffinePoint): Sm2Point {
  const { x, y } = point
  if (x < 0n || x >= P || y < 0n || y >= P) throw new GmError('INVALID_POINT', 'coordinate out of range')
  const left = mod(y * y, P)
  const right = mod(x * x * x + SM2_CURVE.a * x + SM2_CURVE.b, P)
  if (left !== right) throw new GmError('INVALID_POINT', 'point is not on the SM2 curve')
  const p = Sm2Point.fromAffine({ x, y })
  if (p.is0()) throw new GmError('INVALID_POINT', 'point at infinity')
  return p
}

/** Uncompressed SEC 1 encoding 04‖x‖y (65 bytes). */
export function encodePoint(point: AffinePoint): Uint8Array {
  return concatBytes(Uint8Array.of(4), bigIntToBytes(point.x, 32), bigIntToBytes(point.y, 32))
}

/** Accepts only the uncompressed 65-byte form and validates the point. */
export function decodePoint(bytes: Uint8Array): AffinePoint {
  if (bytes.length !== 65 || bytes[0] !== 4) {
    throw new GmError('INVALID_POINT', 'expected an uncompressed point of 65 bytes (04‖x‖y)')
  }
  const point = { x: bytesToBigInt(bytes.subarray(1, 33)), y: bytesToBigInt(bytes.subarray(33, 65)) }
  validatePoint(point)
  return point
}

/** A private scalar must lie in [1, n-2] for SM2 (1 + d must be invertible mod n). */
export function validatePrivateScalar(d: bigint): bigint {
  if (d < 1n || d > N - 2n) throw new GmError('INVALID_KEY', 'private key out of range [1, n-2]')
  return d
}
