import { ECParameters, ECPrivateKey, id_ecPublicKey } from '@peculiar/asn1-ecc'
import { PrivateKeyInfo } from '@peculiar/asn1-pkcs8'
import { OctetString } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509'
import { equalBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { curveBackend } from './backend.js'
import { encodePoint, SM2_CURVE_OID } from './curve.js'
import { parseStrictDer, serializeDer } from './der.js'
import { type Sm2KeyPair, sm2PrivateScalar, sm2PublicPoint } from './keys.js'
import { derToPem, pemToDer } from './pem.js'
import { bigIntToBytes32 } from './scalar-bytes.js'

// The encodings OpenSSL 3.0 writes for SM2 keys: id-ecPublicKey with the named curve 1.2.156.10197.1.301 (GM/T 0010,
// RFC 5915/5480 structures). Explicit curve parameters, compressed points and SM2-specific algorithm OIDs that some
// older toolkits wrote are rejected: they would not load in OpenSSL either.

export type Sm2PrivateKeyFormat = 'pkcs8' | 'sec1'

export const PEM_LABEL_PKCS8 = 'PRIVATE KEY'
export const PEM_LABEL_SEC1 = 'EC PRIVATE KEY'
/** What `openssl ec` writes for an SM2 key; accepted on input only. */
export const PEM_LABEL_SEC1_OPENSSL_SM2 = 'SM2 PRIVATE KEY'
export const PEM_LABEL_SPKI = 'PUBLIC KEY'

/** ECParameters namedCurve for SM2, as it appears in AlgorithmIdentifier.parameters: 06 08 2A 81 1C CF 55 01 82 2D. */
const SM2_NAMED_CURVE_DER = serializeDer(new ECParameters({ namedCurve: SM2_CURVE_OID }))

function sm2AlgorithmIdentifier(): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters: SM2_NAMED_CURVE_DER.slice().buffer })
}

function requireSm2Algorithm(algorithm: AlgorithmIdentifier): void {
  if (algorithm.algorithm !== id_ecPublicKey) {
    throw new GmError('UNSUPPORTED_ALGORITHM', `not an EC key (algorithm ${algorithm.algorithm})`)
  }
  if (!algorithm.parameters || !equalBytes(new Uint8Array(algorithm.parameters), SM2_NAMED_CURVE_DER)) {
    throw new GmError('UNSUPPORTED_ALGORITHM', `not the SM2 named curve ${SM2_CURVE_OID}`)
  }
}

export function sm2PublicKeyToSpki(publicKey: Uint8Array): Uint8Array {
  sm2PublicPoint(publicKey)
  return serializeDer(
    new SubjectPublicKeyInfo({ algorithm: sm2AlgorithmIdentifier(), subjectPublicKey: publicKey.slice().buffer }),
  )
}

/** The raw public key 04‖x‖y from SubjectPublicKeyInfo DER. */
export function sm2PublicKeyFromSpki(der: Uint8Array): Uint8Array {
  const info = parseStrictDer(der, SubjectPublicKeyInfo, 'INVALID_ENCODING', 'SubjectPublicKeyInfo')
  requireSm2Algorithm(info.algorithm)
  const publicKey = new Uint8Array(info.subjectPublicKey)
  sm2PublicPoint(publicKey)
  return publicKey
}

function toEcPrivateKey(privateKey: Uint8Array, withParameters: boolean): { der: Uint8Array; publicKey: Uint8Array } {
  const d = sm2PrivateScalar(privateKey)
  const publicKey = encodePoint(curveBackend().mulBase(d))
  const key = new ECPrivateKey({
    version: 1,
    privateKey: new OctetString(bigIntToBytes32(d)),
    publicKey: publicKey.slice().buffer,
  })
  if (withParameters) key.parameters = new ECParameters({ namedCurve: SM2_CURVE_OID })
  return { der: serializeDer(key), publicKey }
}

