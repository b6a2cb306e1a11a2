import { sm2 } from 'sm-crypto-v2'
import { afterEach, describe, expect, it } from 'vitest'
import { bigIntToBytes, bytesToBigInt, bytesToHex, hexToBytes } from '../bytes.js'
import { isGmError } from '../errors.js'
import { type CurveBackend, nobleBackend, useCurveBackend } from '../sm2/backend.js'
import { invert, mod, N, Sm2Point } from '../sm2/curve.js'
import {
  clientKeygenCommit,
  clientKeygenReveal,
  clientSignFinish,
  clientSignRequest,
  createTwoPartyClientKeyShare,
  type TwoPartyClientKeygenState,
  type TwoPartyClientPendingSignature,
} from './client.js'
import { twoPartyMessageDigest, verifyDigestSignature } from './digest.js'
import {
  decodeKeygenServerShare,
  decodeSignRequest,
  encodeKeygenServerShare,
  encodeSignRequest,
  TWO_PARTY_MESSAGE_LENGTHS,
} from './messages.js'
import { scalarToBytes } from './primitives.js'
import { proveDiscreteLog } from './proofs.js'
import { createTwoPartyReplayLedger, type TwoPartyReplayLedger } from './replay-ledger.js'
import {
  createTwoPartyServerKeyShare,
  KEYGEN_LEDGER_SCOPE,
  serverKeygenRespond,
  serverSignStep,
  type TwoPartyServerKeygenSession,
} from './server.js'
import type { TwoPartyClientKeyShare, TwoPartyServerKeyShare } from './shares.js'

const NOW = 1_760_000_000_000

/** Every error the protocol may raise for bad input from the other party. */
const PROTOCOL_ERRORS = ['PROTOCOL_VIOLATION', 'INVALID_POINT', 'INVALID_KEY'] as const

function expectRejected(run: () => unknown, codes: readonly string[] = PROTOCOL_ERRORS): string {
  try {
    run()
  } catch (error) {
    if (!isGmError(error)) throw error
    expect(codes).toContain(error.code)
    return error.message
  }
  throw new Error('expected the protocol to reject the message')
}

type Mutation = (message: Uint8Array) => Uint8Array
type KeygenStep = 'keygenCommit' | 'keygenServerShare' | 'keygenReveal' | 'keygenConfirm'
type SignStep = 'signRequest' | 'signResponse'

interface KeygenRun {
  client: TwoPartyClientKeyShare
  server: TwoPartyServerKeyShare
  messages: Record<KeygenStep, Uint8Array>
  clientState: TwoPartyClientKeygenState
  serverSession: TwoPartyServerKeygenSession
  keygenLedger: TwoPartyReplayLedger
}

/** An honest key generation, with an optional man in the middle rewriting one message. */
function runKeygen(tamper: Partial<Record<KeygenStep, Mutation>> = {}): KeygenRun {
  const deliver = (step: KeygenStep, message: Uint8Array) => (tamper[step] ? tamper[step](message) : message)
  const c1 = clientKeygenCommit({ now: NOW })
  const kg1 = deliver('keygenCommit', c1.message)
  const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), kg1, { now: NOW })
  const kg2 = deliver('keygenServerShare', s1.message)
  const kg3 = deliver('keygenReveal', clientKeygenReveal(c1.state, kg2))
  const s2 = createTwoPartyServerKeyShare(s1.session, kg3, { now: NOW })
  const kg4 = deliver('keygenConfirm', s2.message)
  const client = createTwoPartyClientKeyShare(c1.state, kg4)
  return {
    client,
    server: s2.share,
    messages: { keygenCommit: c1.message, keygenServerShare: s1.message, keygenReveal: kg3, keygenConfirm: s2.message },
    clientState: c1.state,
    serverSession: s2.session,
    keygenLedger: s1.ledger,
  }
}

interface SignRun {
  r: bigint
  s: bigint
  request: Uint8Array
  response: Uint8Array
  pending: TwoPartyClientPendingSignature
  ledger: TwoPartyReplayLedger
}

function runSign(
  key: KeygenRun,
  message: Uint8Array | string = 'discharge summary',
  tamper: Partial<Record<SignStep, Mutation>> = {},
  ledger = createTwoPartyReplayLedger(key.server.keyId),
): SignRun {
  const req = clientSignRequest(key.client, { message, now: NOW })
  const request = tamper.signRequest ? tamper.signRequest(req.message) : req.message
  const step = serverSignStep(key.server, ledger, request, { now: NOW })
  const response = tamper.signResponse ? tamper.signResponse(step.message) : step.message
  const { r, s } = clientSignFinish(req.pending, response)
  return { r, s, request: req.message, response: step.message, pending: req.pending, ledger: step.ledger }
}

