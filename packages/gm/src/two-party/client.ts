import { equalBytes, randomBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { curveBackend } from '../sm2/backend.js'
import { type AffinePoint, invert, mod, N } from '../sm2/curve.js'
import { DEFAULT_SIGNER_ID, twoPartyMessageDigest, verifyDigestSignature } from './digest.js'
import {
  decodeKeygenConfirm,
  decodeKeygenServerShare,
  decodeSignResponse,
  encodeKeygenCommit,
  encodeKeygenReveal,
  encodeSignRequest,
  signRequestProofContext,
} from './messages.js'
import {
  bytesToHex,
  hedgedScalar,
  randomScalar,
  SESSION_ID_LENGTH,
  samePoint,
  scalarToBytes,
  subtractGenerator,
} from './primitives.js'
import { proveDiscreteLog, type SchnorrProof, verifyDiscreteLog } from './proofs.js'
import { loadClientKeyShare, publicKeyHex, type TwoPartyClientKeyShare, twoPartyKeyId } from './shares.js'
import { clientKeygenProofContext, extendTranscript, keygenCommitment, signRequestDigest } from './transcript.js'

// The phone's half. Runs in browsers: Uint8Array only, randomness from Web Crypto, no `node:` module anywhere in
// its imports. Its in-flight states are objects with private fields that refuse to be used twice: they hold the
// ephemeral secrets (d1 before it is confirmed, k1), which must never be persisted, copied or reused.

/** Key generation state between rounds. Opaque and single-use: each step consumes it. */
export class TwoPartyClientKeygenState {
  #phase: 'committed' | 'revealed' | 'done' | 'aborted' = 'committed'
  #clientShare: bigint
  #joint: { publicKey: AffinePoint; keyId: Uint8Array } | undefined
  #transcript: Uint8Array
  readonly #sessionId: Uint8Array
  readonly #clientPoint: AffinePoint
  readonly #proof: SchnorrProof
  readonly #blinding: Uint8Array

  /** @internal Use {@link clientKeygenCommit}. */
  constructor(
    secret: bigint,
    sessionId: Uint8Array,
    clientPoint: AffinePoint,
    proof: SchnorrProof,
    blinding: Uint8Array,
    transcript: Uint8Array,
  ) {
    this.#clientShare = secret
    this.#sessionId = sessionId
    this.#clientPoint = clientPoint
    this.#proof = proof
    this.#blinding = blinding
    this.#transcript = transcript
  }

  /** Session id (hex), for routing the next server message to this state. */
  get sessionId(): string {
    return bytesToHex(this.#sessionId)
  }

  /** @internal */
  reveal(serverShareMessage: Uint8Array): Uint8Array {
    this.#expect('committed', 'keygenServerShare')
    // Aborted until every check has passed: a state that has seen one server message never answers a second one,
    // and a rejected message ends the session (restart key generation) rather than leaving it half-open.
    this.#phase = 'aborted'
    try {
      const reveal = this.#answer(serverShareMessage)
      this.#phase = 'revealed'
      return reveal
    } catch (error) {
      this.#clientShare = 0n
      throw error
    }
  }

  #answer(serverShareMessage: Uint8Array): Uint8Array {
    const m = decodeKeygenServerShare(serverShareMessage)
    if (!equalBytes(m.sessionId, this.#sessionId)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenServerShare.sessionId: belongs to another session')
    }
    if (!equalBytes(m.transcript, this.#transcript)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenServerShare.transcript: does not match the commit sent')
    }
    verifyDiscreteLog(m.proof, m.serverPoint, 'server-keygen', this.#transcript, 'keygenServerShare.proof')
    // (1 + d)·G = (d1·d2)^-1·G = d1^-1·P2: one secret-scalar multiplication on a validated point.
    const shared = curveBackend().mul(invert(this.#clientShare, N), m.serverPoint)
    const publicKey = subtractGenerator(shared)
    if (!publicKey) {
      // d1·d2 = 1 would make d = 0 (probability 1/n): start again with new shares.
      throw new GmError('INVALID_KEY', 'joint private key would be zero; restart key generation')
    }
    this.#joint = { publicKey, keyId: twoPartyKeyId(publicKey) }
    this.#transcript = extendTranscript(this.#transcript, serverShareMessage)
    const reveal = encodeKeygenReveal({
      sessionId: this.#sessionId,
      transcript: this.#transcript,
      clientPoint: this.#clientPoint,
      proof: this.#proof,
      blinding: this.#blinding,
    })
    this.#transcript = extendTranscript(this.#transcript, reveal)
    return reveal
  }

  /** @internal */
  confirm(confirmMessage: Uint8Array): TwoPartyClientKeyShare {
    this.#expect('revealed', 'keygenConfirm')
    this.#phase = 'aborted'
    const secret = this.#clientShare
    this.#clientShare = 0n
    const m = decodeKeygenConfirm(confirmMessage)
    const joint = this.#joint!
    if (!equalBytes(m.sessionId, this.#sessionId)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenConfirm.sessionId: belongs to another session')
    }
    if (!equalBytes(m.transcript, this.#transcript)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenConfirm.transcript: the server saw different messages')
    }
    if (!samePoint(m.publicKey, joint.publicKey)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenConfirm.publicKey: differs from the joint key computed here')
    }
    if (!equalBytes(m.keyId, joint.keyId)) {
      throw new GmError('PROTOCOL_VIOLATION', 'keygenConfirm.keyId: does not name the joint public key')
    }
    this.#phase = 'done'
    return {
      version: 1,
      keyId: bytesToHex(joint.keyId),
      publicKey: publicKeyHex(joint.publicKey),
      clientShare: bytesToHex(scalarToBytes(secret)),
    }
  }

  #expect(phase: 'committed' | 'revealed', next: string): void {
    if (this.#phase !== phase) {
      throw new GmError('PROTOCOL_VIOLATION', `${next}: unexpected now (key generation state is ${this.#phase})`)
    }
  }
}

export interface ClientKeygenOptions {
  /** Milliseconds since the epoch to stamp the session with (default `Date.now()`). */
  readonly now?: number
}

/**
 * Key generation, client step 1. Picks d1, proves knowledge of d1^-1 for P1 = d1^-1·G, and sends only a
 * commitment to (P1, proof): the server must fix its own share before it learns anything about the client's.
 */
export function clientKeygenCommit(options: ClientKeygenOptions = {}): {
  state: TwoPartyClientKeygenState
  message: Uint8Array
} {
  const issuedAt = options.now ?? Date.now()
  const sessionId = randomBytes(SESSION_ID_LENGTH)
  const secret = randomScalar()
  const witness = invert(secret, N)
  const clientPoint = curveBackend().mulBase(witness)
  const proof = proveDiscreteLog(witness, clientPoint, 'client-keygen', clientKeygenProofContext(sessionId, issuedAt))
  const blinding = randomBytes(32)
  const message = encodeKeygenCommit({
    sessionId,
    issuedAt,
    commitment: keygenCommitment(sessionId, issuedAt, clientPoint, proof, blinding),
  })
  const state = new TwoPartyClientKeygenState(
    secret,
    sessionId,
    clientPoint,
    proof,
    blinding,
    extendTranscript(undefined, message),
  )
  return { state, message }
}

/**
 * Key generation, client step 2. Checks the server's proof for P2, computes the joint public key
 * P = d1^-1·P2 − G, and opens the commitment. Returns the reveal message for the server.
 */
export function clientKeygenReveal(state: TwoPartyClientKeygenState, serverShareMessage: Uint8Array): Uint8Array {
  return state.reveal(serverShareMessage)
}

/**
 * Key generation, client step 3. Checks that the server registered the same joint public key over the same
 * transcript and returns the client's key share (d1 and the joint public key) for the caller to encrypt and store.
 */
export function createTwoPartyClientKeyShare(
  state: TwoPartyClientKeygenState,
  confirmMessage: Uint8Array,
): TwoPartyClientKeyShare {
  return state.confirm(confirmMessage)
}

/** The joint signature: an ordinary SM2 signature under the joint public key. */
export interface TwoPartySignature {
  readonly r: bigint
  readonly s: bigint
  /** r ‖ s, 64 bytes (wrap in DER with the shared SM2 signature encoding where a DER signature is needed). */
  readonly signature: Uint8Array
  /** e = SM3(Z_A ‖ M) that was signed. */
  readonly digest: Uint8Array
}

/** A signing request in flight. Holds k1; opaque and single-use. */
export class TwoPartyClientPendingSignature {
  #nonce: bigint
  #clientShare: bigint
  #used = false
  readonly #publicKey: AffinePoint
  readonly #requestId: Uint8Array
  readonly #requestDigest: Uint8Array
  readonly #digest: Uint8Array

  /** @internal Use {@link clientSignRequest}. */
  constructor(
    nonce: bigint,
    clientShare: bigint,
    publicKey: AffinePoint,
    requestId: Uint8Array,
    requestDigest: Uint8Array,
    digest: Uint8Array,
  ) {
    this.#nonce = nonce
    this.#clientShare = clientShare
    this.#publicKey = publicKey
    this.#requestId = requestId
    this.#requestDigest = requestDigest
    this.#digest = digest
  }

  /** Request id (hex), for routing the server's response to this request. */
  get requestId(): string {
    return bytesToHex(this.#requestId)
  }

  /** @internal */
  finish(responseMessage: Uint8Array): TwoPartySignature {
    if (this.#used) {
      throw new GmError('PROTOCOL_VIOLATION', 'signResponse: this signing request has already been answered')
    }
    // Two answers for one k1 would give the server two linear equations in d1 and d1·k1, i.e. d1 itself:
    // whatever happens next, k1 is never used again.
    this.#used = true
    const k1 = this.#nonce
    const d1 = this.#clientShare
    this.#nonce = 0n
    this.#clientShare = 0n
    const m = decodeSignResponse(responseMessage)
    if (!equalBytes(m.requestId, this.#requestId)) {
      throw new GmError('PROTOCOL_VIOLATION', 'signResponse.requestId: answers another request')
    }
    if (!equalBytes(m.requestDigest, this.#requestDigest)) {
      throw new GmError('PROTOCOL_VIOLATION', 'signResponse.requestDigest: answers a different request message')
    }
    // s = (1 + d)^-1·(k + r) − r with (1 + d)^-1 = d1·d2 and k = k1·k3 + k2:
    // d1·k1·s2 + d1·s3 − r = d1·d2·(k1·k3 + k2 + r) − r.
    const { r } = m
    const s = mod(d1 * k1 * m.s2 + d1 * m.s3 - r, N)
    if (s === 0n || s === N - r) {
      // s = n − r means k + r ≡ 0 (the standard's "r + k = n" case); probability 2^-256, sign again.
      throw new GmError('PROTOCOL_VIOLATION', 'signResponse: degenerate signature (s = 0 or r + k = n); sign again')
    }
    // The server could send anything; only a signature that verifies under the joint key leaves this function.
    if (!verifyDigestSignature(this.#publicKey, this.#digest, r, s)) {
      throw new GmError('PROTOCOL_VIOLATION', 'signResponse: the joint signature does not verify under the joint key')
    }
    const signature = new Uint8Array(64)
    signature.set(scalarToBytes(r), 0)
    signature.set(scalarToBytes(s), 32)
    return { r, s, signature, digest: this.#digest }
  }
}

export interface ClientSignInput {
  readonly message: Uint8Array | string
  /** GB/T 32918.2 signer ID (default `1234567812345678`); strings are UTF-8. */
  readonly signerId?: Uint8Array | string
  /** Milliseconds since the epoch to stamp the request with (default `Date.now()`). */
  readonly now?: number
}

/**
 * Signing, client step 1 (the only client→server message). Computes e = SM3(Z_A ‖ M), picks k1, sends
 * Q1 = k1·G with a proof of knowledge of k1 bound to the key id, a fresh request id, the time and e.
 */
export function clientSignRequest(
  share: TwoPartyClientKeyShare,
  input: ClientSignInput,
): { pending: TwoPartyClientPendingSignature; message: Uint8Array } {
  const { keyId, publicKey, secret } = loadClientKeyShare(share)
  const digest = twoPartyMessageDigest(publicKey, input.message, input.signerId ?? DEFAULT_SIGNER_ID)
  const requestId = randomBytes(SESSION_ID_LENGTH)
  const issuedAt = input.now ?? Date.now()
  const nonce = hedgedScalar('client-k1', secret, keyId, requestId, digest)
  const noncePoint = curveBackend().mulBase(nonce)
  const unsigned = { keyId, requestId, issuedAt, digest, noncePoint }
  const proof = proveDiscreteLog(nonce, noncePoint, 'client-sign-nonce', signRequestProofContext(unsigned))
  const message = encodeSignRequest({ ...unsigned, proof })
  const pending = new TwoPartyClientPendingSignature(
    nonce,
    secret,
    publicKey,
    requestId,
    signRequestDigest(message),
    digest,
  )
  return { pending, message }
}

/**
 * Signing, client step 2. Combines the server's (r, s2, s3) with d1 and k1 into s, rejects degenerate values,
 * and returns the signature only if it verifies under the joint public key.
 */
export function clientSignFinish(
  pending: TwoPartyClientPendingSignature,
  responseMessage: Uint8Array,
): TwoPartySignature {
  return pending.finish(responseMessage)
}
