import { concatBytes } from '../bytes.js'
import { GmError } from '../errors.js'
import type { AffinePoint } from '../sm2/curve.js'
import {
  DIGEST_LENGTH,
  decodeTimestamp,
  encodeTimestamp,
  POINT_LENGTH,
  pointToBytes,
  readPoint,
  readScalar,
  SCALAR_LENGTH,
  SESSION_ID_LENGTH,
  scalarToBytes,
  TWO_PARTY_PROTOCOL_VERSION,
} from './primitives.js'
import { decodeProof, encodeProof, PROOF_LENGTH, type SchnorrProof } from './proofs.js'

// The six wire messages. Each is version byte ‖ type byte ‖ fixed-length fields, so the total length is exact and
// every encoding is canonical: points only uncompressed and validated, scalars 32 bytes, below n and non-zero,
// timestamps below 2^53. Decoding checks version, then type, then length, then each field, and names what failed.

/** The type byte: the high nibble is the phase (1 key generation, 2 signing), the low nibble the step. */
export const TwoPartyMessageType = {
  keygenCommit: 0x11,
  keygenServerShare: 0x12,
  keygenReveal: 0x13,
  keygenConfirm: 0x14,
  signRequest: 0x21,
  signResponse: 0x22,
} as const
export type TwoPartyMessageName = keyof typeof TwoPartyMessageType

type Layout = readonly (readonly [name: string, length: number])[]

const LAYOUTS = {
  keygenCommit: [
    ['sessionId', SESSION_ID_LENGTH],
    ['issuedAt', 8],
    ['commitment', DIGEST_LENGTH],
  ],
  keygenServerShare: [
    ['sessionId', SESSION_ID_LENGTH],
    ['transcript', DIGEST_LENGTH],
    ['serverPoint', POINT_LENGTH],
    ['proof', PROOF_LENGTH],
  ],
  keygenReveal: [
    ['sessionId', SESSION_ID_LENGTH],
    ['transcript', DIGEST_LENGTH],
    ['clientPoint', POINT_LENGTH],
    ['proof', PROOF_LENGTH],
    ['blinding', DIGEST_LENGTH],
  ],
  keygenConfirm: [
    ['sessionId', SESSION_ID_LENGTH],
    ['transcript', DIGEST_LENGTH],
    ['keyId', DIGEST_LENGTH],
    ['publicKey', POINT_LENGTH],
  ],
  signRequest: [
    ['keyId', DIGEST_LENGTH],
    ['requestId', SESSION_ID_LENGTH],
    ['issuedAt', 8],
    ['digest', DIGEST_LENGTH],
    ['noncePoint', POINT_LENGTH],
    ['proof', PROOF_LENGTH],
  ],
  signResponse: [
    ['requestId', SESSION_ID_LENGTH],
    ['requestDigest', DIGEST_LENGTH],
    ['r', SCALAR_LENGTH],
    ['s2', SCALAR_LENGTH],
    ['s3', SCALAR_LENGTH],
  ],
} as const satisfies Record<TwoPartyMessageName, Layout>

type RawFields<L extends Layout> = { [F in L[number] as F[0]]: Uint8Array }

const HEADER_LENGTH = 2

function layoutLength(layout: Layout): number {
  return layout.reduce((total, [, length]) => total + length, HEADER_LENGTH)
}

/** Exact length in bytes of each message, header included. */
export const TWO_PARTY_MESSAGE_LENGTHS: Readonly<Record<TwoPartyMessageName, number>> = Object.fromEntries(
  Object.entries(LAYOUTS).map(([name, layout]) => [name, layoutLength(layout)]),
) as Record<TwoPartyMessageName, number>

/** The message name of a type byte, or undefined when it is none of ours. */
function messageNameOf(type: number | undefined): TwoPartyMessageName | undefined {
  return (Object.keys(TwoPartyMessageType) as TwoPartyMessageName[]).find((name) => TwoPartyMessageType[name] === type)
}

function nameOfType(type: number | undefined): string {
  return messageNameOf(type) ?? `0x${(type ?? 0).toString(16).padStart(2, '0')}`
}

function encodeRaw<N extends TwoPartyMessageName>(name: N, fields: RawFields<(typeof LAYOUTS)[N]>): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(TWO_PARTY_PROTOCOL_VERSION, TwoPartyMessageType[name])]
  for (const [field, length] of LAYOUTS[name] as Layout) {
    const value = (fields as Record<string, Uint8Array>)[field]
    // Our own encoder: a wrong length here is a bug in this module, never attacker input.
    if (!value || value.length !== length) throw new GmError('INVALID_ARGUMENT', `${name}.${field}: wrong length`)
    parts.push(value)
  }
  return concatBytes(...parts)
}

