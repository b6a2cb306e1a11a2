import { bytesToBigInt, equalBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import { curveBackend } from '../sm2/backend.js'
import { invert, mod, N } from '../sm2/curve.js'
import {
  decodeKeygenCommit,
  decodeKeygenReveal,
  decodeSignRequest,
  encodeKeygenConfirm,
  encodeKeygenServerShare,
  encodeSignResponse,
  signRequestProofContext,
} from './messages.js'
import {
  bytesToHex,
  DIGEST_LENGTH,
  hedgedScalar,
  randomScalar,
  readHex,
  SCALAR_LENGTH,
  SESSION_ID_LENGTH,
  scalarToBytes,
  subtractGenerator,
} from './primitives.js'
import { proveDiscreteLog, verifyDiscreteLog } from './proofs.js'
import {
  admitToReplayLedger,
  DEFAULT_FRESHNESS_WINDOW_MS,
  type TwoPartyFreshnessOptions,
  type TwoPartyReplayLedger,
} from './replay-ledger.js'
import { loadServerKeyShare, publicKeyHex, type TwoPartyServerKeyShare, twoPartyKeyId } from './shares.js'
import { clientKeygenProofContext, extendTranscript, keygenCommitment, signRequestDigest } from './transcript.js'

// The server's half. Every function is pure over explicit, JSON-safe state: the caller loads the key share and the
// replay ledger, calls one step, and stores what comes back (the new ledger BEFORE releasing the response, in the
// same transaction that serialises requests for one key). Secret-scalar multiplications (d2^-1·P1, k2·G, k3·Q1)
// go through the curve backend's `mulBase`/`mul`, which are constant-time when the OpenSSL backend is installed;
// only proof verification, whose scalars are public, uses `mulAdd`.

/** The replay-ledger scope for key generation (one ledger for all key generation sessions of a server). */
export const KEYGEN_LEDGER_SCOPE = 'keygen'

/** Server key generation state between the two round trips. JSON-safe; holds d2 until complete: encrypt at rest. */
export interface TwoPartyServerKeygenSession {
  readonly version: 1
  readonly phase: 'awaiting-reveal' | 'complete'
  /** 32 lowercase hex characters. */
  readonly sessionId: string
  /** When the client issued the session, milliseconds since the epoch. */
  readonly issuedAt: number
  /** The client's commitment, 64 hex characters. */
  readonly commitment: string
  /** Transcript hash after the server-share message, 64 hex characters. */
  readonly transcript: string
  /** d2, 64 hex characters while awaiting the reveal; empty once complete. SECRET. */
  readonly serverShare: string
}

/**
 * Key generation, server step 1. Receives only the client's commitment, picks d2, and answers with
 * P2 = d2^-1·G and a proof of knowledge of d2^-1 bound to the transcript. The session id enters the keygen
 * replay ledger, so a replayed commit is refused.
 */
export function serverKeygenRespond(
  ledger: TwoPartyReplayLedger,
  commitMessage: Uint8Array,
  options: TwoPartyFreshnessOptions = {},
): { ledger: TwoPartyReplayLedger; session: TwoPartyServerKeygenSession; message: Uint8Array } {
  const m = decodeKeygenCommit(commitMessage)
  const nextLedger = admitToReplayLedger(
    ledger,
    KEYGEN_LEDGER_SCOPE,
    m.sessionId,
    m.issuedAt,
    'keygenCommit.sessionId',
    options,
  )
  const secret = randomScalar()
  const witness = invert(secret, N)
  const serverPoint = curveBackend().mulBase(witness)
  const afterCommit = extendTranscript(undefined, commitMessage)
  const proof = proveDiscreteLog(witness, serverPoint, 'server-keygen', afterCommit)
  const message = encodeKeygenServerShare({ sessionId: m.sessionId, transcript: afterCommit, serverPoint, proof })
  const session: TwoPartyServerKeygenSession = {
    version: 1,
    phase: 'awaiting-reveal',
    sessionId: bytesToHex(m.sessionId),
    issuedAt: m.issuedAt,
    commitment: bytesToHex(m.commitment),
    transcript: bytesToHex(extendTranscript(afterCommit, message)),
    serverShare: bytesToHex(scalarToBytes(secret)),
  }
  return { ledger: nextLedger, session, message }
}

function loadKeygenSession(session: TwoPartyServerKeygenSession) {
  if (session?.version !== 1) {
    throw new GmError('INVALID_ARGUMENT', 'not a version 1 server key generation session')
  }
  if (session.phase !== 'awaiting-reveal') {
    // A second reveal for a finished session: a replay.
    throw new GmError('PROTOCOL_VIOLATION', `keygenReveal: unexpected now (session is ${String(session.phase)})`)
  }
  const secret = bytesToBigInt(readHex(session.serverShare, SCALAR_LENGTH, 'session.serverShare', 'INVALID_KEY'))
  if (secret === 0n || secret >= N) throw new GmError('INVALID_KEY', 'session.serverShare: out of range [1, n-1]')
  if (!Number.isSafeInteger(session.issuedAt)) throw new GmError('INVALID_ARGUMENT', 'session.issuedAt: malformed')
  return {
    sessionId: readHex(session.sessionId, SESSION_ID_LENGTH, 'session.sessionId', 'INVALID_ARGUMENT'),
    commitment: readHex(session.commitment, DIGEST_LENGTH, 'session.commitment', 'INVALID_ARGUMENT'),
    transcript: readHex(session.transcript, DIGEST_LENGTH, 'session.transcript', 'INVALID_ARGUMENT'),
    issuedAt: session.issuedAt,
    secret,
  }
}

/**
 * Key generation, server step 2. Checks that the reveal opens the commitment and that the client's proof for P1
 * verifies, computes the joint public key P = d2^-1·P1 − G, and returns the server key share, the completed
 * session (without d2) and the confirmation for the client.
 */
export function createTwoPartyServerKeyShare(
  session: TwoPartyServerKeygenSession,
  revealMessage: Uint8Array,
  options: TwoPartyFreshnessOptions = {},
): { session: TwoPartyServerKeygenSession; share: TwoPartyServerKeyShare; message: Uint8Array } {
  const s = loadKeygenSession(session)
  const m = decodeKeygenReveal(revealMessage)
  if (!equalBytes(m.sessionId, s.sessionId)) {
    throw new GmError('PROTOCOL_VIOLATION', 'keygenReveal.sessionId: belongs to another session')
  }
  if (!equalBytes(m.transcript, s.transcript)) {
    throw new GmError('PROTOCOL_VIOLATION', 'keygenReveal.transcript: the client saw different messages')
  }
  const now = options.now ?? Date.now()
  if (now - s.issuedAt > (options.freshnessWindowMs ?? DEFAULT_FRESHNESS_WINDOW_MS)) {
    throw new GmError('PROTOCOL_VIOLATION', 'keygenReveal: the key generation session has expired')
  }
  const opened = keygenCommitment(s.sessionId, s.issuedAt, m.clientPoint, m.proof, m.blinding)
  if (!equalBytes(opened, s.commitment)) {
    throw new GmError('PROTOCOL_VIOLATION', 'keygenReveal: does not open the commitment of keygenCommit')
  }
  verifyDiscreteLog(
    m.proof,
    m.clientPoint,
    'client-keygen',
    clientKeygenProofContext(s.sessionId, s.issuedAt),
    'keygenReveal.proof',
  )
  // (1 + d)·G = d2^-1·P1: the server's one secret-scalar multiplication of key generation.
  const shared = curveBackend().mul(invert(s.secret, N), m.clientPoint)
  const publicKey = subtractGenerator(shared)
  if (!publicKey) throw new GmError('INVALID_KEY', 'joint private key would be zero; restart key generation')
  const keyId = twoPartyKeyId(publicKey)
  const message = encodeKeygenConfirm({
    sessionId: s.sessionId,
    transcript: extendTranscript(s.transcript, revealMessage),
    keyId,
    publicKey,
  })
  const share: TwoPartyServerKeyShare = {
    version: 1,
    keyId: bytesToHex(keyId),
    publicKey: publicKeyHex(publicKey),
    serverShare: bytesToHex(scalarToBytes(s.secret)),
  }
  return { session: { ...session, phase: 'complete', serverShare: '' }, share, message }
}

export interface ServerSignOptions extends TwoPartyFreshnessOptions {
  /**
   * e = SM3(Z_A ‖ M) of the document the server expects this key to sign. The server never sees M; when it knows
   * the document (it usually does: it prepared it), passing e here stops it co-signing anything else.
   */
  readonly expectedDigest?: Uint8Array
}

/**
 * Signing, the server's whole part (one round trip). Validates the request (version, length, key id, Q1 on the
 * curve, proof of knowledge of k1, freshness, not replayed), picks fresh k2 and k3, and answers with
 * r = (e + x(k3·Q1 + k2·G)) mod n, s2 = d2·k3 and s3 = d2·(r + k2). Three scalar multiplications: one `mulAdd`
 * for the proof, `mulBase(k2)` and `mul(k3, Q1)`. Store the returned ledger before sending the response.
 */
export function serverSignStep(
  share: TwoPartyServerKeyShare,
  ledger: TwoPartyReplayLedger,
  requestMessage: Uint8Array,
  options: ServerSignOptions = {},
): { ledger: TwoPartyReplayLedger; message: Uint8Array } {
  const key = loadServerKeyShare(share)
  const m = decodeSignRequest(requestMessage)
  if (!equalBytes(m.keyId, key.keyId)) {
    throw new GmError('PROTOCOL_VIOLATION', 'signRequest.keyId: the request is for another key')
  }
  if (options.expectedDigest && !equalBytes(options.expectedDigest, m.digest)) {
    throw new GmError('PROTOCOL_VIOLATION', 'signRequest.digest: not the document the server expects to be signed')
  }
  const nextLedger = admitToReplayLedger(ledger, share.keyId, m.requestId, m.issuedAt, 'signRequest.requestId', options)
  verifyDiscreteLog(m.proof, m.noncePoint, 'client-sign-nonce', signRequestProofContext(m), 'signRequest.proof')

  const backend = curveBackend()
  const requestDigest = signRequestDigest(requestMessage)
  const e = bytesToBigInt(m.digest)
  const d2 = key.secret
  for (let attempt = 0; ; attempt++) {
    const counter = Uint8Array.of(attempt & 0xff)
    const k2 = hedgedScalar('server-k2', d2, requestDigest, counter)
    const k3 = hedgedScalar('server-k3', d2, requestDigest, counter)
    const point = backend.mulBasePlusMul(k2, k3, m.noncePoint)
    if (!point) continue
    const r = mod(e + point.x, N)
    const s3 = mod(d2 * (r + k2), N)
    // r = 0 is the standard's retry case; s3 = 0 would fail the client's range check. Both have probability 2^-256.
    if (r === 0n || s3 === 0n) continue
    const s2 = mod(d2 * k3, N)
    const message = encodeSignResponse({ requestId: m.requestId, requestDigest, r, s2, s3 })
    return { ledger: nextLedger, message }
  }
}
