import { randomBytes, scrypt } from 'node:crypto'
import { bytesToHex, hmacSm3 } from '@yiqian/gm'
import { DomainError } from '../errors.js'
import { KEK_LENGTH } from '../protection/secret-box.js'

/**
 * The key-encryption key (KEK) that seals `soft:` private keys. `id` is a public fingerprint derived from the key
 * itself, so that each sealed row can say which KEK opens it without the KEK being stored anywhere.
 */
export interface KeyEncryptionKey {
  readonly id: string
  readonly key: Uint8Array
}

export const KEK_SALT_BYTES = 16
export const KEK_PASSPHRASE_MIN_LENGTH = 12
export const KEK_PASSPHRASE_MAX_LENGTH = 1024
/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s), as RFC 7914 suggests for interactive use and above. */
export const KEK_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const

/** The fingerprint of a KEK: 16 hex digits of HMAC-SM3 under it, separated from every other use of the KEK. */
export function kekIdOf(key: Uint8Array): string {
  return `kek-${bytesToHex(hmacSm3(key, 'yiqian/key-store/v1/kek-id')).slice(0, 16)}`
}

/** The existing 32-byte key file (`<data>/secret-box.key` or a file of its own), read by the composition root. */
export function kekFromKeyFile(bytes: Uint8Array): KeyEncryptionKey {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEK_LENGTH) {
    throw new DomainError('KEY_FIELD_INVALID', `a key-encryption key file holds exactly ${KEK_LENGTH} bytes`, {
      field: 'kek',
      length: bytes?.length,
    })
  }
  const key = Uint8Array.from(bytes)
  return { id: kekIdOf(key), key }
}

/** A fresh random salt for `kekFromPassphrase`; store it beside the configuration (it is not secret). */
export function newKekSalt(): Uint8Array {
  return new Uint8Array(randomBytes(KEK_SALT_BYTES))
}

/** Derives the KEK from an operator's passphrase with scrypt (N=2^15, r=8, p=1) and the stored salt. */
export async function kekFromPassphrase(passphrase: string, salt: Uint8Array): Promise<KeyEncryptionKey> {
  const normalised = typeof passphrase === 'string' ? passphrase.normalize('NFC') : ''
  const length = [...normalised].length
  if (length < KEK_PASSPHRASE_MIN_LENGTH || length > KEK_PASSPHRASE_MAX_LENGTH) {
    throw new DomainError(
      'KEY_FIELD_INVALID',
      `口令长度须为 ${KEK_PASSPHRASE_MIN_LENGTH}–${KEK_PASSPHRASE_MAX_LENGTH} 个字符 / the passphrase must be ${KEK_PASSPHRASE_MIN_LENGTH}–${KEK_PASSPHRASE_MAX_LENGTH} characters`,
      { field: 'passphrase' },
    )
  }
  if (!(salt instanceof Uint8Array) || salt.length < KEK_SALT_BYTES || salt.length > 64) {
    throw new DomainError('KEY_FIELD_INVALID', `the salt must be ${KEK_SALT_BYTES}–64 bytes`, { field: 'salt' })
  }
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      Buffer.from(normalised, 'utf8'),
      salt,
      KEK_LENGTH,
      { ...KEK_SCRYPT, maxmem: 64 * 1024 * 1024 },
      (error, derived) => (error ? reject(error) : resolve(derived)),
    ),
  )
  const bytes = new Uint8Array(key)
  key.fill(0)
  return { id: kekIdOf(bytes), key: bytes }
}
