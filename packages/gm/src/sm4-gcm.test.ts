import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { sm4 as referenceSm4 } from 'sm-crypto-v2'
import { describe, expect, it } from 'vitest'
import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, hexToBytes } from './bytes.js'
import { GmError } from './errors.js'
import { sm4EncryptBlock } from './sm4.js'
import { ghash, sm4GcmDecrypt, sm4GcmEncrypt, sm4Gctr } from './sm4-gcm.js'

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/gm-vectors.json', import.meta.url), 'utf8')) as {
  sm4_gcm_rfc8998_a1: { key: string; iv: string; aad: string; plaintext: string; ciphertext: string; tag: string }
}
const rfc = vectors.sm4_gcm_rfc8998_a1

const randomBytes = (length: number): Uint8Array => new Uint8Array(nodeRandomBytes(length))

function expectGmError(action: () => unknown, code: string): void {
  let error: unknown
  try {
    action()
  } catch (caught) {
    error = caught
  }
  expect(error).toBeInstanceOf(GmError)
  expect((error as GmError).code).toBe(code)
}

/** SP 800-38D Algorithm 1, one bit at a time: the slow, obviously right multiplication in GF(2^128). */
function referenceMultiply(x: bigint, y: bigint): bigint {
  const r = 0xe1n << 120n
  let z = 0n
  let v = y
  for (let i = 127; i >= 0; i--) {
    if ((x >> BigInt(i)) & 1n) z ^= v
    v = v & 1n ? (v >> 1n) ^ r : v >> 1n
  }
  return z
}

function referenceGhash(h: Uint8Array, data: Uint8Array): Uint8Array {
  const subkey = bytesToBigInt(h)
  let y = 0n
  for (let o = 0; o < data.length; o += 16) y = referenceMultiply(y ^ bytesToBigInt(data.subarray(o, o + 16)), subkey)
  return bigIntToBytes(y, 16)
}

function referenceEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
  const result = referenceSm4.encrypt(plaintext, key, {
    mode: 'gcm',
    iv: nonce,
    associatedData: aad,
    output: 'array',
    outputTag: true,
  })
  return { ciphertext: bytesToHex(result.output), tag: bytesToHex(result.tag!) }
}

describe('GHASH', () => {
  it('equals a bit-by-bit GF(2^128) multiplication on random and edge-case inputs', () => {
    const special = [new Uint8Array(16), hexToBytes(`80${'00'.repeat(15)}`), hexToBytes(`${'00'.repeat(15)}01`)]
    const subkeys = [...special, new Uint8Array(16).fill(0xff), ...Array.from({ length: 150 }, () => randomBytes(16))]
    for (const h of subkeys) {
      const blocks = [
        ...special,
        new Uint8Array(16).fill(0xff),
        ...Array.from({ length: randomInt(1, 5) }, () => randomBytes(16)),
      ]
      const data = concatBytes(...blocks.sort(() => Math.random() - 0.5))
      expect(bytesToHex(ghash(h, data)), bytesToHex(h)).toBe(bytesToHex(referenceGhash(h, data)))
    }
  })

  it('zero-pads a partial last block', () => {
    const h = randomBytes(16)
    const data = randomBytes(21)
    expect(ghash(h, data)).toEqual(referenceGhash(h, concatBytes(data, new Uint8Array(11))))
    expect(ghash(h, new Uint8Array(0))).toEqual(new Uint8Array(16))
  })
})