/** Inside PKCS#8 the curve is already named by the AlgorithmIdentifier, so ECPrivateKey.parameters is optional. */
function fromEcPrivateKey(key: ECPrivateKey, requireParameters: boolean): Sm2KeyPair {
  if (key.version !== 1) throw new GmError('INVALID_KEY', 'ECPrivateKey version is not 1')
  if (key.parameters) {
    if (key.parameters.namedCurve !== SM2_CURVE_OID) {
      throw new GmError('UNSUPPORTED_ALGORITHM', `not the SM2 named curve ${SM2_CURVE_OID}`)
    }
  } else if (requireParameters) {
    throw new GmError('INVALID_KEY', 'SEC1 ECPrivateKey does not name its curve')
  }
  const privateKey = new Uint8Array(key.privateKey.buffer)
  const d = sm2PrivateScalar(privateKey)
  const publicKey = encodePoint(curveBackend().mulBase(d))
  if (key.publicKey !== undefined) {
    const embedded = new Uint8Array(key.publicKey)
    sm2PublicPoint(embedded)
    if (!equalBytes(embedded, publicKey)) throw new GmError('INVALID_KEY', 'embedded public key does not match d')
  }
  return { privateKey: privateKey.slice(), publicKey }
}

/** PKCS#8 PrivateKeyInfo DER (the "PRIVATE KEY" of `openssl genpkey`), with the public key inside. */
export function sm2PrivateKeyToPkcs8(privateKey: Uint8Array): Uint8Array {
  const inner = toEcPrivateKey(privateKey, false)
  return serializeDer(
    new PrivateKeyInfo({
      version: 0,
      privateKeyAlgorithm: sm2AlgorithmIdentifier(),
      privateKey: new OctetString(inner.der),
    }),
  )
}

export function sm2PrivateKeyFromPkcs8(der: Uint8Array): Sm2KeyPair {
  const info = parseStrictDer(der, PrivateKeyInfo, 'INVALID_ENCODING', 'PKCS#8 PrivateKeyInfo')
  if (info.version !== 0) throw new GmError('INVALID_KEY', 'PrivateKeyInfo version is not 0')
  requireSm2Algorithm(info.privateKeyAlgorithm)
  const inner = parseStrictDer(new Uint8Array(info.privateKey.buffer), ECPrivateKey, 'INVALID_ENCODING', 'ECPrivateKey')
  return fromEcPrivateKey(inner, false)
}

/** SEC 1 / RFC 5915 ECPrivateKey DER with the SM2 named curve and the public key. */
export function sm2PrivateKeyToSec1(privateKey: Uint8Array): Uint8Array {
  return toEcPrivateKey(privateKey, true).der
}

export function sm2PrivateKeyFromSec1(der: Uint8Array): Sm2KeyPair {
  return fromEcPrivateKey(parseStrictDer(der, ECPrivateKey, 'INVALID_ENCODING', 'ECPrivateKey'), true)
}

export function sm2PrivateKeyToPem(privateKey: Uint8Array, format: Sm2PrivateKeyFormat = 'pkcs8'): string {
  if (format === 'pkcs8') return derToPem(sm2PrivateKeyToPkcs8(privateKey), PEM_LABEL_PKCS8)
  if (format === 'sec1') return derToPem(sm2PrivateKeyToSec1(privateKey), PEM_LABEL_SEC1)
  throw new GmError('INVALID_ARGUMENT', `unknown private key format ${String(format)}`)
}

/** "PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY" or "SM2 PRIVATE KEY" (SEC 1). Encrypted PKCS#8 is not supported. */
export function sm2PrivateKeyFromPem(pem: string): Sm2KeyPair {
  const { label, der } = pemToDer(pem, [PEM_LABEL_PKCS8, PEM_LABEL_SEC1, PEM_LABEL_SEC1_OPENSSL_SM2])
  return label === PEM_LABEL_PKCS8 ? sm2PrivateKeyFromPkcs8(der) : sm2PrivateKeyFromSec1(der)
}

export function sm2PublicKeyToPem(publicKey: Uint8Array): string {
  return derToPem(sm2PublicKeyToSpki(publicKey), PEM_LABEL_SPKI)
}

export function sm2PublicKeyFromPem(pem: string): Uint8Array {
  return sm2PublicKeyFromSpki(pemToDer(pem, [PEM_LABEL_SPKI]).der)
}
