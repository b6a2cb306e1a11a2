import { bytesToHex, hmacSm3, openSm4Gcm, sealSm4Gcm } from '@yiqian/gm'
import { DomainError } from '../errors.js'

/**
 * Field-level protection of data at rest (ID-card and phone numbers, client-system secrets, TOTP seeds):
 * SM4-GCM under a key derived from the key-encryption key, bound to where the value lives, and an HMAC-SM3
 * blind index under a second derived key so that exact look-ups work without decrypting.
 */
export interface SecretBox {
  /** Encrypts `plaintext`; `context` (e.g. `staff.id_card:<id>`) must be given again to open it. Base64url. */
  seal(plaintext: string, context: string): string
  /** Opens what `seal` made; a wrong key, context or an altered value fails with SECRET_UNREADABLE. */
  open(sealed: string, context: string): string
  /** A deterministic keyed digest of `value` for equality search; `purpose` separates the indexes. Hex. */
  blindIndex(purpose: string, value: string): string
}

export const KEK_LENGTH = 32

function derive(kek: Uint8Array, label: string, length: number): Uint8Array {
  return hmacSm3(kek, `yiqian/secret-box/v1/${label}`).slice(0, length)
}

/** A SecretBox over a 32-byte key-encryption key (from the KEK file or passphrase the composition root loads). */
export function createSecretBox(kek: Uint8Array): SecretBox {
  if (!(kek instanceof Uint8Array) || kek.length !== KEK_LENGTH) {
    throw new TypeError(`the key-encryption key must be ${KEK_LENGTH} bytes`)
  }
  const encryptionKey = derive(kek, 'sm4-gcm', 16)
  const indexKey = derive(kek, 'blind-index', 32)
  return {
    seal: (plaintext, context) =>
      Buffer.from(sealSm4Gcm(encryptionKey, plaintext.normalize('NFC'), context)).toString('base64url'),
    open(sealed, context) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(
          openSm4Gcm(encryptionKey, Buffer.from(sealed, 'base64url'), context),
        )
      } catch (error) {
        throw new DomainError(
          'SECRET_UNREADABLE',
          `cannot open protected value (${context})`,
          { context },
          {
            cause: error,
          },
        )
      }
    },
    blindIndex: (purpose, value) => bytesToHex(hmacSm3(indexKey, `${purpose}\u0000${value.normalize('NFC')}`)),
  }
}

/** Masks all but the first `keepStart` and last `keepEnd` characters: 110101********1234, 138****5678. */
export function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  const chars = [...value]
  if (chars.length <= keepStart + keepEnd) return '*'.repeat(chars.length)
  return (
    chars.slice(0, keepStart).join('') + '*'.repeat(chars.length - keepStart - keepEnd) + chars.slice(-keepEnd).join('')
  )
}
