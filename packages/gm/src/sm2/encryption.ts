import { AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema'
import { concatBytes, equalBytes, toBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { kdf } from '../kdf.js'
import { sm3 } from '../sm3.js'
import { curveBackend } from './backend.js'
import { type AffinePoint, decodePoint, encodePoint, N, validatePoint } from './curve.js'
import { parseStrictDer, serializeDer, unsignedIntegerContents, unsignedIntegerFromContents } from './der.js'
import { sm2PrivateScalar, sm2PublicPoint } from './keys.js'
import { bigIntToBytes32, randomScalar } from './scalar-bytes.js'

// SM2 public-key encryption (GB/T 32918.4 / GM/T 0003.4) for digital envelopes. Two wire forms:
// - 'c1c3c2': 04‖x1‖y1 ‖ C3 (32 bytes) ‖ C2, the order of GB/T 32918.4-2016 (not the C1C2C3 of GM/T 0003-2012);
// - 'asn1': GM/T 0009 SM2Cipher, what OpenSSL 3.0 `pkeyutl -encrypt` writes.

export type Sm2CiphertextFormat = 'c1c3c2' | 'asn1'

export interface Sm2EncryptionOptions {
  /** Default 'c1c3c2'. */
  readonly format?: Sm2CiphertextFormat
}

/** Envelopes carry keys, not bulk data; the bound keeps hostile inputs from costing more than a moment. */
export const SM2_MAX_PLAINTEXT_BYTES = 16 * 1024 * 1024
const C1_BYTES = 65
const C3_BYTES = 32

/**
 * GM/T 0009 §7.2:
 *   SM2Cipher ::= SEQUENCE { XCoordinate INTEGER, YCoordinate INTEGER, HASH OCTET STRING SIZE(32),
 *                            CipherText OCTET STRING }
 * No @peculiar package defines it. Its decorators are plain functions, applied by hand below because the shared
 * tsconfig does not enable experimentalDecorators.
 */
class Sm2Cipher {
  xCoordinate: ArrayBuffer = new ArrayBuffer(0)
  yCoordinate: ArrayBuffer = new ArrayBuffer(0)
  hash: ArrayBuffer = new ArrayBuffer(0)
  cipherText: ArrayBuffer = new ArrayBuffer(0)
}
AsnType({ type: AsnTypeTypes.Sequence })(Sm2Cipher)
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(Sm2Cipher.prototype, 'xCoordinate')
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(Sm2Cipher.prototype, 'yCoordinate')
AsnProp({ type: AsnPropTypes.OctetString })(Sm2Cipher.prototype, 'hash')
AsnProp({ type: AsnPropTypes.OctetString })(Sm2Cipher.prototype, 'cipherText')

interface CiphertextParts {
  readonly c1: AffinePoint
  readonly c3: Uint8Array
  readonly c2: Uint8Array
}

function formatOf(options: Sm2EncryptionOptions | undefined): Sm2CiphertextFormat {
  const format = options?.format ?? 'c1c3c2'
  if (format !== 'c1c3c2' && format !== 'asn1') {
    throw new GmError('INVALID_ARGUMENT', `unknown SM2 ciphertext format ${String(format)}`)
  }
  return format
}

function encodeCiphertext(parts: CiphertextParts, format: Sm2CiphertextFormat): Uint8Array {
  if (format === 'c1c3c2') return concatBytes(encodePoint(parts.c1), parts.c3, parts.c2)
  const cipher = new Sm2Cipher()
  cipher.xCoordinate = unsignedIntegerContents(parts.c1.x)
  cipher.yCoordinate = unsignedIntegerContents(parts.c1.y)
  cipher.hash = parts.c3.slice().buffer
  cipher.cipherText = parts.c2.slice().buffer
  return serializeDer(cipher)
}

/** Structure and C1 only; throws GmErrors of various codes that the callers turn into INVALID_CIPHERTEXT. */
function decodeCiphertext(ciphertext: Uint8Array, format: Sm2CiphertextFormat): CiphertextParts {
  if (!(ciphertext instanceof Uint8Array)) throw new GmError('INVALID_CIPHERTEXT', 'a ciphertext is a Uint8Array')
  const maxBytes = SM2_MAX_PLAINTEXT_BYTES + 256
  if (format === 'c1c3c2') {
    if (ciphertext.length <= C1_BYTES + C3_BYTES || ciphertext.length > maxBytes) {
      throw new GmError('INVALID_CIPHERTEXT', 'SM2 ciphertext length out of range')
    }
    return {
      c1: decodePoint(ciphertext.subarray(0, C1_BYTES)),
      c3: ciphertext.slice(C1_BYTES, C1_BYTES + C3_BYTES),
      c2: ciphertext.slice(C1_BYTES + C3_BYTES),
    }
  }
  const cipher = parseStrictDer(ciphertext, Sm2Cipher, 'INVALID_CIPHERTEXT', 'SM2Cipher', maxBytes)
  const x = unsignedIntegerFromContents(cipher.xCoordinate)
  const y = unsignedIntegerFromContents(cipher.yCoordinate)
  if (x === undefined || y === undefined) throw new GmError('INVALID_CIPHERTEXT', 'SM2Cipher coordinate malformed')
  const c3 = new Uint8Array(cipher.hash)
  const c2 = new Uint8Array(cipher.cipherText)
  if (c3.length !== C3_BYTES || c2.length === 0) throw new GmError('INVALID_CIPHERTEXT', 'SM2Cipher field lengths')
  const c1 = { x, y }
  validatePoint(c1)
  return { c1, c3, c2 }
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

/** KDF(x2‖y2, klen) and C3's hash input share x2 and y2 as 32-byte strings. */
function sharedSecretBytes(shared: AffinePoint): { x2: Uint8Array; y2: Uint8Array; x2y2: Uint8Array } {
  const x2y2 = new Uint8Array(64)
  bigIntToBytes32(shared.x, x2y2, 0)
  bigIntToBytes32(shared.y, x2y2, 32)
  return { x2: x2y2.subarray(0, 32), y2: x2y2.subarray(32), x2y2 }
}

/** GB/T 32918.4 §6.1: C1 = k·G, (x2, y2) = k·P_B, t = KDF(x2‖y2, klen) ≠ 0, C2 = M ⊕ t, C3 = SM3(x2‖M‖y2). */
export function sm2Encrypt(
  publicKey: Uint8Array,
  plaintext: Uint8Array | string,
  options?: Sm2EncryptionOptions,
): Uint8Array {
  const format = formatOf(options)
  const point = sm2PublicPoint(publicKey)
  if (typeof plaintext !== 'string' && !(plaintext instanceof Uint8Array)) {
    throw new GmError('INVALID_ARGUMENT', 'a plaintext is a string or a Uint8Array')
  }
  const m = toBytes(plaintext)
  // With klen = 0 the all-zero test on t can never pass; OpenSSL refuses empty plaintexts too.
  if (m.length === 0) throw new GmError('INVALID_ARGUMENT', 'SM2 cannot encrypt an empty plaintext')
  if (m.length > SM2_MAX_PLAINTEXT_BYTES) {
    throw new GmError('INVALID_ARGUMENT', `SM2 plaintexts are limited to ${SM2_MAX_PLAINTEXT_BYTES} bytes`)
  }
  const backend = curveBackend()
  for (;;) {
    const k = randomScalar(N - 1n)
    const c1 = backend.mulBase(k)
    const { x2, y2, x2y2 } = sharedSecretBytes(backend.mul(k, point))
    const t = kdf(x2y2, m.length)
    if (isAllZero(t)) continue
    const c2 = new Uint8Array(m.length)
    for (let i = 0; i < m.length; i++) c2[i] = m[i]! ^ t[i]!
    const c3 = sm3(concatBytes(x2, m, y2))
    return encodeCiphertext({ c1, c3, c2 }, format)
  }
}

/**
 * GB/T 32918.4 §7.1. Every ciphertext problem — structure, C1 off the curve, all-zero t, C3 mismatch — is the same
 * INVALID_CIPHERTEXT with the same message, so that a decryption oracle learns nothing about which check failed.
 */
export function sm2Decrypt(privateKey: Uint8Array, ciphertext: Uint8Array, options?: Sm2EncryptionOptions): Uint8Array {
  const d = sm2PrivateScalar(privateKey)
  const format = formatOf(options)
  let plaintext: Uint8Array | undefined
  try {
    const { c1, c3, c2 } = decodeCiphertext(ciphertext, format)
    const { x2, y2, x2y2 } = sharedSecretBytes(curveBackend().mul(d, c1))
    const t = kdf(x2y2, c2.length)
    const m = new Uint8Array(c2.length)
    for (let i = 0; i < c2.length; i++) m[i] = c2[i]! ^ t[i]!
    const u = sm3(concatBytes(x2, m, y2))
    // Both checks always run; only their combined result is used.
    const tIsZero = isAllZero(t)
    const hashMatches = equalBytes(u, c3)
    if (hashMatches && !tIsZero) plaintext = m
  } catch {
    plaintext = undefined
  }
  if (plaintext === undefined) throw new GmError('INVALID_CIPHERTEXT', 'SM2 decryption failed')
  return plaintext
}

/** Re-encodes a ciphertext between the two forms after checking its structure and C1 (not C3: that needs the key). */
export function sm2ConvertCiphertext(
  ciphertext: Uint8Array,
  from: Sm2CiphertextFormat,
  to: Sm2CiphertextFormat,
): Uint8Array {
  const source = formatOf({ format: from })
  const target = formatOf({ format: to })
  let parts: CiphertextParts
  try {
    parts = decodeCiphertext(ciphertext, source)
  } catch {
    throw new GmError('INVALID_CIPHERTEXT', 'malformed SM2 ciphertext')
  }
  return encodeCiphertext(parts, target)
}
