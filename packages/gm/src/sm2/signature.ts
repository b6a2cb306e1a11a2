import { ECDSASigValue } from '@peculiar/asn1-ecc'
import { bytesToHex, equalBytes, toBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { sm3 } from '../sm3.js'
import { curveBackend } from './backend.js'
import { type AffinePoint, encodePoint, invert, mod, N, SM2_CURVE } from './curve.js'
import { parseStrictDer, signatureValueDer, unsignedIntegerFromContents } from './der.js'
import { SM2_PRIVATE_KEY_BYTES, sm2PrivateScalar, sm2PublicPoint } from './keys.js'
import { bigIntFromBytes32, bigIntToBytes32, randomScalar } from './scalar-bytes.js'

// SM2 digital signatures, GB/T 32918.2 (GM/T 0003.2) with Z_A from the signer's distinguishing identifier, and the
// signature encodings of GM/T 0009: DER ECDSA-Sig-Value (SM2Signature) or raw r‖s.

/** The identifier GM/T 0009 prescribes when the parties agreed on none. OpenSSL 3.0's default is the EMPTY id. */
export const SM2_DEFAULT_ID = '1234567812345678'
/** ENTL is a 16-bit count of bits. */
export const SM2_MAX_ID_BYTES = 8191
export const SM2_RAW_SIGNATURE_BYTES = 64

/** A distinguishing identifier: bytes as given, strings as UTF-8. */
export type Sm2Id = Uint8Array | string
export type Sm2SignatureEncoding = 'der' | 'raw'
export type Sm2Message = Uint8Array | string

export interface Sm2SignatureOptions {
  /** The signer's distinguishing identifier; defaults to SM2_DEFAULT_ID. Verifier and signer must agree. */
  readonly id?: Sm2Id
  /** 'der' (default): ECDSA-Sig-Value SEQUENCE { r, s }; 'raw': r‖s, 64 bytes. */
  readonly encoding?: Sm2SignatureEncoding
}

export interface Sm2DigestSignatureOptions {
  readonly encoding?: Sm2SignatureEncoding
}

export interface Sm2Signer {
  /** 04‖x‖y (a fresh copy). */
  readonly publicKey: Uint8Array
  sign(message: Sm2Message, options?: Sm2SignatureOptions): Uint8Array
  /** Signs e = SM3(Z_A ‖ M) computed elsewhere (32 bytes). */
  signDigest(digest: Uint8Array, options?: Sm2DigestSignatureOptions): Uint8Array
  /** e = SM3(Z_A ‖ M). */
  digest(message: Sm2Message, id?: Sm2Id): Uint8Array
}

export interface Sm2Verifier {
  readonly publicKey: Uint8Array
  /** False when a well-formed signature does not verify; a malformed one throws INVALID_SIGNATURE. */
  verify(message: Sm2Message, signature: Uint8Array, options?: Sm2SignatureOptions): boolean
  verifyDigest(digest: Uint8Array, signature: Uint8Array, options?: Sm2DigestSignatureOptions): boolean
  digest(message: Sm2Message, id?: Sm2Id): Uint8Array
}

/** a ‖ b ‖ xG ‖ yG, the fixed middle of Z_A. */
const CURVE_BYTES = (() => {
  const out = new Uint8Array(128)
  bigIntToBytes32(SM2_CURVE.a, out, 0)
  bigIntToBytes32(SM2_CURVE.b, out, 32)
  bigIntToBytes32(SM2_CURVE.Gx, out, 64)
  bigIntToBytes32(SM2_CURVE.Gy, out, 96)
  return out
})()

const ZA_CACHE_ENTRIES = 16

function checkId(id: Sm2Id): void {
  if (typeof id !== 'string' && !(id instanceof Uint8Array)) {
    throw new GmError('INVALID_ARGUMENT', 'an SM2 identifier is a string or a Uint8Array')
  }
  // A string has at least as many UTF-8 bytes as UTF-16 code units, so this also bounds the work for strings.
  if (id.length > SM2_MAX_ID_BYTES) {
    throw new GmError('INVALID_ARGUMENT', `an SM2 identifier is at most ${SM2_MAX_ID_BYTES} bytes`)
  }
}

function zaCacheKey(id: Sm2Id): string {
  checkId(id)
  return typeof id === 'string' ? `s${id}` : `b${bytesToHex(id)}`
}

function idBytes(id: Sm2Id): Uint8Array {
  checkId(id)
  const bytes = toBytes(id)
  if (bytes.length > SM2_MAX_ID_BYTES) {
    throw new GmError('INVALID_ARGUMENT', `an SM2 identifier is at most ${SM2_MAX_ID_BYTES} bytes`)
  }
  return bytes
}

/** Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) over an already validated 04‖x‖y. */
function computeZa(publicKey: Uint8Array, id: Uint8Array): Uint8Array {
  const bits = id.length * 8
  const data = new Uint8Array(2 + id.length + 128 + 64)
  data[0] = bits >>> 8
  data[1] = bits & 0xff
  data.set(id, 2)
  data.set(CURVE_BYTES, 2 + id.length)
  data.set(publicKey.subarray(1), 2 + id.length + 128)
  return sm3(data)
}

function messageBytes(message: Sm2Message): Uint8Array {
  if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
    throw new GmError('INVALID_ARGUMENT', 'a message is a string or a Uint8Array')
  }
  return toBytes(message)
}

