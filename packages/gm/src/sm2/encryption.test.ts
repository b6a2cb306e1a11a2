import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bytesToHex, concatBytes, hexToBytes, randomBytes } from '../bytes.js'
import { type GmError, type GmErrorCode, isGmError } from '../errors.js'
import { kdf } from '../kdf.js'
import { sm3 } from '../sm3.js'
import { P } from './curve.js'
import { sm2ConvertCiphertext, sm2Decrypt, sm2Encrypt } from './encryption.js'
import { sm2PrivateKeyFromPem } from './key-encoding.js'
import { generateSm2KeyPair } from './keys.js'

function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

function expectGmError(fn: () => unknown, code: GmErrorCode): GmError {
  const thrown = thrownBy(fn)
  if (!isGmError(thrown, code)) throw new Error(`expected GmError ${code}, got ${String(thrown)}`)
  return thrown
}

// The key of the OpenSSL fixtures in key-encoding.test.ts, and `openssl pkeyutl -encrypt` of a message under it.
const OPENSSL_KEY = sm2PrivateKeyFromPem(
  readFileSync(new URL('../../../../test/fixtures/gm/openssl-sm2-pkcs8.pem', import.meta.url), 'utf8'),
)
const OPENSSL_CIPHERTEXT = hexToBytes(
  '30818502203da8c1ba027ded29749c4dd890e0b879b84c5a907f1a3358eff3401ca82063bb02201ad374ff2422a40d618bb910873721a921b72e4e54542b2a57da177fc7f703120420747bd9ec4a6d169e2f504f2e661b58c890ded7c31cca42eea608504f02d8d9a3041d03218ff31f50321dbbcae9c831e6e7be3048bdbdf0c1a3c409234545f7',
)
const OPENSSL_PLAINTEXT = 'envelope key 0123456789abcdef'

describe('SM2 encryption', () => {
  const { privateKey, publicKey } = generateSm2KeyPair()

  it('decrypts a ciphertext written by OpenSSL 3.0 (GM/T 0009 ASN.1)', () => {
    const plaintext = sm2Decrypt(OPENSSL_KEY.privateKey, OPENSSL_CIPHERTEXT, { format: 'asn1' })
    expect(new TextDecoder().decode(plaintext)).toBe(OPENSSL_PLAINTEXT)
    const c1c3c2 = sm2ConvertCiphertext(OPENSSL_CIPHERTEXT, 'asn1', 'c1c3c2')
    expect(new TextDecoder().decode(sm2Decrypt(OPENSSL_KEY.privateKey, c1c3c2))).toBe(OPENSSL_PLAINTEXT)
    expect(sm2ConvertCiphertext(c1c3c2, 'c1c3c2', 'asn1')).toEqual(OPENSSL_CIPHERTEXT)
  })

  it('round-trips in both formats for lengths around the KDF block size', () => {
    for (const length of [1, 2, 31, 32, 33, 63, 64, 65, 1000]) {
      const m = randomBytes(length)
      for (const format of ['c1c3c2', 'asn1'] as const) {
        const c = sm2Encrypt(publicKey, m, { format })
        expect(sm2Decrypt(privateKey, c, { format })).toEqual(m)
      }
      expect(sm2Encrypt(publicKey, m).length).toBe(65 + 32 + length)
    }
  })

  it('follows GB/T 32918.4: C1 ‖ C3 ‖ C2 with C3 = SM3(x2 ‖ M ‖ y2) and C2 = M ⊕ KDF(x2 ‖ y2)', () => {
    const m = new TextEncoder().encode('layout')
    const c = sm2Encrypt(publicKey, m)
    expect(c[0]).toBe(4)
    const asn1 = sm2ConvertCiphertext(c, 'c1c3c2', 'asn1')
    expect(sm2ConvertCiphertext(asn1, 'asn1', 'c1c3c2')).toEqual(c)
    expect(bytesToHex(asn1)).toContain(bytesToHex(c.subarray(65, 97))) // C3 as HASH
    expect(bytesToHex(asn1).endsWith(bytesToHex(c.subarray(97)))).toBe(true) // C2 as CipherText, last
    // Recomputed with the standard's formulas: to the key d = 1 (public key G), (x2, y2) = k·G is C1 itself.
    const one = hexToBytes(`${'00'.repeat(31)}01`)
    const toG = sm2Encrypt(
      hexToBytes(
        '0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0',
      ),
      m,
    )
    const x2 = toG.subarray(1, 33)
    const y2 = toG.subarray(33, 65)
    expect(toG.subarray(65, 97)).toEqual(sm3(concatBytes(x2, m, y2)))
    const t = kdf(concatBytes(x2, y2), m.length)
    expect(toG.subarray(97)).toEqual(m.map((b, i) => b ^ t[i]!))
    expect(sm2Decrypt(one, toG)).toEqual(m)
  })

  it('accepts strings as UTF-8', () => {
    expect(new TextDecoder().decode(sm2Decrypt(privateKey, sm2Encrypt(publicKey, '数字信封')))).toBe('数字信封')
  })

  it('refuses empty plaintexts, bad keys and unknown formats with typed errors', () => {
    expectGmError(() => sm2Encrypt(publicKey, new Uint8Array()), 'INVALID_ARGUMENT')
    expectGmError(() => sm2Encrypt(publicKey, ''), 'INVALID_ARGUMENT')
    expectGmError(() => sm2Encrypt(publicKey, 5 as unknown as Uint8Array), 'INVALID_ARGUMENT')
    const offCurve = publicKey.slice()
    offCurve[10]! ^= 1
    expectGmError(() => sm2Encrypt(offCurve, 'x'), 'INVALID_POINT')
    expectGmError(() => sm2Encrypt(publicKey.subarray(0, 33), 'x'), 'INVALID_POINT')
    const c = sm2Encrypt(publicKey, 'x')
    expectGmError(() => sm2Decrypt(new Uint8Array(32), c), 'INVALID_KEY')
    expectGmError(() => sm2Encrypt(publicKey, 'x', { format: 'c1c2c3' as 'asn1' }), 'INVALID_ARGUMENT')
    expectGmError(() => sm2Decrypt(privateKey, c, { format: 'der' as 'asn1' }), 'INVALID_ARGUMENT')
  })
})