const flipByte =
  (index: number, mask = 0x01): Mutation =>
  (message) => {
    const copy = message.slice()
    copy[index]! ^= mask
    return copy
  }

const key = runKeygen()

/** Rejects a tampered reveal against one honest server session. */
function revealRejecter(): (mutate: Mutation) => unknown {
  const c1 = clientKeygenCommit({ now: NOW })
  const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
  const reveal = clientKeygenReveal(c1.state, s1.message)
  return (mutate) => createTwoPartyServerKeyShare(s1.session, mutate(reveal), { now: NOW })
}

describe('two-party key generation', () => {
  it('gives both parties the same joint key, with (1 + d)^-1 = d1·d2 mod n', () => {
    expect(key.client.keyId).toBe(key.server.keyId)
    expect(key.client.publicKey).toBe(key.server.publicKey)
    const d1 = BigInt(`0x${key.client.clientShare}`)
    const d2 = BigInt(`0x${key.server.serverShare}`)
    const d = mod(invert(d1 * d2, N) - 1n, N)
    expect(d >= 1n && d <= N - 2n).toBe(true)
    expect(bytesToHex(Sm2Point.BASE.multiply(d).toBytes(false))).toBe(key.client.publicKey)
  })

  it('runs in four fixed-length messages and finishes the server session without its secret', () => {
    expect(Object.values(key.messages).map((m) => m.length)).toEqual([58, 179, 211, 147])
    expect(key.serverSession.phase).toBe('complete')
    expect(key.serverSession.serverShare).toBe('')
    expect(JSON.parse(JSON.stringify(key.serverSession))).toEqual(key.serverSession)
  })

  it('gives independent keys on every run', () => {
    const other = runKeygen()
    expect(other.client.publicKey).not.toBe(key.client.publicKey)
    expect(other.client.clientShare).not.toBe(key.client.clientShare)
  })
})

describe('two-party signing', () => {
  it('produces an ordinary SM2 signature under the joint key in one round trip', () => {
    const message = 'prescription #42'
    const { r, s, request, response } = runSign(key, message)
    expect([request.length, response.length]).toEqual([219, 146])
    const publicKey = Sm2Point.fromHex(key.client.publicKey).toAffine()
    expect(verifyDigestSignature(publicKey, twoPartyMessageDigest(publicKey, message), r, s)).toBe(true)
    const signatureHex = bytesToHex(bigIntToBytes(r, 32)) + bytesToHex(bigIntToBytes(s, 32))
    expect(sm2.doVerifySignature(message, signatureHex, key.client.publicKey, { hash: true })).toBe(true)
  })

  it('uses a fresh nonce for every signature, even for the same message', () => {
    const rs = new Set(Array.from({ length: 5 }, () => runSign(key, 'same').r))
    expect(rs.size).toBe(5)
  })

  it('keeps the replay ledger bounded by the freshness window', () => {
    let ledger = createTwoPartyReplayLedger(key.server.keyId)
    for (let minute = 0; minute < 60; minute++) {
      const req = clientSignRequest(key.client, { message: 'x', now: NOW + minute * 60_000 })
      ledger = serverSignStep(key.server, ledger, req.message, { now: NOW + minute * 60_000 }).ledger
    }
    // Two windows of ten minutes are remembered (one as a margin for a server clock stepping back).
    expect(ledger.entries.length).toBeLessThanOrEqual(21)
    expect(JSON.parse(JSON.stringify(ledger))).toEqual(ledger)
  })
})

