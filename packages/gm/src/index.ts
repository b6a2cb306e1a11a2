// @yiqian/gm — national cryptography. Pure functions; runs in Node and (all but SM4 and the Signer factory)
// in browsers. On Node, the OpenSSL curve backend is installed at load when its addon is built.
import { useCurveBackend } from './sm2/backend.js'
import { loadOpensslBackend } from './sm2/native-backend.js'

const openssl = loadOpensslBackend()
if (openssl) useCurveBackend(openssl)

export { openSm4Gcm, SEALED_SM4_GCM_OVERHEAD, SEALED_SM4_GCM_VERSION, sealSm4Gcm } from './aead.js'
export { bytesToHex, concatBytes, equalBytes, hexToBytes, randomBytes } from './bytes.js'
export { GmError, type GmErrorCode, isGmError } from './errors.js'
export { KDF_MAX_LENGTH, kdf } from './kdf.js'
export {
  createSigner,
  createVerifier,
  type KeyOptions,
  type SignatureAlgorithm,
  type Signer,
  type Verifier,
} from './signer.js'
export { type CurveBackend, curveBackend, nobleBackend, useCurveBackend } from './sm2/backend.js'
export { SM2_CURVE, SM2_CURVE_OID } from './sm2/curve.js'
export {
  SM2_MAX_PLAINTEXT_BYTES,
  type Sm2CiphertextFormat,
  type Sm2EncryptionOptions,
  sm2ConvertCiphertext,
  sm2Decrypt,
  sm2Encrypt,
} from './sm2/encryption.js'
export {
  type Sm2PrivateKeyFormat,
  sm2PrivateKeyFromPem,
  sm2PrivateKeyFromPkcs8,
  sm2PrivateKeyFromSec1,
  sm2PrivateKeyToPem,
  sm2PrivateKeyToPkcs8,
  sm2PrivateKeyToSec1,
  sm2PublicKeyFromPem,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToPem,
  sm2PublicKeyToSpki,
} from './sm2/key-encoding.js'
export {
  generateSm2KeyPair,
  SM2_PRIVATE_KEY_BYTES,
  SM2_PUBLIC_KEY_BYTES,
  type Sm2KeyPair,
  sm2PublicKeyFromPrivate,
  validateSm2PrivateKey,
  validateSm2PublicKey,
} from './sm2/keys.js'
export { loadOpensslBackend, opensslBackendLoadError } from './sm2/native-backend.js'
export {
  createSm2Signer,
  createSm2Verifier,
  SM2_DEFAULT_ID,
  SM2_MAX_ID_BYTES,
  type Sm2DigestSignatureOptions,
  type Sm2Id,
  type Sm2Message,
  type Sm2SignatureEncoding,
  type Sm2SignatureOptions,
  type Sm2Signer,
  type Sm2Verifier,
  sm2Digest,
  sm2Sign,
  sm2SignatureDerToRaw,
  sm2SignatureRawToDer,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2Za,
} from './sm2/signature.js'
export { createSm3, hmacSm3, hmacSm3Portable, type Sm3Hasher, sm3, sm3Portable } from './sm3.js'
export {
  createSm4BlockCipher,
  SM4_BLOCK_SIZE,
  SM4_KEY_SIZE,
  type Sm4BlockCipher,
  type Sm4Padding,
  type Sm4PaddingOptions,
  sm4Ctr,
  sm4DecryptBlock,
  sm4DecryptCbc,
  sm4DecryptEcb,
  sm4EncryptBlock,
  sm4EncryptCbc,
  sm4EncryptEcb,
} from './sm4.js'
export { SM4_GCM_NONCE_SIZE, SM4_GCM_TAG_SIZE, type Sm4GcmResult, sm4GcmDecrypt, sm4GcmEncrypt } from './sm4-gcm.js'
export * from './two-party/index.js'
