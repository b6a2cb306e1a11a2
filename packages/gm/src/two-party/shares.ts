import { bytesToBigInt, equalBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { type AffinePoint, decodePoint, N } from '../sm2/curve.js'
import {
  bytesToHex,
  DIGEST_LENGTH,
  POINT_LENGTH,
  pointToBytes,
  readHex,
  SCALAR_LENGTH,
  taggedHash,
} from './primitives.js'

// The long-term results of key generation. Both are plain JSON-safe objects: the caller stores them and MUST
// encrypt the share at rest (the phone under a key in its secure keystore, the server under its KMS/HSM key).
// The joint private key is d = (d1·d2)^-1 − 1, i.e. (1 + d)^-1 = d1·d2 mod n; neither share alone determines it.

/** The phone's half. `clientShare` is d1, the value that must stay under the signer's sole control. */
export interface TwoPartyClientKeyShare {
  readonly version: 1
  /** SM3-derived from the joint public key: 64 lowercase hex characters. */
  readonly keyId: string
  /** The joint public key P, uncompressed 04‖x‖y, 130 lowercase hex characters. */
  readonly publicKey: string
  /** d1, 64 lowercase hex characters. SECRET. */
  readonly clientShare: string
}

/** The server's half. `serverShare` is d2. */
export interface TwoPartyServerKeyShare {
  readonly version: 1
  readonly keyId: string
  readonly publicKey: string
  /** d2, 64 lowercase hex characters. SECRET. */
  readonly serverShare: string
}

/** A key id names the joint public key, so both parties derive the same one and nobody can choose it. */
export function twoPartyKeyId(publicKey: AffinePoint): Uint8Array {
  return taggedHash('key-id', pointToBytes(publicKey))
}

export interface LoadedShare {
  readonly keyId: Uint8Array
  readonly publicKey: AffinePoint
  readonly secret: bigint
}

function loadShare(share: unknown, secretField: 'clientShare' | 'serverShare', what: string): LoadedShare {
  const record = share as Record<string, unknown> | null
  if (!record || typeof record !== 'object' || record.version !== 1) {
    throw new GmError('INVALID_KEY', `${what}: not a version 1 key share`)
  }
  const keyId = readHex(record.keyId, DIGEST_LENGTH, `${what}.keyId`, 'INVALID_KEY')
  const publicKeyBytes = readHex(record.publicKey, POINT_LENGTH, `${what}.publicKey`, 'INVALID_KEY')
  let publicKey: AffinePoint
  try {
    publicKey = decodePoint(publicKeyBytes)
  } catch (error) {
    throw new GmError('INVALID_KEY', `${what}.publicKey: not a valid SM2 point`, { cause: error })
  }
  if (!equalBytes(twoPartyKeyId(publicKey), keyId)) {
    throw new GmError('INVALID_KEY', `${what}.keyId: does not match the public key`)
  }
  const secret = bytesToBigInt(readHex(record[secretField], SCALAR_LENGTH, `${what}.${secretField}`, 'INVALID_KEY'))
  if (secret === 0n || secret >= N) throw new GmError('INVALID_KEY', `${what}.${secretField}: out of range [1, n-1]`)
  return { keyId, publicKey, secret }
}

export function loadClientKeyShare(share: TwoPartyClientKeyShare): LoadedShare {
  return loadShare(share, 'clientShare', 'client key share')
}

export function loadServerKeyShare(share: TwoPartyServerKeyShare): LoadedShare {
  return loadShare(share, 'serverShare', 'server key share')
}

export function publicKeyHex(publicKey: AffinePoint): string {
  return bytesToHex(pointToBytes(publicKey))
}