describe('tampered, truncated, extended and wrong-version messages', () => {
  const keygenSteps: KeygenStep[] = ['keygenCommit', 'keygenServerShare', 'keygenReveal', 'keygenConfirm']
  const signSteps: SignStep[] = ['signRequest', 'signResponse']
  const structural: [string, (m: Uint8Array) => Uint8Array, string][] = [
    ['truncated by one byte', (m) => m.slice(0, -1), 'truncated'],
    ['truncated to the header', (m) => m.slice(0, 2), 'truncated'],
    ['empty', () => new Uint8Array(0), 'truncated header'],
    ['extended by one byte', (m) => Uint8Array.of(...m, 0), 'extended'],
    ['version 2', (m) => Uint8Array.of(2, ...m.subarray(1)), 'unsupported protocol version 2'],
    ['version 0', (m) => Uint8Array.of(0, ...m.subarray(1)), 'unsupported protocol version 0'],
    ['unknown type', (m) => Uint8Array.of(m[0]!, 0x7f, ...m.subarray(2)), 'type: expected'],
  ]

  describe.each(keygenSteps)('%s', (step) => {
    it.each(structural)('rejects it %s', (_, mutate, reason) => {
      expect(expectRejected(() => runKeygen({ [step]: mutate }), ['PROTOCOL_VIOLATION'])).toContain(reason)
    })

    it('rejects every single flipped byte', () => {
      // A reveal is checked by the server alone, whose session is plain data: one honest run serves every flip.
      const reject = step === 'keygenReveal' ? revealRejecter() : (m: Mutation) => runKeygen({ [step]: m })
      for (let index = 0; index < TWO_PARTY_MESSAGE_LENGTHS[step]; index++) {
        expectRejected(() => reject(flipByte(index)))
      }
    })
  })

  describe.each(signSteps)('%s', (step) => {
    it.each(structural)('rejects it %s', (_, mutate, reason) => {
      expect(expectRejected(() => runSign(key, 'm', { [step]: mutate }), ['PROTOCOL_VIOLATION'])).toContain(reason)
    })

    it('rejects every single flipped byte', () => {
      // A request is checked by the server alone, which keeps nothing of a rejected one: one request serves all.
      const request = clientSignRequest(key.client, { message: 'm', now: NOW }).message
      const ledger = createTwoPartyReplayLedger(key.server.keyId)
      const reject =
        step === 'signRequest'
          ? (m: Mutation) => serverSignStep(key.server, ledger, m(request), { now: NOW })
          : (m: Mutation) => runSign(key, 'm', { signResponse: m })
      for (let index = 0; index < TWO_PARTY_MESSAGE_LENGTHS[step]; index++) {
        expectRejected(() => reject(flipByte(index)))
        if (step === 'signRequest') expectRejected(() => reject(flipByte(index, 0xff)))
      }
      expect(serverSignStep(key.server, ledger, request, { now: NOW }).message).toHaveLength(146)
    })
  })

  it('names the field at fault', () => {
    expect(expectRejected(() => runSign(key, 'm', { signRequest: flipByte(2) }))).toContain('signRequest.keyId')
    expect(expectRejected(() => runSign(key, 'm', { signRequest: flipByte(200) }))).toContain('signRequest.proof')
    expect(expectRejected(() => runSign(key, 'm', { signRequest: flipByte(130, 0x80) }))).toContain(
      'signRequest.noncePoint',
    )
    expect(expectRejected(() => runSign(key, 'm', { signResponse: flipByte(20) }))).toContain('requestDigest')
    expect(expectRejected(() => runKeygen({ keygenCommit: flipByte(40) }))).toContain('keygenServerShare.transcript')
    expect(expectRejected(() => runKeygen({ keygenReveal: flipByte(200) }))).toContain('open the commitment')
  })
})

