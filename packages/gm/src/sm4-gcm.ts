import { concatBytes, equalBytes } from './bytes.js'
import { GmError } from './errors.js'
import { createSm4BlockCipher, requireBytes, SM4_BLOCK_SIZE, SM4_KEY_SIZE, sm4Ctr } from './sm4.js'

// SM4-GCM exactly as NIST SP 800-38D (and RFC 8998). Node has no SM4-GCM, so it is composed here: SM4-CTR from
// OpenSSL for the keystream, GHASH in TypeScript.

export const SM4_GCM_NONCE_SIZE = 12
export const SM4_GCM_TAG_SIZE = 16
/** SP 800-38D: at most 2^39 − 256 bits of plaintext per invocation. */
export const SM4_GCM_MAX_PLAINTEXT = 2 ** 36 - 32

export interface Sm4GcmResult {
  ciphertext: Uint8Array
  tag: Uint8Array
}

const EMPTY = new Uint8Array(0)
const ZERO_BLOCK = new Uint8Array(SM4_BLOCK_SIZE)

/**
 * Shoup's 8-bit method: multiplying by x^8 shifts one byte out of the low end; REDUCE_BYTE[b] is what that byte
 * contributes back at the top (x^128 = 1 + x + x^2 + x^7, bits reflected as GCM writes them), already in place in
 * the high 16 bits of the first word.
 */
const REDUCE_BYTE = Int32Array.from({ length: 256 }, (_, byte) => {
  let r = 0
  for (let j = 0; j < 8; j++) if (byte & (0x80 >> j)) r ^= 0xe100 >> j
  return r << 16
})

/**
 * The per-key table: entry b (four big-endian 32-bit words) is b·H for every byte b. 4 KiB, built in a few
 * microseconds; 32-bit limbs measured about 40 times faster than BigInt here.
 */
function multiplicationTable(hashSubkey: Uint8Array): Int32Array {
  const table = new Int32Array(256 * 4)
  // The byte 0x80 is the polynomial 1 (GCM numbers bits from the most significant end), so its entry is H itself.
  for (let w = 0; w < 4; w++) {
    const o = 4 * w
    table[512 + w] =
      (hashSubkey[o]! << 24) | (hashSubkey[o + 1]! << 16) | (hashSubkey[o + 2]! << 8) | hashSubkey[o + 3]!
  }
  // Each lower single-bit byte is the previous one times x: a right shift, reduced when a bit falls off the end.
  for (let b = 64; b >= 1; b >>= 1) {
    const from = 8 * b
    const to = 4 * b
    const carry = table[from + 3]! & 1
    table[to + 3] = (table[from + 3]! >>> 1) | (table[from + 2]! << 31)
    table[to + 2] = (table[from + 2]! >>> 1) | (table[from + 1]! << 31)
    table[to + 1] = (table[from + 1]! >>> 1) | (table[from]! << 31)
    table[to] = (table[from]! >>> 1) ^ (-carry & 0xe1000000)
  }
  for (let high = 2; high < 256; high <<= 1) {
    for (let low = 1; low < high; low++) {
      for (let w = 0; w < 4; w++) table[4 * (high + low) + w] = table[4 * high + w]! ^ table[4 * low + w]!
    }
  }
  return table
}

/** GHASH state: Y as four big-endian words, updated Y ← (Y ⊕ X)·H one 16-byte block X at a time. */
class Ghash {
  private readonly table: Int32Array
  private readonly y = new Int32Array(4)
  private readonly partial = new Uint8Array(SM4_BLOCK_SIZE)

  constructor(hashSubkey: Uint8Array) {
    this.table = multiplicationTable(hashSubkey)
  }

  /** Absorbs `data` zero-padded to whole blocks: GCM pads the AAD, the ciphertext and a long IV separately. */
  update(data: Uint8Array): this {
    const whole = data.length - (data.length % SM4_BLOCK_SIZE)
    ghashBlocks(this.table, this.y, data, whole)
    if (whole < data.length) {
      this.partial.fill(0)
      this.partial.set(data.subarray(whole))
      ghashBlocks(this.table, this.y, this.partial, SM4_BLOCK_SIZE)
    }
    return this
  }

