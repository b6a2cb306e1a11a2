import { BasicConstraints, Certificate } from '@peculiar/asn1-x509'
import { describe, expect, it } from 'vitest'
import { checkDerShape, decodeDer, encodeDer } from './der.js'
import { isPkiError } from './errors.js'

const codeOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return isPkiError(error) ? error.code : `untyped: ${error}`
  }
  return 'accepted'
}
const bytes = (...b: number[]) => Uint8Array.from(b)

describe('DER shape check', () => {
  it.each([
    ['a primitive value', bytes(0x02, 0x01, 0x05), 'accepted'],
    ['nested sequences', bytes(0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01), 'accepted'],
    ['an empty sequence', bytes(0x30, 0x00), 'accepted'],
    ['a long-form length of 128', Uint8Array.from([0x04, 0x81, 0x80, ...new Uint8Array(128)]), 'accepted'],
    ['nothing', bytes(), 'MALFORMED_DER'],
    ['trailing bytes', bytes(0x02, 0x01, 0x05, 0x00), 'NOT_STRICT_DER'],
    ['an indefinite length', bytes(0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00), 'NOT_STRICT_DER'],
    ['a long form for a short length', bytes(0x02, 0x81, 0x01, 0x05), 'NOT_STRICT_DER'],
    [
      'a length with a leading zero',
      Uint8Array.from([0x04, 0x82, 0x00, 0x80, ...new Uint8Array(128)]),
      'NOT_STRICT_DER',
    ],
    ['a truncated value', bytes(0x02, 0x05, 0x01), 'MALFORMED_DER'],
    ['a child running past its parent', bytes(0x30, 0x03, 0x02, 0x05, 0x01, 0x02, 0x03), 'MALFORMED_DER'],
    ['an absurd length', bytes(0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00), 'TOO_LARGE'],
    ['a missing length', bytes(0x30), 'MALFORMED_DER'],
  ])('%s → %s', (_, der, code) => {
    expect(codeOf(() => checkDerShape(der, 'input'))).toBe(code)
  })

  it('refuses deep nesting within bounded time and stack', () => {
    // 5,000 correctly encoded nested SEQUENCEs, built from the inside out.
    let der: Uint8Array = bytes(0x30, 0x00)
    for (let i = 0; i < 5000; i++) {
      const n = der.length
      const length =
        n < 0x80
          ? [n]
          : n < 0x100
            ? [0x81, n]
            : n < 0x10000
              ? [0x82, n >> 8, n & 0xff]
              : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
      der = Uint8Array.from([0x30, ...length, ...der])
    }
    expect(codeOf(() => checkDerShape(der, 'input'))).toBe('TOO_DEEP')
    const legit = Uint8Array.from([0x30, 0x06, 0x30, 0x04, 0x30, 0x02, 0x30, 0x00])
    expect(codeOf(() => checkDerShape(legit, 'input', { maxBytes: 100, maxDepth: 3 }))).toBe('TOO_DEEP')
    expect(codeOf(() => checkDerShape(legit, 'input', { maxBytes: 100, maxDepth: 4 }))).toBe('accepted')
    expect(codeOf(() => checkDerShape(legit, 'input', { maxBytes: 4, maxDepth: 4 }))).toBe('TOO_LARGE')
  })
})

describe('decodeDer', () => {
  it('refuses input that is not the structure asked for', () => {
    expect(codeOf(() => decodeDer(bytes(0x30, 0x03, 0x01, 0x01, 0x01), Certificate, 'certificate'))).toBe(
      'MALFORMED_DER',
    )
  })

  it('refuses a structure that parses but is not in DER form, and round-trips one that is', () => {
    // basicConstraints { cA TRUE }: DER writes TRUE as FF; 01 is valid BER that the schema parser accepts.
    const der = bytes(0x30, 0x03, 0x01, 0x01, 0xff)
    const ber = bytes(0x30, 0x03, 0x01, 0x01, 0x01)
    expect(decodeDer(der, BasicConstraints, 'basicConstraints').cA).toBe(true)
    expect(encodeDer(decodeDer(der, BasicConstraints, 'basicConstraints'))).toEqual(der)
    expect(codeOf(() => decodeDer(ber, BasicConstraints, 'basicConstraints'))).toBe('NOT_STRICT_DER')
  })
})