function digestScalar(digest: Uint8Array): bigint {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new GmError('INVALID_ARGUMENT', 'an SM2 digest e is 32 bytes (SM3)')
  }
  return bigIntFromBytes32(digest)
}

function encodingOf(options: Sm2DigestSignatureOptions | undefined): Sm2SignatureEncoding {
  const encoding = options?.encoding ?? 'der'
  if (encoding !== 'der' && encoding !== 'raw') {
    throw new GmError('INVALID_ARGUMENT', `unknown signature encoding ${String(encoding)}`)
  }
  return encoding
}

function encodeSignature(r: bigint, s: bigint, encoding: Sm2SignatureEncoding): Uint8Array {
  if (encoding === 'raw') {
    const out = new Uint8Array(SM2_RAW_SIGNATURE_BYTES)
    bigIntToBytes32(r, out, 0)
    return bigIntToBytes32(s, out, 32)
  }
  return signatureValueDer(r, s)
}

/** (r, s), each in [1, n-1], from a strictly encoded signature; INVALID_SIGNATURE otherwise. */
function decodeSignature(signature: Uint8Array, encoding: Sm2SignatureEncoding): { r: bigint; s: bigint } {
  if (!(signature instanceof Uint8Array)) throw new GmError('INVALID_SIGNATURE', 'a signature is a Uint8Array')
  let r: bigint | undefined
  let s: bigint | undefined
  if (encoding === 'raw') {
    if (signature.length !== SM2_RAW_SIGNATURE_BYTES) {
      throw new GmError('INVALID_SIGNATURE', `a raw SM2 signature is ${SM2_RAW_SIGNATURE_BYTES} bytes (r‖s)`)
    }
    r = bigIntFromBytes32(signature, 0)
    s = bigIntFromBytes32(signature, 32)
  } else {
    const value = parseStrictDer(signature, ECDSASigValue, 'INVALID_SIGNATURE', 'SM2 signature')
    r = unsignedIntegerFromContents(value.r)
    s = unsignedIntegerFromContents(value.s)
    if (r === undefined || s === undefined) {
      throw new GmError('INVALID_SIGNATURE', 'SM2 signature INTEGER is empty, negative or not minimal')
    }
  }
  if (r < 1n || r >= N || s < 1n || s >= N) throw new GmError('INVALID_SIGNATURE', 'r or s is not in [1, n-1]')
  return { r, s }
}

