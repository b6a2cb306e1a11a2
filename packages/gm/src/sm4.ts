import type * as NodeCrypto from 'node:crypto'
import { GmError } from './errors.js'

// SM4 (GB/T 32907) through Node's OpenSSL, which implements ECB, CBC and CTR correctly. A static import would break
// the browser bundle, so Node's crypto is looked up at run time; browsers get UNSUPPORTED_ALGORITHM (they seal nothing).
const nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined

export const SM4_BLOCK_SIZE = 16
export const SM4_KEY_SIZE = 16

export type Sm4Padding = 'pkcs7' | 'none'

export interface Sm4PaddingOptions {
  /** PKCS #7 (the default) pads every message, even one that fills its last block; 'none' needs whole blocks. */
  padding?: Sm4Padding
}

function openssl(): typeof NodeCrypto {
  if (!nodeCrypto) throw new GmError('UNSUPPORTED_ALGORITHM', 'SM4 needs Node.js (OpenSSL); it is not available here')
  return nodeCrypto
}

/** Rejects anything but a Uint8Array (of `length` bytes when given) with INVALID_ARGUMENT. */
export function requireBytes(value: unknown, what: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', `${what} must be a Uint8Array`)
  if (length !== undefined && value.length !== length) {
    throw new GmError('INVALID_ARGUMENT', `${what} must be ${length} bytes, got ${value.length}`)
  }
}

function paddingOf(options: Sm4PaddingOptions | undefined): Sm4Padding {
  const padding = options?.padding ?? 'pkcs7'
  if (padding !== 'pkcs7' && padding !== 'none') throw new GmError('INVALID_ARGUMENT', 'padding must be pkcs7 or none')
  return padding
}

/** Runs a cipher over the whole input and returns a plain Uint8Array view (no second copy of the output). */
function run(cipher: NodeCrypto.Cipher | NodeCrypto.Decipher, input: Uint8Array): Uint8Array {
  const head = cipher.update(input)
  const tail = cipher.final()
  // Node allocates update()'s output for this call alone (not from its shared pool), so viewing it is safe.
  if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length)
  const out = new Uint8Array(head.length + tail.length)
  out.set(head)
  out.set(tail, head.length)
  head.fill(0)
  return out
}

function encrypt(
  algorithm: 'sm4-ecb' | 'sm4-cbc',
  key: Uint8Array,
  iv: Uint8Array | null,
  plaintext: Uint8Array,
  options: Sm4PaddingOptions | undefined,
): Uint8Array {
  const padding = paddingOf(options)
  requireBytes(plaintext, 'plaintext')
  if (padding === 'none' && plaintext.length % SM4_BLOCK_SIZE !== 0) {
    throw new GmError('INVALID_ARGUMENT', 'without padding the plaintext must be a whole number of 16-byte blocks')
  }
  const cipher = openssl().createCipheriv(algorithm, key, iv)
  cipher.setAutoPadding(padding === 'pkcs7')
  return run(cipher, plaintext)
}

function decrypt(
  algorithm: 'sm4-ecb' | 'sm4-cbc',
  key: Uint8Array,
  iv: Uint8Array | null,
  ciphertext: Uint8Array,
  options: Sm4PaddingOptions | undefined,
): Uint8Array {
  const padding = paddingOf(options)
  requireBytes(ciphertext, 'ciphertext')
  if (ciphertext.length % SM4_BLOCK_SIZE !== 0 || (padding === 'pkcs7' && ciphertext.length === 0)) {
    throw new GmError('INVALID_CIPHERTEXT', 'SM4 ciphertext must be a non-empty whole number of 16-byte blocks')
  }
  const decipher = openssl().createDecipheriv(algorithm, key, iv)
  // Padding is checked here rather than by OpenSSL so that the error is typed and the check does not branch per byte.
  decipher.setAutoPadding(false)
  const padded = run(decipher, ciphertext)
  return padding === 'pkcs7' ? unpad(padded) : padded
}

