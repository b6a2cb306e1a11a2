import { concatBytes, randomBytes, toBytes } from './bytes.js'
import { GmError } from './errors.js'
import { requireBytes, SM4_KEY_SIZE } from './sm4.js'
import { SM4_GCM_NONCE_SIZE, SM4_GCM_TAG_SIZE, sm4GcmDecrypt, sm4GcmEncrypt } from './sm4-gcm.js'

// Encryption of data at rest (ID-card numbers, key shares): one self-describing blob per value,
//   0x01 ‖ nonce (12 random bytes) ‖ SM4-GCM ciphertext ‖ tag (16 bytes),
// where the GCM additional data is the version byte followed by the caller's associated data, so that the header
// is authenticated too. A random 96-bit nonce means a key should seal fewer than 2^32 values (SP 800-38D §8.3).

export const SEALED_SM4_GCM_VERSION = 0x01
/** Bytes a sealed blob adds to its plaintext: version, nonce and tag. */
export const SEALED_SM4_GCM_OVERHEAD = 1 + SM4_GCM_NONCE_SIZE + SM4_GCM_TAG_SIZE

const HEADER = Uint8Array.of(SEALED_SM4_GCM_VERSION)

function associatedBytes(associatedData: Uint8Array | string | undefined): Uint8Array {
  const bytes = toBytes(associatedData ?? '')
  requireBytes(bytes, 'associated data')
  return concatBytes(HEADER, bytes)
}

/**
 * Encrypts and authenticates `plaintext` (strings as UTF-8) under a 16-byte SM4 key. `associatedData` is not stored
 * but must be given again to open the blob: bind it to where the value lives (table, column, row id).
 */
export function sealSm4Gcm(
  key: Uint8Array,
  plaintext: Uint8Array | string,
  associatedData?: Uint8Array | string,
): Uint8Array {
  const message = toBytes(plaintext)
  requireBytes(message, 'plaintext')
  const nonce = randomBytes(SM4_GCM_NONCE_SIZE)
  const { ciphertext, tag } = sm4GcmEncrypt(key, nonce, message, associatedBytes(associatedData))
  return concatBytes(HEADER, nonce, ciphertext, tag)
}

/**
 * Reverses `sealSm4Gcm`. A wrong key, wrong associated data, unknown version, truncated or altered blob all give
 * INVALID_CIPHERTEXT; a key that is not 16 bytes gives INVALID_ARGUMENT.
 */
export function openSm4Gcm(key: Uint8Array, sealed: Uint8Array, associatedData?: Uint8Array | string): Uint8Array {
  requireBytes(key, 'SM4 key', SM4_KEY_SIZE)
  requireBytes(sealed, 'sealed blob')
  if (sealed.length < SEALED_SM4_GCM_OVERHEAD) throw new GmError('INVALID_CIPHERTEXT', 'sealed blob is truncated')
  if (sealed[0] !== SEALED_SM4_GCM_VERSION) {
    throw new GmError('INVALID_CIPHERTEXT', `unknown sealed blob version ${sealed[0]}`)
  }
  const nonceEnd = 1 + SM4_GCM_NONCE_SIZE
  const tagStart = sealed.length - SM4_GCM_TAG_SIZE
  return sm4GcmDecrypt(
    key,
    sealed.subarray(1, nonceEnd),
    sealed.subarray(nonceEnd, tagStart),
    sealed.subarray(tagStart),
    associatedBytes(associatedData),
  )
}
