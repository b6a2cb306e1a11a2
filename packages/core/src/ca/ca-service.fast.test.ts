/**
 * describePublicKey reads SM2 and P-256 keys directly (OIDs, point on the curve) instead of building a verifier:
 * it must accept and refuse exactly the keys the general parser did.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { generateSm2KeyPair, sm2PublicKeyToSpki } from '@yiqian/gm'
import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { describePublicKey } from './ca-service.js'

function outcome(spki: Uint8Array): unknown {
  try {
    return describePublicKey(spki)
  } catch (error) {
    if (isDomainError(error)) return [error.code, error.details.field]
    throw error
  }
}

/** Whether node (OpenSSL) takes the key at all: the general path refuses whatever it cannot read. */
function nodeReads(spki: Uint8Array): boolean {
  try {
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    return true
  } catch {
    return false
  }
}

describe('describePublicKey fast path', () => {
  const sm2 = () => sm2PublicKeyToSpki(generateSm2KeyPair().publicKey)
  const p256 = () =>
    new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }))

  it('reads fresh SM2 and P-256 keys', () => {
    for (let i = 0; i < 50; i++) {
      expect(describePublicKey(sm2())).toEqual({ algorithm: 'SM2' })
      expect(describePublicKey(p256())).toEqual({ algorithm: 'ECDSA-P256' })
    }
  })

  it('refuses points off the curve, naming publicKey, as the general parser does', () => {
    for (const make of [sm2, p256]) {
      for (let i = 0; i < 40; i++) {
        const spki = make()
        const at = spki.length - 1 - (i % 64)
        spki[at] = spki[at]! ^ (1 << (i % 8))
        expect(nodeReads(spki)).toBe(false)
        expect(outcome(spki)).toEqual(['INVALID_INPUT', 'publicKey'])
      }
    }
  })

  it('agrees with the general parser on mutated keys (accepted ones keep their algorithm)', () => {
    let state = 7
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return state % n
    }
    for (let i = 0; i < 400; i++) {
      const spki = i % 2 ? sm2() : p256()
      const at = random(spki.length)
      spki[at] = random(256)
      const result = outcome(spki)
      if (nodeReads(spki) && !Array.isArray(result)) {
        expect(['SM2', 'ECDSA-P256']).toContain((result as { algorithm: string }).algorithm)
      } else if (!nodeReads(spki)) {
        expect(result).toEqual(['INVALID_INPUT', 'publicKey'])
      }
    }
  })
})