describe('SM4-GCM', () => {
  const key = hexToBytes(rfc.key)
  const nonce = hexToBytes(rfc.iv)
  const aad = hexToBytes(rfc.aad)
  const plaintext = hexToBytes(rfc.plaintext)
  const ciphertext = hexToBytes(rfc.ciphertext)
  const tag = hexToBytes(rfc.tag)

  it('reproduces RFC 8998 appendix A.1', () => {
    const sealed = sm4GcmEncrypt(key, nonce, plaintext, aad)
    expect(bytesToHex(sealed.ciphertext)).toBe(rfc.ciphertext.toLowerCase())
    expect(bytesToHex(sealed.tag)).toBe(rfc.tag.toLowerCase())
    expect(sm4GcmDecrypt(key, nonce, ciphertext, tag, aad)).toEqual(plaintext)
  })

  it('agrees with sm-crypto-v2 for 12-byte and other nonces, empty and ragged lengths', () => {
    for (const nonceLength of [12, 12, 12, 1, 8, 16, 64]) {
      for (const length of [0, 1, 15, 16, 17, 100, 1000]) {
        const k = randomBytes(16)
        const n = randomBytes(nonceLength)
        const p = randomBytes(length)
        const a = randomBytes([0, 1, 16, 20, 33][randomInt(5)]!)
        const ours = sm4GcmEncrypt(k, n, p, a)
        expect({ ciphertext: bytesToHex(ours.ciphertext), tag: bytesToHex(ours.tag) }).toEqual(
          referenceEncrypt(k, n, p, a),
        )
        expect(sm4GcmDecrypt(k, n, ours.ciphertext, ours.tag, a)).toEqual(p)
      }
    }
  })

  it('works with empty plaintext and empty AAD, which is then a MAC over nothing', () => {
    const k = randomBytes(16)
    const n = randomBytes(12)
    const { ciphertext: empty, tag: emptyTag } = sm4GcmEncrypt(k, n, new Uint8Array(0))
    expect(empty).toHaveLength(0)
    expect(bytesToHex(emptyTag)).toBe(referenceEncrypt(k, n, new Uint8Array(0), new Uint8Array(0)).tag)
    expect(sm4GcmDecrypt(k, n, empty, emptyTag)).toEqual(new Uint8Array(0))
    expect(sm4GcmDecrypt(k, n, empty, emptyTag, new Uint8Array(0))).toEqual(new Uint8Array(0))
    // AAD only (GMAC).
    const header = randomBytes(40)
    const mac = sm4GcmEncrypt(k, n, new Uint8Array(0), header).tag
    expectGmError(() => sm4GcmDecrypt(k, n, empty, mac), 'INVALID_CIPHERTEXT')
    expect(sm4GcmDecrypt(k, n, empty, mac, header)).toHaveLength(0)
  })

  it('rejects a change to any byte of ciphertext, tag, AAD or nonce', () => {
    const flip = (bytes: Uint8Array, i: number): Uint8Array => {
      const copy = Uint8Array.from(bytes)
      copy[i]! ^= 1 << randomInt(8)
      return copy
    }
    let rejected = 0
    for (let i = 0; i < ciphertext.length; i++, rejected++) {
      expectGmError(() => sm4GcmDecrypt(key, nonce, flip(ciphertext, i), tag, aad), 'INVALID_CIPHERTEXT')
    }
    for (let i = 0; i < tag.length; i++, rejected++) {
      expectGmError(() => sm4GcmDecrypt(key, nonce, ciphertext, flip(tag, i), aad), 'INVALID_CIPHERTEXT')
    }
    for (let i = 0; i < aad.length; i++, rejected++) {
      expectGmError(() => sm4GcmDecrypt(key, nonce, ciphertext, tag, flip(aad, i)), 'INVALID_CIPHERTEXT')
    }
    for (let i = 0; i < nonce.length; i++, rejected++) {
      expectGmError(() => sm4GcmDecrypt(key, flip(nonce, i), ciphertext, tag, aad), 'INVALID_CIPHERTEXT')
    }
    expect(rejected).toBe(64 + 16 + 20 + 12)
  })

  it('rejects truncated or extended ciphertext and AAD, a missing AAD, another key, and a 16-byte nonce changed', () => {
    const reject = (action: () => unknown) => expectGmError(action, 'INVALID_CIPHERTEXT')
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext.subarray(0, 63), tag, aad))
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext.subarray(0, 48), tag, aad))
    reject(() => sm4GcmDecrypt(key, nonce, concatBytes(ciphertext, new Uint8Array(1)), tag, aad))
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext, tag, aad.subarray(0, 19)))
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext, tag, concatBytes(aad, new Uint8Array(12))))
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext, tag))
    reject(() => sm4GcmDecrypt(randomBytes(16), nonce, ciphertext, tag, aad))
    // Moving bytes between AAD and ciphertext changes the length block.
    reject(() => sm4GcmDecrypt(key, nonce, ciphertext.subarray(16), tag, concatBytes(aad, ciphertext.subarray(0, 16))))
    const longNonce = randomBytes(16)
    const sealed = sm4GcmEncrypt(key, longNonce, plaintext, aad)
    for (let i = 0; i < 16; i++) {
      const other = Uint8Array.from(longNonce)
      other[i]! ^= 0x80
      reject(() => sm4GcmDecrypt(key, other, sealed.ciphertext, sealed.tag, aad))
    }
  })

  it('rejects wrong key, nonce and tag lengths and non-byte input with INVALID_ARGUMENT', () => {
    const bad = (action: () => unknown) => expectGmError(action, 'INVALID_ARGUMENT')
    for (const length of [0, 15, 17, 32]) {
      bad(() => sm4GcmEncrypt(randomBytes(length), nonce, plaintext))
      bad(() => sm4GcmDecrypt(randomBytes(length), nonce, ciphertext, tag, aad))
    }
    bad(() => sm4GcmEncrypt(key, new Uint8Array(0), plaintext))
    bad(() => sm4GcmDecrypt(key, new Uint8Array(0), ciphertext, tag, aad))
    for (const wrongTag of [0, 4, 8, 12, 15].map((n) => tag.subarray(0, n)).concat(concatBytes(tag, tag))) {
      bad(() => sm4GcmDecrypt(key, nonce, ciphertext, wrongTag, aad))
    }
    bad(() => sm4GcmEncrypt(key, nonce, 'text' as unknown as Uint8Array))
    bad(() => sm4GcmEncrypt(key, nonce, plaintext, 'aad' as unknown as Uint8Array))
    bad(() => sm4GcmDecrypt(key, nonce, ciphertext, rfc.tag as unknown as Uint8Array, aad))
    bad(() => sm4GcmDecrypt(key, null as unknown as Uint8Array, ciphertext, tag, aad))
  })

  it('GCTR wraps only the low 32 bits of the counter (inc32), unlike a plain 128-bit CTR', () => {
    const k = randomBytes(16)
    const upper = bytesToHex(randomBytes(12))
    const counters = ['fffffffe', 'ffffffff', '00000000', '00000001'].map((low) => hexToBytes(upper + low))
    const keystream = concatBytes(...counters.map((c) => sm4EncryptBlock(k, c)))
    const data = randomBytes(60)
    expect(sm4Gctr(k, counters[0]!, data)).toEqual(data.map((b, i) => b ^ keystream[i]!))
    // Exactly up to the wrap point: one OpenSSL call, no split.
    expect(sm4Gctr(k, counters[0]!, data.subarray(0, 32))).toEqual(
      data.subarray(0, 32).map((b, i) => b ^ keystream[i]!),
    )
  })
})