function decodeRaw<N extends TwoPartyMessageName>(name: N, message: Uint8Array): RawFields<(typeof LAYOUTS)[N]> {
  if (!(message instanceof Uint8Array)) throw new GmError('PROTOCOL_VIOLATION', `${name}: message must be bytes`)
  if (message.length < HEADER_LENGTH) throw new GmError('PROTOCOL_VIOLATION', `${name}: truncated header`)
  if (message[0] !== TWO_PARTY_PROTOCOL_VERSION) {
    throw new GmError(
      'PROTOCOL_VIOLATION',
      `${name}.version: unsupported protocol version ${message[0]} (expected ${TWO_PARTY_PROTOCOL_VERSION})`,
    )
  }
  if (message[1] !== TwoPartyMessageType[name]) {
    // A message of another step arriving here is a reordered or misrouted message.
    throw new GmError('PROTOCOL_VIOLATION', `${name}.type: expected ${name}, received ${nameOfType(message[1])}`)
  }
  const expected = TWO_PARTY_MESSAGE_LENGTHS[name]
  if (message.length !== expected) {
    throw new GmError(
      'PROTOCOL_VIOLATION',
      `${name}: expected exactly ${expected} bytes, received ${message.length} (${message.length < expected ? 'truncated' : 'extended'})`,
    )
  }
  const fields: Record<string, Uint8Array> = {}
  let offset = HEADER_LENGTH
  for (const [field, length] of LAYOUTS[name] as Layout) {
    fields[field] = message.slice(offset, offset + length)
    offset += length
  }
  return fields as RawFields<(typeof LAYOUTS)[N]>
}

/** Client → server, key generation round 1: a commitment to the client's point and proof, nothing else. */
export interface KeygenCommitMessage {
  readonly sessionId: Uint8Array
  readonly issuedAt: number
  readonly commitment: Uint8Array
}

/** Server → client, key generation round 1: the server's point P2 = d2^-1·G with its proof of knowledge. */
export interface KeygenServerShareMessage {
  readonly sessionId: Uint8Array
  /** Transcript hash after the commit message. */
  readonly transcript: Uint8Array
  readonly serverPoint: AffinePoint
  readonly proof: SchnorrProof
}

/** Client → server, key generation round 2: opens the commitment (P1 = d1^-1·G, its proof, the blinding value). */
export interface KeygenRevealMessage {
  readonly sessionId: Uint8Array
  /** Transcript hash after the server-share message. */
  readonly transcript: Uint8Array
  readonly clientPoint: AffinePoint
  readonly proof: SchnorrProof
  readonly blinding: Uint8Array
}

/** Server → client, key generation round 2: the joint public key the server registered, and its key id. */
export interface KeygenConfirmMessage {
  readonly sessionId: Uint8Array
  /** Transcript hash after the reveal message. */
  readonly transcript: Uint8Array
  readonly keyId: Uint8Array
  readonly publicKey: AffinePoint
}

/** Client → server, signing: Q1 = k1·G with a proof of knowledge of k1, bound to key, request, time and digest. */
export interface SignRequestMessage {
  readonly keyId: Uint8Array
  readonly requestId: Uint8Array
  readonly issuedAt: number
  /** e = SM3(Z_A ‖ M). */
  readonly digest: Uint8Array
  readonly noncePoint: AffinePoint
  readonly proof: SchnorrProof
}

/** Server → client, signing: r and the two server partial values, bound to the exact request bytes. */
export interface SignResponseMessage {
  readonly requestId: Uint8Array
  readonly requestDigest: Uint8Array
  readonly r: bigint
  readonly s2: bigint
  readonly s3: bigint
}

export function encodeKeygenCommit(m: KeygenCommitMessage): Uint8Array {
  return encodeRaw('keygenCommit', {
    sessionId: m.sessionId,
    issuedAt: encodeTimestamp(m.issuedAt),
    commitment: m.commitment,
  })
}

export function decodeKeygenCommit(message: Uint8Array): KeygenCommitMessage {
  const raw = decodeRaw('keygenCommit', message)
  return {
    sessionId: raw.sessionId,
    issuedAt: decodeTimestamp(raw.issuedAt, 'keygenCommit.issuedAt'),
    commitment: raw.commitment,
  }
}

