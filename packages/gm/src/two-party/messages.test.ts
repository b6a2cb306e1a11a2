import { describe, expect, it } from 'vitest'
import { bigIntToBytes, concatBytes } from '../bytes.js'
import { isGmError } from '../errors.js'
import { N, P, SM2_CURVE, Sm2Point } from '../sm2/curve.js'
import {
  decodeKeygenCommit,
  decodeKeygenConfirm,
  decodeKeygenReveal,
  decodeKeygenServerShare,
  decodeSignRequest,
  decodeSignResponse,
  encodeKeygenCommit,
  encodeKeygenConfirm,
  encodeKeygenReveal,
  encodeKeygenServerShare,
  encodeSignRequest,
  encodeSignResponse,
  peekTwoPartyMessageType,
  TWO_PARTY_MESSAGE_LENGTHS,
  TwoPartyMessageType,
} from './messages.js'
import { readPoint, readScalar } from './primitives.js'
import { proveDiscreteLog } from './proofs.js'

const point = (k: bigint) => Sm2Point.BASE.multiply(k).toAffine()
const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill)
const proof = proveDiscreteLog(5n, point(5n), 'client-keygen', bytes(32, 1))

const samples = {
  keygenCommit: () =>
    encodeKeygenCommit({ sessionId: bytes(16, 1), issuedAt: 1_700_000_000_000, commitment: bytes(32, 2) }),
  keygenServerShare: () =>
    encodeKeygenServerShare({ sessionId: bytes(16, 1), transcript: bytes(32, 3), serverPoint: point(7n), proof }),
  keygenReveal: () =>
    encodeKeygenReveal({
      sessionId: bytes(16, 1),
      transcript: bytes(32, 4),
      clientPoint: point(5n),
      proof,
      blinding: bytes(32, 5),
    }),
  keygenConfirm: () =>
    encodeKeygenConfirm({
      sessionId: bytes(16, 1),
      transcript: bytes(32, 6),
      keyId: bytes(32, 7),
      publicKey: point(9n),
    }),
  signRequest: () =>
    encodeSignRequest({
      keyId: bytes(32, 7),
      requestId: bytes(16, 8),
      issuedAt: 1_700_000_000_000,
      digest: bytes(32, 9),
      noncePoint: point(11n),
      proof,
    }),
  signResponse: () =>
    encodeSignResponse({ requestId: bytes(16, 8), requestDigest: bytes(32, 10), r: 1n, s2: N - 1n, s3: 12345n }),
}

const decoders = {
  keygenCommit: decodeKeygenCommit,
  keygenServerShare: decodeKeygenServerShare,
  keygenReveal: decodeKeygenReveal,
  keygenConfirm: decodeKeygenConfirm,
  signRequest: decodeSignRequest,
  signResponse: decodeSignResponse,
}

type Name = keyof typeof samples
const names = Object.keys(samples) as Name[]

/** Byte offset of each point field, and of each scalar field, in its message. */
const pointFields: [Name, string, number][] = [
  ['keygenServerShare', 'keygenServerShare.serverPoint', 2 + 16 + 32],
  ['keygenReveal', 'keygenReveal.clientPoint', 2 + 16 + 32],
  ['keygenConfirm', 'keygenConfirm.publicKey', 2 + 16 + 32 + 32],
  ['signRequest', 'signRequest.noncePoint', 2 + 32 + 16 + 8 + 32],
]
const scalarFields: [Name, string, number][] = [
  ['keygenServerShare', 'keygenServerShare.proof.c', 2 + 16 + 32 + 65],
  ['keygenServerShare', 'keygenServerShare.proof.z', 2 + 16 + 32 + 65 + 32],
  ['keygenReveal', 'keygenReveal.proof.c', 2 + 16 + 32 + 65],
  ['keygenReveal', 'keygenReveal.proof.z', 2 + 16 + 32 + 65 + 32],
  ['signRequest', 'signRequest.proof.c', 2 + 32 + 16 + 8 + 32 + 65],
  ['signRequest', 'signRequest.proof.z', 2 + 32 + 16 + 8 + 32 + 65 + 32],
  ['signResponse', 'signResponse.r', 2 + 16 + 32],
  ['signResponse', 'signResponse.s2', 2 + 16 + 32 + 32],
  ['signResponse', 'signResponse.s3', 2 + 16 + 32 + 64],
]

