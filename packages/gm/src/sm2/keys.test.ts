import { describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes } from '../bytes.js'
import { type GmErrorCode, isGmError } from '../errors.js'
import { N, P, SM2_CURVE } from './curve.js'
import {
  generateSm2KeyPair,
  sm2PrivateScalar,
  sm2PublicKeyFromPrivate,
  validateSm2PrivateKey,
  validateSm2PublicKey,
} from './keys.js'
import { bigIntFromBytes, bigIntFromBytes32, bigIntToBytes32, randomScalar } from './scalar-bytes.js'

function expectGmError(fn: () => unknown, code: GmErrorCode): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  if (!isGmError(thrown, code)) throw new Error(`expected GmError ${code}, got ${String(thrown)}`)
}

const hex32 = (value: bigint) => hexToBytes(value.toString(16).padStart(64, '0'))

describe('key generation', () => {
  it('draws distinct private keys in [1, n-2] with matching public keys', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const { privateKey, publicKey } = generateSm2KeyPair()
      expect(privateKey.length).toBe(32)
      const d = sm2PrivateScalar(privateKey)
      expect(d >= 1n && d <= N - 2n).toBe(true)
      expect(publicKey).toEqual(sm2PublicKeyFromPrivate(privateKey))
      validateSm2PublicKey(publicKey)
      seen.add(bytesToHex(privateKey))
    }
    expect(seen.size).toBe(50)
  })

  it('derives G from d = 1', () => {
    const g = `04${SM2_CURVE.Gx.toString(16).padStart(64, '0')}${SM2_CURVE.Gy.toString(16).padStart(64, '0')}`
    expect(bytesToHex(sm2PublicKeyFromPrivate(hex32(1n)))).toBe(g)
  })
})

describe('key validation', () => {
  it('accepts private keys 1 and n-2 and rejects 0, n-1, n, above n and wrong lengths', () => {
    validateSm2PrivateKey(hex32(1n))
    validateSm2PrivateKey(hex32(N - 2n))
    for (const d of [0n, N - 1n, N, N + 1n, (1n << 256n) - 1n]) {
      expectGmError(() => validateSm2PrivateKey(hex32(d)), 'INVALID_KEY')
      expectGmError(() => sm2PublicKeyFromPrivate(hex32(d)), 'INVALID_KEY')
    }
    for (const length of [0, 31, 33, 64])
      expectGmError(() => validateSm2PrivateKey(new Uint8Array(length)), 'INVALID_KEY')
    expectGmError(() => validateSm2PrivateKey('01' as unknown as Uint8Array), 'INVALID_KEY')
  })

  it('rejects public keys off the curve, out of range, compressed or at infinity', () => {
    const { publicKey } = generateSm2KeyPair()
    const withY = (y: bigint) => {
      const out = publicKey.slice()
      out.set(hex32(y), 33)
      return out
    }
    const y = bigIntFromBytes32(publicKey, 33)
    validateSm2PublicKey(withY(P - y)) // the negated point is on the curve
    expectGmError(() => validateSm2PublicKey(withY(y ^ 1n)), 'INVALID_POINT')
    const compressed = publicKey.slice(0, 33)
    compressed[0] = 2 + Number(y & 1n)
    expectGmError(() => validateSm2PublicKey(compressed), 'INVALID_POINT')
    expectGmError(() => validateSm2PublicKey(Uint8Array.of(0)), 'INVALID_POINT')
    const hybrid = publicKey.slice()
    hybrid[0] = 6 + Number(y & 1n)
    expectGmError(() => validateSm2PublicKey(hybrid), 'INVALID_POINT')
    const xPlusP = publicKey.slice()
    const x = bigIntFromBytes32(publicKey, 1)
    if (x + P < 1n << 256n) {
      xPlusP.set(hex32(x + P), 1)
      expectGmError(() => validateSm2PublicKey(xPlusP), 'INVALID_POINT')
    }
    expectGmError(() => validateSm2PublicKey(new Uint8Array(65)), 'INVALID_POINT')
    expectGmError(() => validateSm2PublicKey({} as Uint8Array), 'INVALID_POINT')
  })
})

describe('fixed-width integers', () => {
  it('agrees with the hex conversions for edge values', () => {
    for (const v of [0n, 1n, 0xffn, N - 1n, P, (1n << 256n) - 1n, 1n << 255n]) {
      const bytes = bigIntToBytes32(v)
      expect(bytesToHex(bytes)).toBe(v.toString(16).padStart(64, '0'))
      expect(bigIntFromBytes32(bytes)).toBe(v)
      expect(bigIntFromBytes(bytes.subarray(3))).toBe(BigInt(`0x0${bytesToHex(bytes.subarray(3))}`))
    }
    expectGmError(() => bigIntToBytes32(1n << 256n), 'INVALID_ARGUMENT')
    expectGmError(() => bigIntToBytes32(-1n), 'INVALID_ARGUMENT')
  })

  it('draws scalars in range', () => {
    for (let i = 0; i < 200; i++) {
      const k = randomScalar(N - 1n)
      expect(k >= 1n && k <= N - 1n).toBe(true)
    }
  })
})
