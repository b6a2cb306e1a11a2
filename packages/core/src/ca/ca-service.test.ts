import { generateKeyPairSync } from 'node:crypto'
import { generateSm2KeyPair, sm2PublicKeyToSpki } from '@yiqian/gm'
import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { describePublicKey, normaliseSerial } from './ca-service.js'

function codeAndField(fn: () => unknown): [string, unknown] {
  try {
    fn()
  } catch (error) {
    if (isDomainError(error)) return [error.code, error.details.field]
    throw error
  }
  throw new Error('expected a DomainError')
}

describe('describePublicKey: the algorithm comes from the SubjectPublicKeyInfo', () => {
  it('reads SM2, P-256 and RSA with its modulus length', () => {
    expect(describePublicKey(sm2PublicKeyToSpki(generateSm2KeyPair().publicKey))).toEqual({ algorithm: 'SM2' })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' })
    expect(describePublicKey(new Uint8Array(ec))).toEqual({ algorithm: 'ECDSA-P256' })
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' })
    expect(describePublicKey(new Uint8Array(rsa))).toEqual({ algorithm: 'RSA', bits: 2048 })
  })

  it('refuses what is not a supported public key, naming the field', () => {
    expect(codeAndField(() => describePublicKey(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])))).toEqual([
      'INVALID_INPUT',
      'publicKey',
    ])
    expect(codeAndField(() => describePublicKey(new Uint8Array(0)))).toEqual(['INVALID_INPUT', 'publicKey'])
    expect(codeAndField(() => describePublicKey(new Uint8Array(5000)))).toEqual(['INVALID_INPUT', 'publicKey'])
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' })
    expect(codeAndField(() => describePublicKey(new Uint8Array(p384)))).toEqual(['INVALID_INPUT', 'publicKey'])
  })
})

describe('normaliseSerial', () => {
  it.each([
    ['7E5B9E4D0052906B3F7D7FFE4C38081D', '7e5b9e4d0052906b3f7d7ffe4c38081d'],
    ['00ff', 'ff'],
    ['0001', '01'],
    ['abc', '0abc'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseSerial(input)).toBe(expected)
  })

  it.each(['', '0', '0000', 'xyz', '12 34', 'a'.repeat(43)])('refuses %j', (input) => {
    expect(codeAndField(() => normaliseSerial(input))).toEqual(['INVALID_INPUT', 'serial'])
  })
})