export function encodeKeygenServerShare(m: KeygenServerShareMessage): Uint8Array {
  return encodeRaw('keygenServerShare', {
    sessionId: m.sessionId,
    transcript: m.transcript,
    serverPoint: pointToBytes(m.serverPoint),
    proof: encodeProof(m.proof),
  })
}

export function decodeKeygenServerShare(message: Uint8Array): KeygenServerShareMessage {
  const raw = decodeRaw('keygenServerShare', message)
  return {
    sessionId: raw.sessionId,
    transcript: raw.transcript,
    serverPoint: readPoint(raw.serverPoint, 'keygenServerShare.serverPoint'),
    proof: decodeProof(raw.proof, 'keygenServerShare.proof'),
  }
}

export function encodeKeygenReveal(m: KeygenRevealMessage): Uint8Array {
  return encodeRaw('keygenReveal', {
    sessionId: m.sessionId,
    transcript: m.transcript,
    clientPoint: pointToBytes(m.clientPoint),
    proof: encodeProof(m.proof),
    blinding: m.blinding,
  })
}

export function decodeKeygenReveal(message: Uint8Array): KeygenRevealMessage {
  const raw = decodeRaw('keygenReveal', message)
  return {
    sessionId: raw.sessionId,
    transcript: raw.transcript,
    clientPoint: readPoint(raw.clientPoint, 'keygenReveal.clientPoint'),
    proof: decodeProof(raw.proof, 'keygenReveal.proof'),
    blinding: raw.blinding,
  }
}

export function encodeKeygenConfirm(m: KeygenConfirmMessage): Uint8Array {
  return encodeRaw('keygenConfirm', {
    sessionId: m.sessionId,
    transcript: m.transcript,
    keyId: m.keyId,
    publicKey: pointToBytes(m.publicKey),
  })
}

export function decodeKeygenConfirm(message: Uint8Array): KeygenConfirmMessage {
  const raw = decodeRaw('keygenConfirm', message)
  return {
    sessionId: raw.sessionId,
    transcript: raw.transcript,
    keyId: raw.keyId,
    publicKey: readPoint(raw.publicKey, 'keygenConfirm.publicKey'),
  }
}

export function encodeSignRequest(m: SignRequestMessage): Uint8Array {
  return encodeRaw('signRequest', {
    keyId: m.keyId,
    requestId: m.requestId,
    issuedAt: encodeTimestamp(m.issuedAt),
    digest: m.digest,
    noncePoint: pointToBytes(m.noncePoint),
    proof: encodeProof(m.proof),
  })
}

export function decodeSignRequest(message: Uint8Array): SignRequestMessage {
  const raw = decodeRaw('signRequest', message)
  return {
    keyId: raw.keyId,
    requestId: raw.requestId,
    issuedAt: decodeTimestamp(raw.issuedAt, 'signRequest.issuedAt'),
    digest: raw.digest,
    noncePoint: readPoint(raw.noncePoint, 'signRequest.noncePoint'),
    proof: decodeProof(raw.proof, 'signRequest.proof'),
  }
}

/** The sign request without its proof: the context the client's nonce proof is bound to. */
export function signRequestProofContext(m: Omit<SignRequestMessage, 'proof'>): Uint8Array {
  return concatBytes(
    Uint8Array.of(TWO_PARTY_PROTOCOL_VERSION, TwoPartyMessageType.signRequest),
    m.keyId,
    m.requestId,
    encodeTimestamp(m.issuedAt),
    m.digest,
    pointToBytes(m.noncePoint),
  )
}

export function encodeSignResponse(m: SignResponseMessage): Uint8Array {
  return encodeRaw('signResponse', {
    requestId: m.requestId,
    requestDigest: m.requestDigest,
    r: scalarToBytes(m.r),
    s2: scalarToBytes(m.s2),
    s3: scalarToBytes(m.s3),
  })
}

export function decodeSignResponse(message: Uint8Array): SignResponseMessage {
  const raw = decodeRaw('signResponse', message)
  return {
    requestId: raw.requestId,
    requestDigest: raw.requestDigest,
    r: readScalar(raw.r, 'signResponse.r'),
    s2: readScalar(raw.s2, 'signResponse.s2'),
    s3: readScalar(raw.s3, 'signResponse.s3'),
  }
}

/** Reads the message type without validating the rest, for routing; undefined when the header is not ours. */
export function peekTwoPartyMessageType(message: Uint8Array): TwoPartyMessageName | undefined {
  if (message.length < HEADER_LENGTH || message[0] !== TWO_PARTY_PROTOCOL_VERSION) return undefined
  return messageNameOf(message[1])
}
