import { randomBytes, randomInt } from 'node:crypto'
import { kdf as referenceKdf } from 'sm-crypto-v2'
import { describe, expect, it } from 'vitest'
import { bytesToHex, concatBytes, hexToBytes } from './bytes.js'
import { KDF_MAX_LENGTH, kdf } from './kdf.js'
import { sm3 } from './sm3.js'

/** Straight from the definition: SM3(Z ‖ ct) for ct = 1, 2, … as 32-bit big-endian, cut to length. */
function definitionKdf(z: Uint8Array, length: number): Uint8Array {
  const blocks: Uint8Array[] = []
  for (let ct = 1; ct <= Math.ceil(length / 32); ct++) {
    const counter = new Uint8Array(4)
    new DataView(counter.buffer).setUint32(0, ct)
    blocks.push(sm3(concatBytes(z, counter)))
  }
  return concatBytes(...blocks).subarray(0, length)
}

describe('kdf (GM/T 0003.4 §5.4.3)', () => {
  it('reproduces the GB/T 32918.4 encryption example: t = KDF(x2 ‖ y2, 152 bits)', () => {
    // Appendix example on the 256-bit test curve, message "encryption standard".
    const x2 = '64D20D27D0632957F8028C1E024F6B02EDF23102A566C932AE8BD613A8E865FE'
    const y2 = '58D225ECA784AE300A81A2D48281A828E1CEDF11C4219099840265375077BF78'
    const t = kdf(hexToBytes(x2 + y2), 19)
    expect(bytesToHex(t).toUpperCase()).toBe('006E30DAE231B071DFAD8AA379E90264491603')
    // C2 = M ⊕ t, as printed in the standard.
    const c2 = new TextEncoder().encode('encryption standard').map((b, i) => b ^ t[i]!)
    expect(bytesToHex(c2).toUpperCase()).toBe('650053A89B41C418B0C3AAD00D886C00286467')
  })

  it('equals the definition and sm-crypto-v2 at block boundaries and random lengths', () => {
    const lengths = [
      1,
      2,
      31,
      32,
      33,
      63,
      64,
      65,
      96,
      1000,
      4096,
      ...Array.from({ length: 40 }, () => randomInt(1, 3000)),
    ]
    for (const length of lengths) {
      const z = randomBytes(randomInt(0, 130))
      const expected = bytesToHex(definitionKdf(z, length))
      expect(bytesToHex(kdf(z, length)), `length ${length}`).toBe(expected)
      expect(bytesToHex(referenceKdf(z, length)), `length ${length}`).toBe(expected)
    }
  })

  it('is a prefix-stable stream: a shorter output is a prefix of a longer one', () => {
    const z = randomBytes(64)
    expect(kdf(z, 100).subarray(0, 45)).toEqual(kdf(z, 45))
  })

  it('rejects lengths that are not positive integers within the 32-bit counter', () => {
    const z = randomBytes(64)
    for (const length of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, KDF_MAX_LENGTH + 1, 2 ** 53]) {
      expect(() => kdf(z, length), `length ${length}`).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
    expect(() => kdf('z' as unknown as Uint8Array, 32)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('turns a length that cannot be allocated into INVALID_ARGUMENT rather than a RangeError', () => {
    expect(() => kdf(randomBytes(64), KDF_MAX_LENGTH)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})
