export type { KeyEncryptionKey } from './key-encryption-key.js'
export {
  KEK_PASSPHRASE_MAX_LENGTH,
  KEK_PASSPHRASE_MIN_LENGTH,
  KEK_SALT_BYTES,
  KEK_SCRYPT,
  kekFromKeyFile,
  kekFromPassphrase,
  kekIdOf,
  newKekSalt,
} from './key-encryption-key.js'
export type {
  ImportKeyMeta,
  KeyAlgorithm,
  KeyInfo,
  KeyPurpose,
  KeySpec,
  KeyStore,
  SignerOptions,
} from './key-store.js'
export {
  KEY_ALGORITHMS,
  KEY_LABEL_MAX_LENGTH,
  KEY_PURPOSES,
  PKCS8_MAX_BYTES,
  signatureAlgorithmOf,
} from './key-store.js'
export type { KeyPlacement, KeyStores } from './key-store-router.js'
export { createKeyStore } from './key-store-router.js'
export type { KeyUri, Pkcs11KeyUri, SoftKeyUri } from './key-uri.js'
export { formatKeyUri, KEY_URI_MAX_LENGTH, parseKeyUri, SOFT_KEY_ID_PATTERN, softKeyUri } from './key-uri.js'
export type { Pkcs11Config, Pkcs11KeyStoreDeps } from './pkcs11-key-store.js'
export { createPkcs11KeyStore, PKCS11_NOT_CONFIGURED } from './pkcs11-key-store.js'
export type { KekRotation, KeyRepository, SoftKeyStore, SoftKeyStoreDeps, StoredKey } from './soft-key-store.js'
export {
  createSoftKeyStore,
  openPrivateKey,
  publicKeyFingerprint,
  sealPrivateKey,
} from './soft-key-store.js'