describe('SM2 decryption failures are all the same INVALID_CIPHERTEXT', () => {
  const { privateKey, publicKey } = generateSm2KeyPair()
  const m = new TextEncoder().encode('a 16-byte SM4 key')
  const c = sm2Encrypt(publicKey, m)
  const asn1 = sm2Encrypt(publicKey, m, { format: 'asn1' })
  const messages = new Set<string>()
  const fails = (ciphertext: Uint8Array, format: 'c1c3c2' | 'asn1' = 'c1c3c2', key = privateKey) => {
    const error = expectGmError(() => sm2Decrypt(key, ciphertext, { format }), 'INVALID_CIPHERTEXT')
    messages.add(error.message)
    expect(error.cause).toBeUndefined()
  }
  const flip = (bytes: Uint8Array, at: number) => {
    const out = bytes.slice()
    out[at]! ^= 1
    return out
  }

  it('for a changed C1, C3 or C2, truncation, extension, or the wrong key', () => {
    for (const at of [0, 1, 40, 64, 65, 80, 96, 97, c.length - 1]) fails(flip(c, at))
    fails(c.subarray(0, c.length - 1))
    fails(concatBytes(c, Uint8Array.of(0)))
    fails(c.subarray(0, 97)) // no C2
    fails(new Uint8Array())
    fails(c, 'c1c3c2', generateSm2KeyPair().privateKey)
    fails(c, 'asn1')
    fails(asn1, 'c1c3c2')
    fails('abc' as unknown as Uint8Array)
  })

  it('for compressed, infinite or off-curve C1', () => {
    const y = c.subarray(33, 65)
    fails(concatBytes(Uint8Array.of(2 + (y[31]! & 1)), c.subarray(1, 33), c.subarray(65)))
    fails(concatBytes(Uint8Array.of(0), c.subarray(65)))
    fails(concatBytes(Uint8Array.of(4), new Uint8Array(64), c.subarray(65)))
    const pBytes = hexToBytes(P.toString(16))
    fails(concatBytes(Uint8Array.of(4), pBytes, c.subarray(33)))
  })

  it('for malformed GM/T 0009 structures', () => {
    for (let cut = 0; cut < asn1.length; cut++) fails(asn1.subarray(0, cut), 'asn1')
    fails(concatBytes(asn1, Uint8Array.of(0)), 'asn1')
    fails(flip(asn1, asn1.length - 1), 'asn1')
    fails(flip(asn1, 10), 'asn1')
    // Long-form outer length.
    const longForm = asn1[1] === 0x81 ? asn1 : concatBytes(Uint8Array.of(0x30, 0x81, asn1[1]!), asn1.subarray(2))
    if (longForm !== asn1) fails(longForm, 'asn1')
  })

  it('never says which check failed', () => {
    expect([...messages]).toEqual(['SM2 decryption failed'])
  })
})
