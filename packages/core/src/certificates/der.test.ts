import { describe, expect, it } from 'vitest'
import { generalName, objectIdentifier, sequence, tlv } from './der.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('DER helpers', () => {
  it.each([
    ['1.3.6.1.5.5.7.3.8', '06082b06010505070308'],
    // SM3withSM2: multi-byte arcs (156 and 10197 and 501)
    ['1.2.156.10197.1.501', '06082a811ccf55018375'],
    ['2.5.29.37', '0603551d25'],
    ['2.999.3', '0603883703'],
  ])('encodes OID %s', (oid, expected) => {
    expect(hex(objectIdentifier(oid))).toBe(expected)
  })

  it('uses long-form lengths from 128 bytes', () => {
    expect(hex(tlv(0x04, new Uint8Array(127))).slice(0, 4)).toBe('047f')
    expect(hex(tlv(0x04, new Uint8Array(128))).slice(0, 6)).toBe('048180')
    expect(hex(tlv(0x04, new Uint8Array(300))).slice(0, 8)).toBe('0482012c')
  })

  it('builds GeneralNames inside a SEQUENCE', () => {
    expect(hex(sequence([generalName('dns', 'a.b'), generalName('ip', Uint8Array.of(10, 0, 0, 1))]))).toBe(
      '300b8203612e6287040a000001',
    )
  })
})
