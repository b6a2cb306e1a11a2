import { GmError } from '../errors.js'
import { curveBackend } from './backend.js'
import { type AffinePoint, decodePoint, encodePoint, N, validatePrivateScalar } from './curve.js'
import { bigIntFromBytes32, bigIntToBytes32, randomScalar } from './scalar-bytes.js'

/** Raw SM2 keys: the private key is d as 32 big-endian bytes, the public key the uncompressed point 04‖x‖y. */
export interface Sm2KeyPair {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

export const SM2_PRIVATE_KEY_BYTES = 32
export const SM2_PUBLIC_KEY_BYTES = 65

/** d as an integer, after checking the encoding and the SM2 range [1, n-2]; INVALID_KEY otherwise. */
export function sm2PrivateScalar(privateKey: Uint8Array): bigint {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== SM2_PRIVATE_KEY_BYTES) {
    throw new GmError('INVALID_KEY', 'an SM2 private key is 32 bytes')
  }
  return validatePrivateScalar(bigIntFromBytes32(privateKey))
}

/** The validated affine point of an uncompressed public key; INVALID_POINT otherwise (compressed included). */
export function sm2PublicPoint(publicKey: Uint8Array): AffinePoint {
  if (!(publicKey instanceof Uint8Array)) throw new GmError('INVALID_POINT', 'an SM2 public key is a Uint8Array')
  return decodePoint(publicKey)
}

export function validateSm2PrivateKey(privateKey: Uint8Array): void {
  sm2PrivateScalar(privateKey)
}

export function validateSm2PublicKey(publicKey: Uint8Array): void {
  sm2PublicPoint(publicKey)
}

/** d in [1, n-2] uniformly (GB/T 32918.1 §6.1; n-1 is excluded because 1 + d must be invertible). */
export function generateSm2KeyPair(): Sm2KeyPair {
  const d = randomScalar(N - 2n)
  return { privateKey: bigIntToBytes32(d), publicKey: encodePoint(curveBackend().mulBase(d)) }
}

export function sm2PublicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  return encodePoint(curveBackend().mulBase(sm2PrivateScalar(privateKey)))
}