describe('replayed and reordered messages', () => {
  it('refuses a replayed key generation commit (keygen ledger)', () => {
    const c1 = clientKeygenCommit({ now: NOW })
    const first = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    expect(expectRejected(() => serverKeygenRespond(first.ledger, c1.message, { now: NOW + 1000 }))).toContain(
      'replayed',
    )
  })

  it('refuses a replayed server share, reveal and confirmation', () => {
    const c1 = clientKeygenCommit({ now: NOW })
    const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    const kg3 = clientKeygenReveal(c1.state, s1.message)
    expectRejected(() => clientKeygenReveal(c1.state, s1.message))
    const s2 = createTwoPartyServerKeyShare(s1.session, kg3, { now: NOW })
    expectRejected(() => createTwoPartyServerKeyShare(s2.session, kg3, { now: NOW }))
    createTwoPartyClientKeyShare(c1.state, s2.message)
    expectRejected(() => createTwoPartyClientKeyShare(c1.state, s2.message))
  })

  it('ends a key generation session at the first rejected server message', () => {
    const c1 = clientKeygenCommit({ now: NOW })
    const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    expectRejected(() => clientKeygenReveal(c1.state, flipByte(100)(s1.message)))
    expect(expectRejected(() => clientKeygenReveal(c1.state, s1.message))).toContain('state is aborted')
  })

  it('refuses a replayed sign request and a replayed sign response', () => {
    const run = runSign(key)
    expect(expectRejected(() => serverSignStep(key.server, run.ledger, run.request, { now: NOW + 5 }))).toContain(
      'replayed',
    )
    expect(expectRejected(() => clientSignFinish(run.pending, run.response))).toContain('already been answered')
  })

  it('refuses a stale sign request, and one from too far in the future', () => {
    const req = clientSignRequest(key.client, { message: 'm', now: NOW })
    const ledger = createTwoPartyReplayLedger(key.server.keyId)
    expect(expectRejected(() => serverSignStep(key.server, ledger, req.message, { now: NOW + 11 * 60_000 }))).toContain(
      'stale',
    )
    expect(expectRejected(() => serverSignStep(key.server, ledger, req.message, { now: NOW - 11 * 60_000 }))).toContain(
      'future',
    )
  })

  it('refuses a response to another request', () => {
    const a = clientSignRequest(key.client, { message: 'a', now: NOW })
    const b = clientSignRequest(key.client, { message: 'b', now: NOW })
    const ledger = createTwoPartyReplayLedger(key.server.keyId)
    const answerA = serverSignStep(key.server, ledger, a.message, { now: NOW })
    expect(expectRejected(() => clientSignFinish(b.pending, answerA.message))).toContain('another request')
  })

  it('refuses a server message from another key generation session', () => {
    const one = clientKeygenCommit({ now: NOW })
    const two = clientKeygenCommit({ now: NOW })
    const ledger = createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE)
    const answerTwo = serverKeygenRespond(ledger, two.message, { now: NOW })
    expect(expectRejected(() => clientKeygenReveal(one.state, answerTwo.message))).toContain('another session')
  })

  it('refuses a request for another key', () => {
    const other = runKeygen()
    const req = clientSignRequest(other.client, { message: 'm', now: NOW })
    const ledger = createTwoPartyReplayLedger(key.server.keyId)
    expect(expectRejected(() => serverSignStep(key.server, ledger, req.message, { now: NOW }))).toContain('another key')
  })

  it('refuses every message at every step it does not belong to', () => {
    const fresh = runKeygen()
    const sign = runSign(fresh)
    const all: Record<string, Uint8Array> = {
      ...fresh.messages,
      signRequest: sign.request,
      signResponse: sign.response,
    }
    const c1 = clientKeygenCommit({ now: NOW })
    const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    const steps: Record<string, (m: Uint8Array) => unknown> = {
      keygenCommit: (m) => serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), m, { now: NOW }),
      keygenServerShare: (m) => clientKeygenReveal(clientKeygenCommit({ now: NOW }).state, m),
      keygenReveal: (m) => createTwoPartyServerKeyShare(s1.session, m, { now: NOW }),
      keygenConfirm: (m) => {
        const c = clientKeygenCommit({ now: NOW })
        const s = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c.message, { now: NOW })
        clientKeygenReveal(c.state, s.message)
        return createTwoPartyClientKeyShare(c.state, m)
      },
      signRequest: (m) => serverSignStep(fresh.server, createTwoPartyReplayLedger(fresh.server.keyId), m, { now: NOW }),
      signResponse: (m) => clientSignFinish(clientSignRequest(fresh.client, { message: 'm', now: NOW }).pending, m),
    }
    for (const [step, run] of Object.entries(steps)) {
      for (const [name, message] of Object.entries(all)) {
        if (name === step) continue
        expect(expectRejected(() => run(message), ['PROTOCOL_VIOLATION'])).toContain(`${step}.type: expected ${step}`)
      }
    }
    // The client cannot be asked to confirm before it revealed, nor to reveal twice.
    expectRejected(() => createTwoPartyClientKeyShare(c1.state, fresh.messages.keygenConfirm), ['PROTOCOL_VIOLATION'])
  })
})