/** A validated public key with its Z_A per identifier, shared by verification and signing. */
class PublicKeyContext implements Sm2Verifier {
  readonly bytes: Uint8Array
  readonly point: AffinePoint
  private readonly zaCache = new Map<string, Uint8Array>()

  constructor(publicKey: Uint8Array) {
    this.point = sm2PublicPoint(publicKey)
    this.bytes = publicKey.slice()
  }

  get publicKey(): Uint8Array {
    return this.bytes.slice()
  }

  za(id: Sm2Id = SM2_DEFAULT_ID): Uint8Array {
    const cacheKey = zaCacheKey(id)
    const cached = this.zaCache.get(cacheKey)
    if (cached) return cached
    const za = computeZa(this.bytes, idBytes(id))
    if (this.zaCache.size >= ZA_CACHE_ENTRIES) this.zaCache.delete(this.zaCache.keys().next().value!)
    this.zaCache.set(cacheKey, za)
    return za
  }

  digest(message: Sm2Message, id?: Sm2Id): Uint8Array {
    const m = messageBytes(message)
    const za = this.za(id)
    const data = new Uint8Array(32 + m.length)
    data.set(za, 0)
    data.set(m, 32)
    return sm3(data)
  }

  verify(message: Sm2Message, signature: Uint8Array, options?: Sm2SignatureOptions): boolean {
    const { r, s } = decodeSignature(signature, encodingOf(options))
    return this.verifyScalars(bigIntFromBytes32(this.digest(message, options?.id)), r, s)
  }

  verifyDigest(digest: Uint8Array, signature: Uint8Array, options?: Sm2DigestSignatureOptions): boolean {
    const e = digestScalar(digest)
    const { r, s } = decodeSignature(signature, encodingOf(options))
    return this.verifyScalars(e, r, s)
  }

  /** GB/T 32918.2 §7.1 B5–B7 with r, s already checked to be in [1, n-1]. */
  private verifyScalars(e: bigint, r: bigint, s: bigint): boolean {
    const t = (r + s) % N
    if (t === 0n) return false
    const sum = curveBackend().mulAdd(s, t, this.point)
    if (sum === undefined) return false
    return (e + sum.x) % N === r
  }
}

/**
 * A private key with (1 + d)^-1 precomputed and its public key context for Z_A. The secrets live in # fields so
 * that they do not show up when a signer object is logged or serialised.
 */
class PrivateKeyContext implements Sm2Signer {
  readonly #bytes: Uint8Array
  readonly #d: bigint
  readonly #inverseOfOnePlusD: bigint
  readonly #pub: PublicKeyContext

  constructor(privateKey: Uint8Array) {
    this.#d = sm2PrivateScalar(privateKey)
    this.#bytes = privateKey.slice()
    this.#inverseOfOnePlusD = invert(this.#d + 1n, N)
    this.#pub = new PublicKeyContext(encodePoint(curveBackend().mulBase(this.#d)))
  }