function rejection(run: () => unknown): { code: string; message: string } {
  try {
    run()
  } catch (error) {
    if (isGmError(error)) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('expected a rejection')
}

function replace(message: Uint8Array, offset: number, field: Uint8Array): Uint8Array {
  const copy = message.slice()
  copy.set(field, offset)
  return copy
}

describe('two-party message codecs', () => {
  it.each(names)('%s round-trips at its fixed length', (name) => {
    const encoded = samples[name]()
    expect(encoded).toHaveLength(TWO_PARTY_MESSAGE_LENGTHS[name])
    expect([encoded[0], encoded[1]]).toEqual([1, TwoPartyMessageType[name]])
    expect(peekTwoPartyMessageType(encoded)).toBe(name)
    const decoded = decoders[name](encoded) as never
    // Re-encoding what was decoded gives the same bytes: the encoding is canonical.
    const reencode = {
      keygenCommit: encodeKeygenCommit,
      keygenServerShare: encodeKeygenServerShare,
      keygenReveal: encodeKeygenReveal,
      keygenConfirm: encodeKeygenConfirm,
      signRequest: encodeSignRequest,
      signResponse: encodeSignResponse,
    }[name] as (m: never) => Uint8Array
    expect(reencode(decoded)).toEqual(encoded)
  })

  it.each(names)('%s: wrong version, wrong type, truncated and extended are protocol violations', (name) => {
    const good = samples[name]()
    const decode = decoders[name] as (m: Uint8Array) => unknown
    const cases = [
      replace(good, 0, Uint8Array.of(0)),
      replace(good, 0, Uint8Array.of(2)),
      replace(good, 0, Uint8Array.of(0xff)),
      replace(good, 1, Uint8Array.of(0)),
      good.slice(0, -1),
      good.slice(0, 1),
      new Uint8Array(0),
      concatBytes(good, Uint8Array.of(0)),
      concatBytes(good, good),
    ]
    for (const bad of cases) expect(rejection(() => decode(bad)).code).toBe('PROTOCOL_VIOLATION')
    for (const other of names.filter((n) => n !== name)) {
      expect(rejection(() => decode(samples[other]())).message).toContain(`expected ${name}, received ${other}`)
    }
  })

  describe.each(pointFields)('%s point %s', (name, field, offset) => {
    const decode = decoders[name] as (m: Uint8Array) => unknown
    const good = samples[name]()
    const x = point(3n).x
    const bad: [string, Uint8Array][] = [
      ['off the curve', concatBytes(Uint8Array.of(4), bigIntToBytes(x, 32), bigIntToBytes(x, 32))],
      ['(0, 0), the usual stand-in for infinity', concatBytes(Uint8Array.of(4), new Uint8Array(64))],
      ['with a compressed prefix', concatBytes(Uint8Array.of(2), bigIntToBytes(x, 32), new Uint8Array(32))],
      ['with a hybrid prefix', concatBytes(Uint8Array.of(6), bigIntToBytes(x, 32), bigIntToBytes(point(3n).y, 32))],
      ['with prefix 0 (SEC 1 infinity)', concatBytes(Uint8Array.of(0), new Uint8Array(64))],
      ['with x = p', concatBytes(Uint8Array.of(4), bigIntToBytes(P, 32), bigIntToBytes(SM2_CURVE.Gy, 32))],
      ['with x + p (not canonical)', concatBytes(Uint8Array.of(4), bytes(32, 0xff), bigIntToBytes(x, 32))],
    ]
    it.each(bad)('rejects a point %s, naming the field', (_, encoded) => {
      const { code, message } = rejection(() => decode(replace(good, offset, encoded)))
      expect(code).toBe('INVALID_POINT')
      expect(message).toContain(field)
    })
  })

  describe.each(scalarFields)('%s scalar %s', (name, field, offset) => {
    const decode = decoders[name] as (m: Uint8Array) => unknown
    const good = samples[name]()
    it.each([
      ['0', 0n],
      ['n', N],
      ['n + 1', N + 1n],
      ['2^256 - 1', 2n ** 256n - 1n],
    ])('rejects %s, naming the field', (_, value) => {
      const { code, message } = rejection(() => decode(replace(good, offset, bigIntToBytes(value, 32))))
      expect(code).toBe('INVALID_KEY')
      expect(message).toContain(field)
    })

    it('accepts 1 and n - 1', () => {
      expect(() => decode(replace(good, offset, bigIntToBytes(1n, 32)))).not.toThrow()
      expect(() => decode(replace(good, offset, bigIntToBytes(N - 1n, 32)))).not.toThrow()
    })
  })

  it('rejects points and scalars of the wrong length, naming the field', () => {
    const encoded = Sm2Point.BASE.multiply(3n).toBytes(false)
    for (const bad of [encoded.slice(0, 64), concatBytes(encoded, Uint8Array.of(0)), Uint8Array.of(0)]) {
      expect(rejection(() => readPoint(bad, 'field.p'))).toMatchObject({ code: 'INVALID_POINT' })
      expect(rejection(() => readPoint(bad, 'field.p')).message).toContain('field.p')
    }
    expect(readPoint(encoded, 'field.p')).toEqual(point(3n))
    expect(rejection(() => readScalar(new Uint8Array(31).fill(1), 'field.k'))).toEqual({
      code: 'INVALID_KEY',
      message: 'field.k: expected 32 bytes',
    })
  })

  it('rejects a timestamp beyond 2^53', () => {
    const good = samples.signRequest()
    const bad = replace(good, 2 + 32 + 16, bytes(8, 0xff))
    expect(rejection(() => decodeSignRequest(bad))).toEqual({
      code: 'PROTOCOL_VIOLATION',
      message: 'signRequest.issuedAt: timestamp out of range',
    })
  })

  it('does not route what is not a version 1 message', () => {
    expect(peekTwoPartyMessageType(Uint8Array.of(2, 0x11))).toBeUndefined()
    expect(peekTwoPartyMessageType(Uint8Array.of(1, 0x99))).toBeUndefined()
    expect(peekTwoPartyMessageType(Uint8Array.of(1))).toBeUndefined()
  })
})
