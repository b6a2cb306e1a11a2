import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { bigIntToBytes, bytesToBigInt, bytesToHex, hexToBytes } from './bytes.js'

describe('byte conversions', () => {
  it('round-trips hex against Buffer for random inputs, either case', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = randomBytes(n)
      const hex = bytesToHex(bytes)
      expect(hex).toBe(bytes.toString('hex'))
      expect(Buffer.from(hexToBytes(hex)).equals(bytes)).toBe(true)
      expect(Buffer.from(hexToBytes(hex.toUpperCase())).equals(bytes)).toBe(true)
    }
  })

  it('refuses anything that is not whole hex bytes', () => {
    for (const bad of ['0', 'abc', 'zz', '0g', ' 0', '0 ', '0x00', '+1', '１２', '\u0000\u0000']) {
      expect(() => hexToBytes(bad), JSON.stringify(bad)).toThrow(/not a hex string/)
    }
  })

  it('converts big integers with fixed lengths', () => {
    expect(bytesToHex(bigIntToBytes(0x0102n, 4))).toBe('00000102')
    expect(bytesToBigInt(hexToBytes('00ff'))).toBe(255n)
    expect(() => bigIntToBytes(0x10000n, 2)).toThrow(/does not fit/)
  })
})
