import { ECDSASigValue } from '@peculiar/asn1-ecc'
import { describe, expect, it } from 'vitest'
import { N } from './curve.js'
import { serializeDer, signatureValueDer, unsignedIntegerContents } from './der.js'

describe('signatureValueDer', () => {
  it('writes the bytes the schema encoder writes, for edge and random r, s', () => {
    const edges = [1n, 0x7fn, 0x80n, 0xffn, 0x100n, 2n ** 255n - 1n, 2n ** 255n, N - 1n, 2n ** 256n - 1n]
    const random = () => BigInt(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`) || 1n
    const values = [...edges, ...Array.from({ length: 2000 }, random)]
    let compared = 0
    for (let i = 0; i < values.length; i++) {
      const r = values[i]!
      const s = values[(i * 7 + 3) % values.length]!
      const schema = serializeDer(new ECDSASigValue({ r: unsignedIntegerContents(r), s: unsignedIntegerContents(s) }))
      expect(Buffer.from(signatureValueDer(r, s)).toString('hex')).toBe(Buffer.from(schema).toString('hex'))
      compared++
    }
    expect(compared).toBe(values.length)
  })
})
