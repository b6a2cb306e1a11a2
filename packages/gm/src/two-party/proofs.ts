import { concatBytes, toBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { curveBackend } from '../sm2/backend.js'
import { type AffinePoint, N } from '../sm2/curve.js'
import { hashToScalar, hedgedScalar, pointToBytes, readScalar, SCALAR_LENGTH, scalarToBytes } from './primitives.js'

// Non-interactive Schnorr proof of knowledge of a discrete logarithm (Schnorr 1991, made non-interactive with
// Fiat–Shamir, SM3 as the random oracle). The challenge hashes the role and a caller-supplied context (session id,
// transcript, digest…), so a proof made for one message, party or session verifies nowhere else.

/** Who proves what: part of the challenge, so a client proof can never pass as a server proof and vice versa. */
export type ProofRole = 'client-keygen' | 'server-keygen' | 'client-sign-nonce'

/** A proof is (c, z): 64 bytes on the wire, both scalars in [1, n-1]. */
export interface SchnorrProof {
  readonly c: bigint
  readonly z: bigint
}

export const PROOF_LENGTH = 2 * SCALAR_LENGTH

function challenge(role: ProofRole, context: Uint8Array, statement: AffinePoint, commitment: AffinePoint): bigint {
  return hashToScalar('schnorr-challenge', toBytes(role), context, pointToBytes(statement), pointToBytes(commitment))
}

/** Proves knowledge of `witness` with statement = witness·G. The prover's nonce is hedged with witness and context. */
export function proveDiscreteLog(
  witness: bigint,
  statement: AffinePoint,
  role: ProofRole,
  context: Uint8Array,
): SchnorrProof {
  const backend = curveBackend()
  for (;;) {
    const nonce = hedgedScalar(`schnorr/${role}`, witness, context, pointToBytes(statement))
    const commitment = backend.mulBase(nonce)
    const c = challenge(role, context, statement, commitment)
    const z = (nonce + c * witness) % N
    // Zero c or z would be rejected by the verifier's range check; probability 2^-256, but retry rather than fail.
    if (c !== 0n && z !== 0n) return { c, z }
  }
}

/**
 * Checks a proof against its statement: A = z·G − c·X must hash back to c. Costs one `mulAdd` with public scalars.
 * Any failure is a PROTOCOL_VIOLATION naming `field`.
 */
export function verifyDiscreteLog(
  proof: SchnorrProof,
  statement: AffinePoint,
  role: ProofRole,
  context: Uint8Array,
  field: string,
): void {
  const commitment = curveBackend().mulAdd(proof.z, N - proof.c, statement)
  if (!commitment || challenge(role, context, statement, commitment) !== proof.c) {
    throw new GmError('PROTOCOL_VIOLATION', `${field}: proof of knowledge does not verify`)
  }
}

export function encodeProof(proof: SchnorrProof): Uint8Array {
  return concatBytes(scalarToBytes(proof.c), scalarToBytes(proof.z))
}

/** Exactly 64 bytes, both halves canonical scalars in [1, n-1]. */
export function decodeProof(bytes: Uint8Array, field: string): SchnorrProof {
  if (bytes.length !== PROOF_LENGTH) throw new GmError('PROTOCOL_VIOLATION', `${field}: expected ${PROOF_LENGTH} bytes`)
  return {
    c: readScalar(bytes.subarray(0, SCALAR_LENGTH), `${field}.c`),
    z: readScalar(bytes.subarray(SCALAR_LENGTH), `${field}.z`),
  }
}
