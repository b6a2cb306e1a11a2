import { bigIntToBytes, bytesToBigInt, concatBytes, toBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { curveBackend } from '../sm2/backend.js'
import { type AffinePoint, mod, N, SM2_CURVE } from '../sm2/curve.js'
import { sm3 } from '../sm3.js'

// Standard SM2 pieces the protocol needs (GB/T 32918.2 §5.5 and §6/§7). They stand in for the shared
// `sm2Za` / `sm2Digest` / `sm2Verify` until `sm2/signature.ts` exists; the results are checked against OpenSSL and
// sm-crypto-v2 in the tests, so switching over must not change a byte.

/** GB/T 32918.2's default signer ID when none is agreed. */
export const DEFAULT_SIGNER_ID = '1234567812345678'

/** ENTL is a 16-bit count of bits, so an ID holds at most 8191 bytes. */
const MAX_SIGNER_ID_BYTES = 0xffff >> 3

const CURVE_PREFIX = concatBytes(
  bigIntToBytes(SM2_CURVE.a, 32),
  bigIntToBytes(SM2_CURVE.b, 32),
  bigIntToBytes(SM2_CURVE.Gx, 32),
  bigIntToBytes(SM2_CURVE.Gy, 32),
)

/** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA). */
export function signerHash(publicKey: AffinePoint, signerId: Uint8Array | string = DEFAULT_SIGNER_ID): Uint8Array {
  const id = toBytes(signerId)
  if (id.length > MAX_SIGNER_ID_BYTES) {
    throw new GmError('INVALID_ARGUMENT', `signer ID longer than ${MAX_SIGNER_ID_BYTES} bytes`)
  }
  const bits = id.length * 8
  return sm3(
    concatBytes(
      Uint8Array.of(bits >> 8, bits & 0xff),
      id,
      CURVE_PREFIX,
      bigIntToBytes(publicKey.x, 32),
      bigIntToBytes(publicKey.y, 32),
    ),
  )
}

/** e = SM3(Z_A ‖ M), the 32-byte value an SM2 signature actually signs. */
export function twoPartyMessageDigest(
  publicKey: AffinePoint,
  message: Uint8Array | string,
  signerId: Uint8Array | string = DEFAULT_SIGNER_ID,
): Uint8Array {
  return sm3(concatBytes(signerHash(publicKey, signerId), toBytes(message)))
}

/**
 * Standard SM2 verification of (r, s) over a digest e (GB/T 32918.2 §7): r, s in [1, n-1], t = r + s ≠ 0,
 * (x1, y1) = s·G + t·P, accept iff (e + x1) mod n = r. Only public values are involved, so `mulAdd` is correct here.
 */
export function verifyDigestSignature(publicKey: AffinePoint, digest: Uint8Array, r: bigint, s: bigint): boolean {
  if (r < 1n || r >= N || s < 1n || s >= N) return false
  const t = mod(r + s, N)
  if (t === 0n) return false
  const point = curveBackend().mulAdd(s, t, publicKey)
  if (!point) return false
  return mod(bytesToBigInt(digest) + point.x, N) === r
}
