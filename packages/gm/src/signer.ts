import type * as NodeCrypto from 'node:crypto'
import { GmError } from './errors.js'
import { sm2PrivateKeyFromPem, sm2PublicKeyFromSpki, sm2PublicKeyToSpki } from './sm2/key-encoding.js'
import { createSm2Signer, createSm2Verifier, SM2_DEFAULT_ID, type Sm2Id } from './sm2/signature.js'

/** Every signature algorithm Yiqian signs or verifies with. SM2-SM3 is the default everywhere. */
export type SignatureAlgorithm = 'SM2-SM3' | 'ECDSA-P256-SHA256' | 'RSA-SHA256' | 'RSA-PSS-SHA256'

/**
 * Something that signs: a software key, an HSM key, a two-party session. `sign` hashes `data` itself as its
 * algorithm prescribes (SM2 with Z_A and the signer ID). Signatures are DER for SM2 and ECDSA, raw for RSA.
 */
export interface Signer {
  readonly algorithm: SignatureAlgorithm
  /** SubjectPublicKeyInfo, DER. */
  publicKey(): Uint8Array
  sign(data: Uint8Array): Promise<Uint8Array>
}

/** `verify` is false for a well-formed signature that does not verify; malformed input throws a GmError. */
export interface Verifier {
  readonly algorithm: SignatureAlgorithm
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>
}

const nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined

export function requireNodeCrypto(what: string): typeof NodeCrypto {
  if (!nodeCrypto) throw new GmError('UNSUPPORTED_ALGORITHM', `${what} needs Node.js crypto`)
  return nodeCrypto
}

/** RSA and ECDSA come from OpenSSL through Node: no reason to implement them again. */
export function nodeSignOptions(
  algorithm: Exclude<SignatureAlgorithm, 'SM2-SM3'>,
  key: NodeCrypto.KeyObject,
): NodeCrypto.SignKeyObjectInput | NodeCrypto.VerifyKeyObjectInput {
  const c = requireNodeCrypto(algorithm)
  switch (algorithm) {
    case 'ECDSA-P256-SHA256':
      return { key, dsaEncoding: 'der' }
    case 'RSA-SHA256':
      return { key, padding: c.constants.RSA_PKCS1_PADDING }
    case 'RSA-PSS-SHA256':
      // Salt length = hash length, as RFC 4055 and most verifiers (and OpenSSL's `-sigopt rsa_pss_saltlen:digest`) expect.
      return { key, padding: c.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
  }
}

export interface KeyOptions {
  /** Needed only to choose RSA-PSS over PKCS#1 v1.5 for an RSA key; otherwise read from the key. */
  readonly algorithm?: SignatureAlgorithm
  /** SM2 signer ID (default 1234567812345678); ignored by the other algorithms. */
  readonly id?: Sm2Id
}

function algorithmOf(key: NodeCrypto.KeyObject, requested: SignatureAlgorithm | undefined): SignatureAlgorithm {
  const type = key.asymmetricKeyType
  const curve = key.asymmetricKeyDetails?.namedCurve
  // Node 20 reports SM2 keys with no type at all (OpenSSL 3 gives them their own key type); our parser then decides.
  const found: SignatureAlgorithm | undefined =
    type === undefined || (type === 'ec' && curve === 'SM2')
      ? 'SM2-SM3'
      : type === 'ec' && curve === 'prime256v1'
        ? 'ECDSA-P256-SHA256'
        : type === 'rsa'
          ? requested === 'RSA-PSS-SHA256'
            ? 'RSA-PSS-SHA256'
            : 'RSA-SHA256'
          : type === 'rsa-pss'
            ? 'RSA-PSS-SHA256'
            : undefined
  if (!found) throw new GmError('UNSUPPORTED_ALGORITHM', `unsupported key: ${type} ${curve ?? ''}`.trim())
  if (requested && requested !== found) {
    throw new GmError('INVALID_ARGUMENT', `the key is for ${found}, not ${requested}`)
  }
  return found
}

/** A software signer from a PEM private key (PKCS#8, or SEC1 for EC keys). */
export function createSigner(privateKeyPem: string, options: KeyOptions = {}): Signer {
  const c = requireNodeCrypto('createSigner')
  let key: NodeCrypto.KeyObject
  try {
    key = c.createPrivateKey(privateKeyPem)
  } catch (error) {
    throw new GmError('INVALID_KEY', 'not a PEM private key that can be read', { cause: error })
  }
  const algorithm = algorithmOf(key, options.algorithm)
  if (algorithm === 'SM2-SM3') {
    // Node reads the key; the arithmetic is ours, because Node's SM2 signing ignores the signer ID.
    const sm2 = createSm2Signer(sm2PrivateKeyFromPem(privateKeyPem).privateKey)
    const spki = sm2PublicKeyToSpki(sm2.publicKey)
    return {
      algorithm,
      publicKey: () => spki.slice(),
      sign: async (data) => sm2.sign(data, { id: options.id ?? SM2_DEFAULT_ID }),
    }
  }
  const spki = new Uint8Array(c.createPublicKey(key).export({ type: 'spki', format: 'der' }))
  const signOptions = nodeSignOptions(algorithm, key)
  return {
    algorithm,
    publicKey: () => spki.slice(),
    sign: async (data) => new Uint8Array(c.sign('sha256', data, signOptions as NodeCrypto.SignKeyObjectInput)),
  }
}

/** A verifier from a public key: SubjectPublicKeyInfo as DER bytes or PEM. */
export function createVerifier(publicKey: Uint8Array | string, options: KeyOptions = {}): Verifier {
  const c = requireNodeCrypto('createVerifier')
  let key: NodeCrypto.KeyObject
  try {
    key =
      typeof publicKey === 'string'
        ? c.createPublicKey(publicKey)
        : c.createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' })
  } catch (error) {
    throw new GmError('INVALID_KEY', 'not a public key (SubjectPublicKeyInfo) that can be read', { cause: error })
  }
  const algorithm = algorithmOf(key, options.algorithm)
  if (algorithm === 'SM2-SM3') {
    const spki = new Uint8Array(key.export({ type: 'spki', format: 'der' }))
    const sm2 = createSm2Verifier(sm2PublicKeyFromSpki(spki))
    return {
      algorithm,
      verify: async (data, signature) => sm2.verify(data, signature, { id: options.id ?? SM2_DEFAULT_ID }),
    }
  }
  const verifyOptions = nodeSignOptions(algorithm, key)
  return {
    algorithm,
    verify: async (data, signature) =>
      c.verify('sha256', data, verifyOptions as NodeCrypto.VerifyKeyObjectInput, signature),
  }
}