describe('failed proofs of knowledge', () => {
  it('rejects a server share whose proof is for another secret', () => {
    const c1 = clientKeygenCommit({ now: NOW })
    const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    const m = decodeKeygenServerShare(s1.message)
    // A server that picks P2 after the fact (e.g. to bias the key) cannot prove knowledge of its logarithm.
    const biased = Sm2Point.BASE.multiply(12345n).toAffine()
    const proof = proveDiscreteLog(999n, biased, 'server-keygen', m.transcript)
    const forged = encodeKeygenServerShare({ ...m, serverPoint: biased, proof })
    expect(expectRejected(() => clientKeygenReveal(c1.state, forged))).toContain('proof of knowledge')
  })

  it('rejects a server proof made for the client role', () => {
    const c1 = clientKeygenCommit({ now: NOW })
    const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message, { now: NOW })
    const m = decodeKeygenServerShare(s1.message)
    const witness = 777n
    const point = Sm2Point.BASE.multiply(witness).toAffine()
    const proof = proveDiscreteLog(witness, point, 'client-keygen', m.transcript)
    expectRejected(() => clientKeygenReveal(c1.state, encodeKeygenServerShare({ ...m, serverPoint: point, proof })))
  })

  it('rejects a sign request whose nonce proof does not match Q1', () => {
    const req = clientSignRequest(key.client, { message: 'm', now: NOW })
    const m = decodeSignRequest(req.message)
    const other = Sm2Point.BASE.multiply(4242n).toAffine()
    const forged = encodeSignRequest({ ...m, noncePoint: other })
    const ledger = createTwoPartyReplayLedger(key.server.keyId)
    expect(expectRejected(() => serverSignStep(key.server, ledger, forged, { now: NOW }))).toContain(
      'signRequest.proof: proof of knowledge does not verify',
    )
  })
})

describe('sole control', () => {
  const d2 = BigInt(`0x${key.server.serverShare}`)
  const publicKey = Sm2Point.fromHex(key.server.publicKey).toAffine()
  const message = 'a document the doctor never approved'
  const e = bytesToBigInt(twoPartyMessageDigest(publicKey, message))

  /** Plain SM2 signing with a candidate private key (GB/T 32918.2 §6.1). */
  function signWith(candidate: bigint): [bigint, bigint] {
    const k = 0x1234567890abcdefn
    const r = mod(e + Sm2Point.BASE.multiply(k).x, N)
    return [r, mod(invert(1n + candidate, N) * (k - r * candidate), N)]
  }

  function verifies([r, s]: [bigint, bigint]): boolean {
    const hex = bytesToHex(bigIntToBytes(r, 32)) + bytesToHex(bigIntToBytes(s, 32))
    const ours = verifyDigestSignature(publicKey, bigIntToBytes(e, 32), r, s)
    expect(sm2.doVerifySignature(message, hex, key.server.publicKey, { hash: true })).toBe(ours)
    return ours
  }

  it('the server cannot sign with d2 as the private key, as (1 + d)^-1, or from d2^-1', () => {
    expect(verifies(signWith(d2))).toBe(false)
    expect(verifies(signWith(mod(invert(d2, N) - 1n, N)))).toBe(false)
    expect(verifies(signWith(invert(d2, N)))).toBe(false)
    // (1 + d)^-1 := d2, i.e. s = d2·(k + r) − r, the formula with the client's factor missing.
    const k = 0x42n
    const r = mod(e + Sm2Point.BASE.multiply(k).x, N)
    expect(verifies([r, mod(d2 * (k + r) - r, N)])).toBe(false)
  })

  it('the server cannot complete the protocol by playing the client with its own nonce', () => {
    // It makes k1, runs its own step, and combines as the client would with the only share it has (d1 unknown: 1).
    const impostor: TwoPartyClientKeyShare = { ...key.client, clientShare: bytesToHex(scalarToBytes(1n)) }
    const req = clientSignRequest(impostor, { message, now: NOW })
    const step = serverSignStep(key.server, createTwoPartyReplayLedger(key.server.keyId), req.message, { now: NOW })
    expect(expectRejected(() => clientSignFinish(req.pending, step.message))).toContain('does not verify')
  })

  it('never puts d1, d2 or their inverses on the wire', () => {
    const fresh = runKeygen()
    const d1 = BigInt(`0x${fresh.client.clientShare}`)
    const own2 = BigInt(`0x${fresh.server.serverShare}`)
    const secrets = [d1, own2, invert(d1, N), invert(own2, N), N - d1, N - own2].map(scalarToBytes)
    const wire = [...Object.values(fresh.messages)]
    for (let i = 0; i < 20; i++) {
      const run = runSign(fresh, `message ${i}`)
      wire.push(run.request, run.response)
    }
    for (const message of wire) {
      for (const secret of secrets) expect(Buffer.from(message).indexOf(Buffer.from(secret))).toBe(-1)
    }
  })
})