  /** Whether this context was made from these key bytes (constant time). */
  isFor(privateKey: Uint8Array): boolean {
    return equalBytes(this.#bytes, privateKey)
  }

  get publicKey(): Uint8Array {
    return this.#pub.publicKey
  }

  digest(message: Sm2Message, id?: Sm2Id): Uint8Array {
    return this.#pub.digest(message, id)
  }

  sign(message: Sm2Message, options?: Sm2SignatureOptions): Uint8Array {
    const encoding = encodingOf(options)
    return this.#signScalar(bigIntFromBytes32(this.#pub.digest(message, options?.id)), encoding)
  }

  signDigest(digest: Uint8Array, options?: Sm2DigestSignatureOptions): Uint8Array {
    return this.#signScalar(digestScalar(digest), encodingOf(options))
  }

  /** GB/T 32918.2 §6.1 A3–A6: a fresh k until r ≠ 0, r + k ≠ n and s ≠ 0. */
  #signScalar(e: bigint, encoding: Sm2SignatureEncoding): Uint8Array {
    const backend = curveBackend()
    for (;;) {
      const k = randomScalar(N - 1n)
      const r = (e + backend.mulBase(k).x) % N
      if (r === 0n || r + k === N) continue
      const s = (this.#inverseOfOnePlusD * mod(k - r * this.#d, N)) % N
      if (s === 0n) continue
      return encodeSignature(r, s, encoding)
    }
  }
}

// One-shot calls reuse the context of a key array they have seen, as long as its bytes have not changed: Z_A,
// (1 + d)^-1 and the public key are then not recomputed per call. The cache dies with the key array.
const publicContexts = new WeakMap<Uint8Array, PublicKeyContext>()
const privateContexts = new WeakMap<Uint8Array, PrivateKeyContext>()

function publicContext(publicKey: Uint8Array): PublicKeyContext {
  if (!(publicKey instanceof Uint8Array)) throw new GmError('INVALID_POINT', 'an SM2 public key is a Uint8Array')
  const cached = publicContexts.get(publicKey)
  if (cached && equalBytes(cached.bytes, publicKey)) return cached
  const context = new PublicKeyContext(publicKey)
  publicContexts.set(publicKey, context)
  return context
}

function privateContext(privateKey: Uint8Array): PrivateKeyContext {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== SM2_PRIVATE_KEY_BYTES) {
    throw new GmError('INVALID_KEY', 'an SM2 private key is 32 bytes')
  }
  const cached = privateContexts.get(privateKey)
  if (cached?.isFor(privateKey)) return cached
  const context = new PrivateKeyContext(privateKey)
  privateContexts.set(privateKey, context)
  return context
}

/** A signer for repeated use: validates the key, derives the public key and (1 + d)^-1 once, caches Z_A per ID. */
export function createSm2Signer(privateKey: Uint8Array): Sm2Signer {
  return new PrivateKeyContext(privateKey)
}

export function createSm2Verifier(publicKey: Uint8Array): Sm2Verifier {
  return new PublicKeyContext(publicKey)
}

/** Z_A for a public key 04‖x‖y and a distinguishing identifier (default '1234567812345678'). */
export function sm2Za(publicKey: Uint8Array, id: Sm2Id = SM2_DEFAULT_ID): Uint8Array {
  return publicContext(publicKey).za(id).slice()
}

/** e = SM3(Z_A ‖ M), the value that is actually signed. */
export function sm2Digest(message: Sm2Message, publicKey: Uint8Array, id: Sm2Id = SM2_DEFAULT_ID): Uint8Array {
  return publicContext(publicKey).digest(message, id)
}

export function sm2Sign(message: Sm2Message, privateKey: Uint8Array, options?: Sm2SignatureOptions): Uint8Array {
  return privateContext(privateKey).sign(message, options)
}

export function sm2SignDigest(
  digest: Uint8Array,
  privateKey: Uint8Array,
  options?: Sm2DigestSignatureOptions,
): Uint8Array {
  return privateContext(privateKey).signDigest(digest, options)
}

export function sm2Verify(
  message: Sm2Message,
  signature: Uint8Array,
  publicKey: Uint8Array,
  options?: Sm2SignatureOptions,
): boolean {
  return publicContext(publicKey).verify(message, signature, options)
}

export function sm2VerifyDigest(
  digest: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
  options?: Sm2DigestSignatureOptions,
): boolean {
  return publicContext(publicKey).verifyDigest(digest, signature, options)
}

/** r‖s (64 bytes) from a strict DER signature; INVALID_SIGNATURE for anything malformed. */
export function sm2SignatureDerToRaw(der: Uint8Array): Uint8Array {
  const { r, s } = decodeSignature(der, 'der')
  return encodeSignature(r, s, 'raw')
}

export function sm2SignatureRawToDer(raw: Uint8Array): Uint8Array {
  const { r, s } = decodeSignature(raw, 'raw')
  return encodeSignature(r, s, 'der')
}