/** Strips PKCS #7 padding; every way it can be wrong gives the same error after the same work. */
function unpad(padded: Uint8Array): Uint8Array {
  const length = padded.length
  const count = padded[length - 1]!
  let bad = ((count - 1) | (SM4_BLOCK_SIZE - count)) >>> 31 // count outside [1, 16]
  for (let i = 1; i <= SM4_BLOCK_SIZE; i++) {
    const inPadding = (i - count - 1) >>> 31 // i <= count
    const differs = padded[length - i]! ^ count
    bad |= inPadding & ((differs | -differs) >>> 31)
  }
  if (bad !== 0) {
    padded.fill(0)
    throw new GmError('INVALID_CIPHERTEXT', 'SM4 padding is invalid')
  }
  return padded.subarray(0, length - count)
}

function checkKey(key: unknown): asserts key is Uint8Array {
  requireBytes(key, 'SM4 key', SM4_KEY_SIZE)
}

function checkIv(iv: unknown): asserts iv is Uint8Array {
  requireBytes(iv, 'SM4 IV', SM4_BLOCK_SIZE)
}

export function sm4EncryptEcb(key: Uint8Array, plaintext: Uint8Array, options?: Sm4PaddingOptions): Uint8Array {
  checkKey(key)
  return encrypt('sm4-ecb', key, null, plaintext, options)
}

export function sm4DecryptEcb(key: Uint8Array, ciphertext: Uint8Array, options?: Sm4PaddingOptions): Uint8Array {
  checkKey(key)
  return decrypt('sm4-ecb', key, null, ciphertext, options)
}

export function sm4EncryptCbc(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  options?: Sm4PaddingOptions,
): Uint8Array {
  checkKey(key)
  checkIv(iv)
  return encrypt('sm4-cbc', key, iv, plaintext, options)
}

/** CBC decryption with padding is a padding oracle if its errors reach an attacker: prefer `openSm4Gcm`. */
export function sm4DecryptCbc(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  options?: Sm4PaddingOptions,
): Uint8Array {
  checkKey(key)
  checkIv(iv)
  return decrypt('sm4-cbc', key, iv, ciphertext, options)
}

/**
 * SM4-CTR (encryption and decryption are the same). The IV is the first counter block, incremented as one 128-bit
 * big-endian integer, as OpenSSL does. A key/IV pair must never be used twice.
 */
export function sm4Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key)
  checkIv(iv)
  requireBytes(data, 'data')
  return run(openssl().createCipheriv('sm4-ctr', key, iv), data)
}

/** Single-block SM4 under one key, reusing one OpenSSL context for many blocks. */
export interface Sm4BlockCipher {
  encryptBlock(block: Uint8Array): Uint8Array
  decryptBlock(block: Uint8Array): Uint8Array
}

export function createSm4BlockCipher(key: Uint8Array): Sm4BlockCipher {
  checkKey(key)
  const crypto = openssl()
  // The contexts are made on first use: copy the key so that later changes to the caller's array do not leak in.
  const keyCopy = Uint8Array.from(key)
  let encryptor: NodeCrypto.Cipher | undefined
  let decryptor: NodeCrypto.Decipher | undefined
  // ECB without padding turns each 16-byte update into exactly one block out, with no final() needed.
  const once = (context: NodeCrypto.Cipher | NodeCrypto.Decipher, block: Uint8Array): Uint8Array => {
    requireBytes(block, 'SM4 block', SM4_BLOCK_SIZE)
    const out = context.update(block)
    const copy = new Uint8Array(out)
    out.fill(0)
    return copy
  }
  return {
    encryptBlock(block) {
      encryptor ??= crypto.createCipheriv('sm4-ecb', keyCopy, null).setAutoPadding(false)
      return once(encryptor, block)
    },
    decryptBlock(block) {
      decryptor ??= crypto.createDecipheriv('sm4-ecb', keyCopy, null).setAutoPadding(false)
      return once(decryptor, block)
    },
  }
}

/** SM4 applied to one 16-byte block: the primitive of GB/T 32907's test vectors. */
export function sm4EncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return createSm4BlockCipher(key).encryptBlock(block)
}

export function sm4DecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return createSm4BlockCipher(key).decryptBlock(block)
}
