import { describe, expect, it } from 'vitest'
import { bytesToHex, equalBytes, hexToBytes } from '../bytes.js'
import { type GmErrorCode, isGmError } from '../errors.js'
import { sm2Decrypt, sm2Encrypt } from './encryption.js'
import {
  sm2PrivateKeyFromPem,
  sm2PrivateKeyFromPkcs8,
  sm2PrivateKeyFromSec1,
  sm2PrivateKeyToPem,
  sm2PrivateKeyToPkcs8,
  sm2PrivateKeyToSec1,
  sm2PublicKeyFromPem,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToPem,
  sm2PublicKeyToSpki,
} from './key-encoding.js'
import { sm2PublicKeyFromPrivate } from './keys.js'
import { sm2Sign, sm2Verify } from './signature.js'

// Seeded mutation of valid signatures, keys and ciphertexts. Every outcome must be a typed GmError with an expected
// code, or `false` for a signature; a modified signature must never verify and a modified ciphertext never decrypt.

/** mulberry32: small, fast and good enough to spread mutations; the seed makes failures reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEED = 20_240_301

/** `npm run fuzz` sets YIQIAN_FUZZ_CASES to run every loop that many times; the normal run keeps each loop's count. */
const cases = (normal: number) => Number(process.env.YIQIAN_FUZZ_CASES ?? normal)
/** The time budget grows with the largest loop (the unit project's 30 s default covers the normal run). */
const TIMEOUT = Math.max(30_000, cases(0) * 10)

function mutateBytes(input: Uint8Array, random: () => number): { bytes: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(random() * n)
  const at = int(input.length)
  const kind = int(7)
  let bytes: Uint8Array
  let how: string
  switch (kind) {
    case 0: {
      bytes = input.slice()
      const bit = int(8)
      bytes[at]! ^= 1 << bit
      how = `flip bit ${bit} of byte ${at}`
      break
    }
    case 1: {
      bytes = input.slice()
      bytes[at] = (bytes[at]! + 1 + int(255)) & 0xff
      how = `replace byte ${at}`
      break
    }
    case 2:
      bytes = input.slice(0, at)
      how = `truncate to ${at}`
      break
    case 3: {
      const extra = Uint8Array.from({ length: 1 + int(4) }, () => int(256))
      bytes = new Uint8Array([...input, ...extra])
      how = `append ${bytesToHex(extra)}`
      break
    }
    case 4: {
      const b = int(256)
      bytes = new Uint8Array([...input.subarray(0, at), b, ...input.subarray(at)])
      how = `insert ${b} at ${at}`
      break
    }
    case 5:
      bytes = new Uint8Array([...input.subarray(0, at), ...input.subarray(at + 1)])
      how = `delete byte ${at}`
      break
    default: {
      bytes = input.slice()
      const flips = 2 + int(3)
      for (let i = 0; i < flips; i++) bytes[int(bytes.length)]! ^= 1 << int(8)
      how = `flip ${flips} random bits`
    }
  }
  if (equalBytes(bytes, input)) {
    bytes = input.slice()
    bytes[0]! ^= 0x40
    how += ' (then flip bit 6 of byte 0)'
  }
  return { bytes, how }
}

function mutateText(input: string, random: () => number): { text: string; how: string } {
  const int = (n: number) => Math.floor(random() * n)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=- \n\r\t:!'
  const at = int(input.length)
  const c = alphabet[int(alphabet.length)]!
  switch (int(4)) {
    case 0:
      return { text: input.slice(0, at) + c + input.slice(at + 1), how: `replace char ${at} with ${JSON.stringify(c)}` }
    case 1:
      return { text: input.slice(0, at) + c + input.slice(at), how: `insert ${JSON.stringify(c)} at ${at}` }
    case 2:
      return { text: input.slice(0, at) + input.slice(at + 1), how: `delete char ${at}` }
    default:
      return { text: input.slice(0, at), how: `truncate to ${at}` }
  }
}

type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; code: GmErrorCode }
  | { kind: 'crash'; error: unknown }

function outcomeOf(fn: () => unknown): Outcome {
  try {
    return { kind: 'value', value: fn() }
  } catch (error) {
    return isGmError(error) ? { kind: 'error', code: error.code } : { kind: 'crash', error }
  }
}

/** Runs `count` mutations and throws on the first unacceptable outcome, naming it. */
function fuzz<T extends Uint8Array | string>(
  name: string,
  valid: readonly T[],
  count: number,
  attempt: (input: T) => unknown,
  acceptable: (outcome: Outcome, input: T, original: T) => boolean,
): Record<string, number> {
  const random = seeded(SEED ^ name.length ^ (name.charCodeAt(0) << 8))
  const tally: Record<string, number> = {}
  for (let i = 0; i < count; i++) {
    const original = valid[i % valid.length]!
    const mutated =
      typeof original === 'string'
        ? mutateText(original, random)
        : (({ bytes, how }) => ({ text: bytes, how }))(mutateBytes(original, random))
    const input = mutated.text as T
    const outcome = outcomeOf(() => attempt(input))
    const label = outcome.kind === 'error' ? outcome.code : outcome.kind === 'value' ? String(outcome.value) : 'crash'
    tally[label] = (tally[label] ?? 0) + 1
    if (!acceptable(outcome, input, original)) {
      const shown = typeof input === 'string' ? JSON.stringify(input) : bytesToHex(input as Uint8Array)
      const detail =
        outcome.kind === 'crash'
          ? String(outcome.error)
          : JSON.stringify(outcome, (_k, v) => (v instanceof Uint8Array ? bytesToHex(v) : v))
      throw new Error(`${name} case ${i} (${mutated.how}) gave ${detail} for input ${shown}`)
    }
  }
  return tally
}

