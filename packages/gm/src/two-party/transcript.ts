import type { AffinePoint } from '../sm2/curve.js'
import { encodeTimestamp, pointToBytes, TWO_PARTY_PROTOCOL_VERSION, taggedHash } from './primitives.js'
import { encodeProof, type SchnorrProof } from './proofs.js'

// What each party hashes, in one place so that client and server cannot drift apart.

/** The running transcript hash: each message is absorbed whole, in order, by both parties. */
export function extendTranscript(previous: Uint8Array | undefined, message: Uint8Array): Uint8Array {
  return previous ? taggedHash('transcript', previous, message) : taggedHash('transcript', message)
}

/** The client's key generation commitment: hiding thanks to the 32 random blinding bytes, binding as SM3 is. */
export function keygenCommitment(
  sessionId: Uint8Array,
  issuedAt: number,
  clientPoint: AffinePoint,
  proof: SchnorrProof,
  blinding: Uint8Array,
): Uint8Array {
  return taggedHash(
    'keygen-commitment',
    sessionId,
    encodeTimestamp(issuedAt),
    pointToBytes(clientPoint),
    encodeProof(proof),
    blinding,
  )
}

/** The client's key generation proof is bound to the session; it is made before anything else exists. */
export function clientKeygenProofContext(sessionId: Uint8Array, issuedAt: number): Uint8Array {
  return taggedHash(
    'keygen-client-proof',
    Uint8Array.of(TWO_PARTY_PROTOCOL_VERSION),
    sessionId,
    encodeTimestamp(issuedAt),
  )
}

/** What the server's signing response is bound to: the whole request message, byte for byte. */
export function signRequestDigest(requestMessage: Uint8Array): Uint8Array {
  return taggedHash('sign-request', requestMessage)
}