describe('curve backend use', () => {
  afterEach(() => useCurveBackend(nobleBackend))

  function countingBackend() {
    const calls: { op: 'mulBase' | 'mul' | 'mulAdd' | 'mulBasePlusMul'; scalars: bigint[] }[] = []
    const backend: CurveBackend = {
      name: 'noble',
      mulBase(k) {
        calls.push({ op: 'mulBase', scalars: [k] })
        return nobleBackend.mulBase(k)
      },
      mul(k, p) {
        calls.push({ op: 'mul', scalars: [k] })
        return nobleBackend.mul(k, p)
      },
      mulAdd(s, t, p) {
        calls.push({ op: 'mulAdd', scalars: [s, t] })
        return nobleBackend.mulAdd(s, t, p)
      },
      mulBasePlusMul(a, b, p) {
        calls.push({ op: 'mulBasePlusMul', scalars: [a, b] })
        return nobleBackend.mulBasePlusMul(a, b, p)
      },
    }
    return { calls, backend }
  }

  it('the server step makes one constant-time double multiplication and one public mulAdd for the proof', () => {
    const req = clientSignRequest(key.client, { message: 'm', now: NOW })
    const { calls, backend } = countingBackend()
    useCurveBackend(backend)
    serverSignStep(key.server, createTwoPartyReplayLedger(key.server.keyId), req.message, { now: NOW })
    expect(calls.map((c) => c.op).sort()).toEqual(['mulAdd', 'mulBasePlusMul'])
    const { proof } = decodeSignRequest(req.message)
    expect(calls.find((c) => c.op === 'mulAdd')!.scalars).toEqual([proof.z, N - proof.c])
  })

  it('every secret scalar of key generation goes through mulBase or mul', () => {
    const { calls, backend } = countingBackend()
    useCurveBackend(backend)
    const fresh = runKeygen()
    const d1 = BigInt(`0x${fresh.client.clientShare}`)
    const d2 = BigInt(`0x${fresh.server.serverShare}`)
    const secretUses = calls.filter((c) => c.scalars.some((k) => k === invert(d1, N) || k === invert(d2, N)))
    expect(secretUses.map((c) => c.op).sort()).toEqual(['mul', 'mul', 'mulBase', 'mulBase'])
  })
})

describe('malformed state from storage', () => {
  it('rejects a key share whose key id, public key or secret is wrong', () => {
    const bad: TwoPartyServerKeyShare[] = [
      { ...key.server, keyId: '00'.repeat(32) },
      { ...key.server, serverShare: '00'.repeat(32) },
      { ...key.server, serverShare: N.toString(16) },
      { ...key.server, serverShare: key.server.serverShare.toUpperCase() },
      { ...key.server, publicKey: `04${'11'.repeat(64)}` },
      { ...key.server, version: 2 as 1 },
    ]
    const req = clientSignRequest(key.client, { message: 'm', now: NOW })
    for (const share of bad) {
      expectRejected(
        () => serverSignStep(share, createTwoPartyReplayLedger(share.keyId), req.message, { now: NOW }),
        ['INVALID_KEY'],
      )
    }
  })

  it('rejects a ledger for another key or with malformed entries', () => {
    const req = clientSignRequest(key.client, { message: 'm', now: NOW })
    expectRejected(
      () => serverSignStep(key.server, createTwoPartyReplayLedger('keygen'), req.message, { now: NOW }),
      ['INVALID_ARGUMENT'],
    )
    const broken = { version: 1 as const, scope: key.server.keyId, entries: [{ id: 'xyz', issuedAt: 1 }] }
    expectRejected(() => serverSignStep(key.server, broken, req.message, { now: NOW }), ['INVALID_ARGUMENT'])
  })

  it('refuses to co-sign a digest other than the one the server expects', () => {
    const req = clientSignRequest(key.client, { message: 'what the phone shows', now: NOW })
    const publicKey = Sm2Point.fromHex(key.server.publicKey).toAffine()
    const ledger = createTwoPartyReplayLedger(key.server.keyId)
    const expected = twoPartyMessageDigest(publicKey, 'what the server prepared')
    expect(
      expectRejected(() => serverSignStep(key.server, ledger, req.message, { now: NOW, expectedDigest: expected })),
    ).toContain('signRequest.digest')
    const right = twoPartyMessageDigest(publicKey, 'what the phone shows')
    expect(serverSignStep(key.server, ledger, req.message, { now: NOW, expectedDigest: right }).message).toHaveLength(
      146,
    )
  })

  it('reads its shares back from JSON', () => {
    const client = JSON.parse(JSON.stringify(key.client)) as TwoPartyClientKeyShare
    const server = JSON.parse(JSON.stringify(key.server)) as TwoPartyServerKeyShare
    const restored = { ...key, client, server }
    expect(runSign(restored).r).toBeGreaterThan(0n)
    expect(hexToBytes(client.clientShare)).toHaveLength(32)
  })
})
