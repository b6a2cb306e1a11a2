import type { SignatureAlgorithm, Signer } from '@yiqian/gm'
import type { ActorContext } from '../access/principal.js'

/** Key pair types the stores make or accept. SM2 is the default everywhere. */
export const KEY_ALGORITHMS = ['sm2', 'ecdsa-p256', 'rsa-2048', 'rsa-3072'] as const
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number]

/** What a key is for; a key serves one purpose (a CA key never signs timestamps). */
export const KEY_PURPOSES = ['ca', 'tsa', 'ocsp', 'audit-checkpoint', 'seal'] as const
export type KeyPurpose = (typeof KEY_PURPOSES)[number]

export const KEY_LABEL_MAX_LENGTH = 200
/** A PKCS#8 RSA-3072 key is about 1.8 kB; anything much larger is not a key we accept. */
export const PKCS8_MAX_BYTES = 8192

export interface KeySpec {
  readonly algorithm: KeyAlgorithm
  /** For people: "医院 SM2 根 CA 2026". 1–200 characters, no control characters. */
  readonly label: string
  readonly purpose: KeyPurpose
}

export interface ImportKeyMeta {
  readonly label: string
  readonly purpose: KeyPurpose
  /** When given, the imported key must be of this type (KEY_FIELD_INVALID otherwise). */
  readonly algorithm?: KeyAlgorithm
}

/** The public facts of a key; never its private half. */
export interface KeyInfo {
  readonly uri: string
  readonly algorithm: KeyAlgorithm
  readonly label: string
  readonly purpose: KeyPurpose
  readonly origin: 'generated' | 'imported'
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKey: Uint8Array
  readonly createdAt: Date
  /** Set once the key may no longer sign; its record (and private half) stays for as long as what it signed. */
  readonly retiredAt?: Date | undefined
}

export interface SignerOptions {
  /** RSA keys only: PKCS#1 v1.5 (default) or PSS with a 32-byte salt. */
  readonly rsaPadding?: 'pkcs1' | 'pss'
}

/**
 * Custody of signing keys, addressed by URI. Private key bytes never leave a store except sealed: callers get a
 * `Signer` (gm's interface: SM2 with the default signer ID and DER signatures, ECDSA DER, RSA raw), never a key.
 * Keys are not deleted: a key that signed a certificate or a timestamp may be needed to prove what it signed, and
 * `retire` only stops it from signing again.
 */
export interface KeyStore {
  generate(spec: KeySpec, actor: ActorContext): Promise<KeyInfo>
  /** A PKCS#8 PrivateKeyInfo (DER, unencrypted): a hospital importing the issuing key its licensed CA gave it. */
  importPrivateKey(pkcs8: Uint8Array, meta: ImportKeyMeta, actor: ActorContext): Promise<KeyInfo>
  /** SubjectPublicKeyInfo DER; retired keys included. */
  publicKey(uri: string): Promise<Uint8Array>
  info(uri: string): Promise<KeyInfo>
  /** KEY_RETIRED for a retired key. */
  signer(uri: string, options?: SignerOptions): Promise<Signer>
  list(): Promise<KeyInfo[]>
  retire(uri: string, actor: ActorContext): Promise<KeyInfo>
  /** Forgets every decrypted key held in memory. */
  close(): Promise<void>
}

/** The gm signature algorithm a key signs with. */
export function signatureAlgorithmOf(algorithm: KeyAlgorithm, options: SignerOptions = {}): SignatureAlgorithm {
  switch (algorithm) {
    case 'sm2':
      return 'SM2-SM3'
    case 'ecdsa-p256':
      return 'ECDSA-P256-SHA256'
    case 'rsa-2048':
    case 'rsa-3072':
      return options.rsaPadding === 'pss' ? 'RSA-PSS-SHA256' : 'RSA-SHA256'
  }
}