  /** Absorbs the closing block [len(A)]64 ‖ [len(C)]64 (bit lengths) given byte lengths below 2^53. */
  lengths(firstBytes: number, secondBytes: number): this {
    const block = this.partial
    const words = [
      Math.floor(firstBytes / 0x20000000),
      firstBytes << 3,
      Math.floor(secondBytes / 0x20000000),
      secondBytes << 3,
    ]
    for (let i = 0; i < 16; i++) block[i] = words[i >> 2]! >>> (24 - 8 * (i & 3))
    ghashBlocks(this.table, this.y, block, SM4_BLOCK_SIZE)
    return this
  }

  digest(): Uint8Array {
    const out = new Uint8Array(SM4_BLOCK_SIZE)
    for (let i = 0; i < 16; i++) out[i] = this.y[i >> 2]! >>> (24 - 8 * (i & 3))
    return out
  }
}

function ghashBlocks(table: Int32Array, y: Int32Array, data: Uint8Array, end: number): void {
  let y0 = y[0]!
  let y1 = y[1]!
  let y2 = y[2]!
  let y3 = y[3]!
  // A literal 16: an imported constant here is not folded by V8 and cost a quarter of the speed.
  for (let o = 0; o < end; o += 16) {
    y0 ^= (data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!
    y1 ^= (data[o + 4]! << 24) | (data[o + 5]! << 16) | (data[o + 6]! << 8) | data[o + 7]!
    y2 ^= (data[o + 8]! << 24) | (data[o + 9]! << 16) | (data[o + 10]! << 8) | data[o + 11]!
    y3 ^= (data[o + 12]! << 24) | (data[o + 13]! << 16) | (data[o + 14]! << 8) | data[o + 15]!
    // Horner's rule over the bytes of Y, last byte first: Z ← Z·x^8 ⊕ table[byte]. Unrolling the four bytes of
    // each word measured about 1.4 times faster than looping over them.
    let z0 = 0
    let z1 = 0
    let z2 = 0
    let z3 = 0
    let dropped = 0
    let i = 0
    for (let w = 3; w >= 0; w--) {
      const word = w === 3 ? y3 : w === 2 ? y2 : w === 1 ? y1 : y0
      dropped = z3 & 0xff
      z3 = (z3 >>> 8) | (z2 << 24)
      z2 = (z2 >>> 8) | (z1 << 24)
      z1 = (z1 >>> 8) | (z0 << 24)
      z0 = (z0 >>> 8) ^ REDUCE_BYTE[dropped]!
      i = (word & 0xff) << 2
      z0 ^= table[i]!
      z1 ^= table[i + 1]!
      z2 ^= table[i + 2]!
      z3 ^= table[i + 3]!
      dropped = z3 & 0xff
      z3 = (z3 >>> 8) | (z2 << 24)
      z2 = (z2 >>> 8) | (z1 << 24)
      z1 = (z1 >>> 8) | (z0 << 24)
      z0 = (z0 >>> 8) ^ REDUCE_BYTE[dropped]!
      i = ((word >>> 8) & 0xff) << 2
      z0 ^= table[i]!
      z1 ^= table[i + 1]!
      z2 ^= table[i + 2]!
      z3 ^= table[i + 3]!
      dropped = z3 & 0xff
      z3 = (z3 >>> 8) | (z2 << 24)
      z2 = (z2 >>> 8) | (z1 << 24)
      z1 = (z1 >>> 8) | (z0 << 24)
      z0 = (z0 >>> 8) ^ REDUCE_BYTE[dropped]!
      i = ((word >>> 16) & 0xff) << 2
      z0 ^= table[i]!
      z1 ^= table[i + 1]!
      z2 ^= table[i + 2]!
      z3 ^= table[i + 3]!
      dropped = z3 & 0xff
      z3 = (z3 >>> 8) | (z2 << 24)
      z2 = (z2 >>> 8) | (z1 << 24)
      z1 = (z1 >>> 8) | (z0 << 24)
      z0 = (z0 >>> 8) ^ REDUCE_BYTE[dropped]!
      i = ((word >>> 24) & 0xff) << 2
      z0 ^= table[i]!
      z1 ^= table[i + 1]!
      z2 ^= table[i + 2]!
      z3 ^= table[i + 3]!
    }
    y0 = z0
    y1 = z1
    y2 = z2
    y3 = z3
  }
  y[0] = y0
  y[1] = y1
  y[2] = y2
  y[3] = y3
}

/** GHASH_H over `data` zero-padded to whole blocks (SP 800-38D Algorithm 2); exported for tests. */
export function ghash(hashSubkey: Uint8Array, data: Uint8Array): Uint8Array {
  requireBytes(hashSubkey, 'GHASH subkey', SM4_BLOCK_SIZE)
  requireBytes(data, 'GHASH input')
  return new Ghash(hashSubkey).update(data).digest()
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
}

function withLowWord(block: Uint8Array, value: number): Uint8Array {
  const out = Uint8Array.from(block)
  out[12] = value >>> 24
  out[13] = value >>> 16
  out[14] = value >>> 8
  out[15] = value
  return out
}

/**
 * GCTR (SP 800-38D Algorithm 3): the counter's low 32 bits wrap on their own (inc32), whereas OpenSSL's CTR carries
 * into the upper 96 bits, so the keystream is cut in two where the low word wraps. With a 12-byte nonce it never
 * does (the counter starts at 2 and a message has fewer than 2^32 − 2 blocks); exported for tests.
 */
export function sm4Gctr(key: Uint8Array, initialCounter: Uint8Array, data: Uint8Array): Uint8Array {
  const blocksBeforeWrap = 2 ** 32 - readUint32(initialCounter, 12)
  if (data.length <= blocksBeforeWrap * SM4_BLOCK_SIZE) return sm4Ctr(key, initialCounter, data)
  const split = blocksBeforeWrap * SM4_BLOCK_SIZE
  return concatBytes(
    sm4Ctr(key, initialCounter, data.subarray(0, split)),
    sm4Ctr(key, withLowWord(initialCounter, 0), data.subarray(split)),
  )
}

interface GcmSetup {
  hash: Ghash
  counter: Uint8Array // inc32(J0), the first keystream block
  tagMask: Uint8Array // E_K(J0)
}

function setUp(key: Uint8Array, nonce: Uint8Array, plaintextLength: number): GcmSetup {
  requireBytes(key, 'SM4 key', SM4_KEY_SIZE)
  requireBytes(nonce, 'GCM nonce')
  if (nonce.length === 0) throw new GmError('INVALID_ARGUMENT', 'GCM nonce must not be empty')
  if (plaintextLength > SM4_GCM_MAX_PLAINTEXT) throw new GmError('INVALID_ARGUMENT', 'GCM message too long')
  const block = createSm4BlockCipher(key)
  const hashSubkey = block.encryptBlock(ZERO_BLOCK)
  // A 96-bit nonce is used as is (J0 = N ‖ 0^31 ‖ 1); any other length is hashed, as SP 800-38D allows.
  const j0 =
    nonce.length === SM4_GCM_NONCE_SIZE
      ? concatBytes(nonce, Uint8Array.of(0, 0, 0, 1))
      : new Ghash(hashSubkey).update(nonce).lengths(0, nonce.length).digest()
  const hash = new Ghash(hashSubkey)
  hashSubkey.fill(0)
  return { hash, counter: withLowWord(j0, readUint32(j0, 12) + 1), tagMask: block.encryptBlock(j0) }
}

function tagOf(setup: GcmSetup, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const tag = setup.hash.update(aad).update(ciphertext).lengths(aad.length, ciphertext.length).digest()
  for (let i = 0; i < SM4_GCM_TAG_SIZE; i++) tag[i]! ^= setup.tagMask[i]!
  return tag
}

/**
 * SM4-GCM authenticated encryption with a 16-byte tag. The nonce should be 12 bytes (other non-empty lengths are
 * accepted per SP 800-38D) and must never repeat under one key: a repeat reveals the XOR of the plaintexts and
 * lets the authentication key be recovered.
 */
export function sm4GcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Sm4GcmResult {
  requireBytes(plaintext, 'plaintext')
  requireBytes(aad, 'additional data')
  const setup = setUp(key, nonce, plaintext.length)
  const ciphertext = sm4Gctr(key, setup.counter, plaintext)
  return { ciphertext, tag: tagOf(setup, aad, ciphertext) }
}

/** Verifies the tag before decrypting anything: on any mismatch it throws INVALID_CIPHERTEXT and releases nothing. */
export function sm4GcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  requireBytes(ciphertext, 'ciphertext')
  requireBytes(tag, 'GCM tag', SM4_GCM_TAG_SIZE)
  requireBytes(aad, 'additional data')
  const setup = setUp(key, nonce, ciphertext.length)
  if (!equalBytes(tagOf(setup, aad, ciphertext), tag)) {
    throw new GmError('INVALID_CIPHERTEXT', 'SM4-GCM authentication failed')
  }
  return sm4Gctr(key, setup.counter, ciphertext)
}
