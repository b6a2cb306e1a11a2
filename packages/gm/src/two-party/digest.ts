import { bigIntToBytes, concatBytes } from '../bytes.js'
import { type AffinePoint, encodePoint, N } from '../sm2/curve.js'
import { SM2_DEFAULT_ID, sm2Digest, sm2VerifyDigest, sm2Za } from '../sm2/signature.js'

// The protocol carries points as affine coordinates; these adapt them to the shared standard-SM2 functions.

/** GB/T 32918.2's default signer ID when none is agreed. */
export const DEFAULT_SIGNER_ID = SM2_DEFAULT_ID

/** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA). */
export function signerHash(publicKey: AffinePoint, signerId: Uint8Array | string = DEFAULT_SIGNER_ID): Uint8Array {
  return sm2Za(encodePoint(publicKey), signerId)
}

/** e = SM3(Z_A ‖ M), the 32-byte value an SM2 signature actually signs. */
export function twoPartyMessageDigest(
  publicKey: AffinePoint,
  message: Uint8Array | string,
  signerId: Uint8Array | string = DEFAULT_SIGNER_ID,
): Uint8Array {
  return sm2Digest(message, encodePoint(publicKey), signerId)
}

/** Standard SM2 verification of (r, s) over a digest e; false (not an error) for scalars out of range. */
export function verifyDigestSignature(publicKey: AffinePoint, digest: Uint8Array, r: bigint, s: bigint): boolean {
  if (r < 1n || r >= N || s < 1n || s >= N) return false
  const raw = concatBytes(bigIntToBytes(r, 32), bigIntToBytes(s, 32))
  return sm2VerifyDigest(digest, raw, encodePoint(publicKey), { encoding: 'raw' })
}
