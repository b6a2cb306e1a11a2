import { describe, expect, it } from 'vitest'
import { isGmError } from '../errors.js'
import { N, Sm2Point } from '../sm2/curve.js'
import { decodeProof, encodeProof, type ProofRole, proveDiscreteLog, verifyDiscreteLog } from './proofs.js'

const witness = 0x1f2e3d4c5b6a798897a6b5c4d3e2f1n
const statement = Sm2Point.BASE.multiply(witness).toAffine()
const context = new TextEncoder().encode('session 1')
const role: ProofRole = 'client-keygen'

function fails(run: () => void): string {
  try {
    run()
  } catch (error) {
    if (isGmError(error, 'PROTOCOL_VIOLATION')) return error.message
    throw error
  }
  throw new Error('expected the proof to be rejected')
}

describe('Schnorr proof of knowledge (Fiat–Shamir, SM3)', () => {
  const proof = proveDiscreteLog(witness, statement, role, context)

  it('verifies for the statement, role and context it was made for', () => {
    expect(() => verifyDiscreteLog(proof, statement, role, context, 'p')).not.toThrow()
    expect(decodeProof(encodeProof(proof), 'p')).toEqual(proof)
  })

  it('is randomised (hedged nonce), so two proofs of the same statement differ', () => {
    expect(proveDiscreteLog(witness, statement, role, context)).not.toEqual(proof)
  })

  it('does not verify for another statement, role or context', () => {
    const other = Sm2Point.BASE.multiply(witness + 1n).toAffine()
    expect(fails(() => verifyDiscreteLog(proof, other, role, context, 'p'))).toBe(
      'p: proof of knowledge does not verify',
    )
    fails(() => verifyDiscreteLog(proof, statement, 'server-keygen', context, 'p'))
    fails(() => verifyDiscreteLog(proof, statement, 'client-sign-nonce', context, 'p'))
    fails(() => verifyDiscreteLog(proof, statement, role, new TextEncoder().encode('session 2'), 'p'))
  })

  it('does not verify when c or z is changed', () => {
    fails(() => verifyDiscreteLog({ ...proof, c: (proof.c % (N - 1n)) + 1n }, statement, role, context, 'p'))
    fails(() => verifyDiscreteLog({ ...proof, z: (proof.z % (N - 1n)) + 1n }, statement, role, context, 'p'))
    fails(() => verifyDiscreteLog({ c: proof.z, z: proof.c }, statement, role, context, 'p'))
  })

  it('cannot be made without the witness', () => {
    // Proving with a wrong witness yields a transcript the verifier rejects.
    const forged = proveDiscreteLog(witness + 7n, statement, role, context)
    fails(() => verifyDiscreteLog(forged, statement, role, context, 'p'))
    // Nor does picking c and z first: A = z·G − c·X is fixed by them and will not hash to c.
    fails(() => verifyDiscreteLog({ c: 1n, z: 1n }, statement, role, context, 'p'))
  })

  it('rejects a proof of the wrong length or with out-of-range scalars', () => {
    expect(() => decodeProof(new Uint8Array(63), 'p')).toThrow('p: expected 64 bytes')
    expect(() => decodeProof(new Uint8Array(64), 'p')).toThrow('p.c: scalar out of range')
  })
})