const KEY_CODES: readonly GmErrorCode[] = ['INVALID_ENCODING', 'INVALID_KEY', 'INVALID_POINT', 'UNSUPPORTED_ALGORITHM']

describe(`seeded mutations (seed ${SEED})`, () => {
  const privateKey = hexToBytes('3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8')
  const publicKey = sm2PublicKeyFromPrivate(privateKey)
  const message = 'mutation target'

  it('never lets a modified signature verify', { timeout: TIMEOUT }, () => {
    const der = Array.from({ length: 16 }, () => sm2Sign(message, privateKey))
    const raw = Array.from({ length: 16 }, () => sm2Sign(message, privateKey, { encoding: 'raw' }))
    for (const [encoding, valid, count] of [
      ['der', der, cases(2000)],
      ['raw', raw, cases(400)],
    ] as const) {
      const tally = fuzz(
        `signature-${encoding}`,
        valid,
        count,
        (sig) => sm2Verify(message, sig, publicKey, { encoding }),
        (o) => (o.kind === 'value' && o.value === false) || (o.kind === 'error' && o.code === 'INVALID_SIGNATURE'),
      )
      expect(tally.true).toBeUndefined()
    }
  })

  it('never accepts a modified DER key', { timeout: TIMEOUT }, () => {
    const pkcs8 = [sm2PrivateKeyToPkcs8(privateKey)]
    const sec1 = [sm2PrivateKeyToSec1(privateKey)]
    const spki = [sm2PublicKeyToSpki(publicKey)]
    const rejected = (o: Outcome) => o.kind === 'error' && KEY_CODES.includes(o.code)
    fuzz('pkcs8', pkcs8, cases(1000), sm2PrivateKeyFromPkcs8, rejected)
    fuzz('sec1', sec1, cases(1000), sm2PrivateKeyFromSec1, rejected)
    fuzz('spki', spki, cases(1000), sm2PublicKeyFromSpki, rejected)
  })

  it('accepts a modified PEM only when it still carries the same key', { timeout: TIMEOUT }, () => {
    const same = (expected: unknown) => (o: Outcome) =>
      (o.kind === 'error' && KEY_CODES.includes(o.code)) ||
      (o.kind === 'value' &&
        JSON.stringify(o.value, (_k, v) => (v instanceof Uint8Array ? bytesToHex(v) : v)) === expected)
    const pair = JSON.stringify({ privateKey: bytesToHex(privateKey), publicKey: bytesToHex(publicKey) })
    fuzz('pem-pkcs8', [sm2PrivateKeyToPem(privateKey)], cases(600), sm2PrivateKeyFromPem, same(pair))
    fuzz('pem-sec1', [sm2PrivateKeyToPem(privateKey, 'sec1')], cases(600), sm2PrivateKeyFromPem, same(pair))
    fuzz(
      'pem-spki',
      [sm2PublicKeyToPem(publicKey)],
      cases(600),
      sm2PublicKeyFromPem,
      same(JSON.stringify(bytesToHex(publicKey))),
    )
  })

  it('never decrypts a modified ciphertext', { timeout: TIMEOUT }, () => {
    const plaintext = new TextEncoder().encode('0123456789abcdef')
    for (const format of ['c1c3c2', 'asn1'] as const) {
      const valid = Array.from({ length: 4 }, () => sm2Encrypt(publicKey, plaintext, { format }))
      fuzz(
        `ciphertext-${format}`,
        valid,
        cases(400),
        (c) => sm2Decrypt(privateKey, c, { format }),
        (o) => o.kind === 'error' && o.code === 'INVALID_CIPHERTEXT',
      )
    }
  })

  it('rejects random bytes everywhere with typed errors', { timeout: TIMEOUT }, () => {
    const random = seeded(SEED + 1)
    const noise = Array.from({ length: cases(300) }, () =>
      Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
    )
    // Random bytes behind a plausible SEQUENCE header reach deeper into the parsers.
    const framed = noise.map((n) => new Uint8Array([0x30, Math.min(n.length, 127), ...n]))
    for (const input of [...noise, ...framed]) {
      for (const [fn, codes] of [
        [() => sm2PrivateKeyFromPkcs8(input), KEY_CODES],
        [() => sm2PrivateKeyFromSec1(input), KEY_CODES],
        [() => sm2PublicKeyFromSpki(input), KEY_CODES],
        [() => sm2Verify(message, input, publicKey), ['INVALID_SIGNATURE']],
        [() => sm2Decrypt(privateKey, input, { format: 'asn1' }), ['INVALID_CIPHERTEXT']],
        [() => sm2Decrypt(privateKey, input), ['INVALID_CIPHERTEXT']],
      ] as const) {
        const outcome = outcomeOf(fn)
        const ok =
          (outcome.kind === 'error' && (codes as readonly GmErrorCode[]).includes(outcome.code)) ||
          (outcome.kind === 'value' && outcome.value === false)
        if (!ok) throw new Error(`random input ${bytesToHex(input)} gave ${JSON.stringify(outcome)}`)
      }
    }
  })
})
