import { spawnSync } from 'node:child_process'
import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bytesToHex, concatBytes, hexToBytes } from './bytes.js'
import { GmError } from './errors.js'
import {
  createSm4BlockCipher,
  sm4Ctr,
  sm4DecryptBlock,
  sm4DecryptCbc,
  sm4DecryptEcb,
  sm4EncryptBlock,
  sm4EncryptCbc,
  sm4EncryptEcb,
} from './sm4.js'

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/gm-vectors.json', import.meta.url), 'utf8')) as {
  sm4: { key: string; plaintext: string; ciphertext: string; ciphertext_after_1000000_encryptions: string }
}
const { sm4: vector } = vectors

/** Plain Uint8Arrays, so that results compare equal (Node's randomBytes gives Buffers). */
const randomBytes = (length: number): Uint8Array => new Uint8Array(nodeRandomBytes(length))

function errorOf(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  return undefined
}

function expectGmError(action: () => unknown, code: string): GmError {
  const error = errorOf(action)
  expect(error).toBeInstanceOf(GmError)
  expect((error as GmError).code).toBe(code)
  return error as GmError
}

/** Block-by-block reference built from the single-block primitive. */
function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((byte, i) => byte ^ b[i]!)
}

describe('SM4 published vectors (GB/T 32907)', () => {
  const key = hexToBytes(vector.key)
  const plaintext = hexToBytes(vector.plaintext)

  it('encrypts and decrypts the example block', () => {
    expect(bytesToHex(sm4EncryptBlock(key, plaintext))).toBe(vector.ciphertext)
    expect(bytesToHex(sm4DecryptBlock(key, hexToBytes(vector.ciphertext)))).toBe(vector.plaintext)
    expect(bytesToHex(sm4EncryptEcb(key, plaintext, { padding: 'none' }))).toBe(vector.ciphertext)
  })

  it('encrypts the example block 1,000,000 times', () => {
    const cipher = createSm4BlockCipher(key)
    let block = plaintext
    for (let i = 0; i < 1_000_000; i++) block = cipher.encryptBlock(block)
    expect(bytesToHex(block)).toBe(vector.ciphertext_after_1000000_encryptions)
  })

  it('returns plain Uint8Arrays, not Buffers', () => {
    expect(Object.getPrototypeOf(sm4EncryptBlock(key, plaintext))).toBe(Uint8Array.prototype)
    expect(Object.getPrototypeOf(sm4EncryptCbc(key, randomBytes(16), plaintext))).toBe(Uint8Array.prototype)
  })
})

describe('modes', () => {
  it('ECB and CBC with PKCS #7 always pad, round-trip every length 0..64, and match the block primitive', () => {
    const key = randomBytes(16)
    const iv = randomBytes(16)
    for (let length = 0; length <= 64; length++) {
      const plaintext = randomBytes(length)
      const count = 16 - (length % 16)
      const padded = concatBytes(plaintext, new Uint8Array(count).fill(count))
      const ecb = sm4EncryptEcb(key, plaintext)
      const cbc = sm4EncryptCbc(key, iv, plaintext)
      expect(ecb).toHaveLength(padded.length)
      let previous: Uint8Array = iv
      for (let o = 0; o < padded.length; o += 16) {
        expect(ecb.subarray(o, o + 16)).toEqual(sm4EncryptBlock(key, padded.subarray(o, o + 16)))
        previous = sm4EncryptBlock(key, xor(padded.subarray(o, o + 16), previous))
        expect(cbc.subarray(o, o + 16)).toEqual(previous)
      }
      expect(sm4DecryptEcb(key, ecb)).toEqual(plaintext)
      expect(sm4DecryptCbc(key, iv, cbc)).toEqual(plaintext)
    }
  })

  it('CTR is its own inverse and increments the IV as one 128-bit integer', () => {
    const key = randomBytes(16)
    // The low 64 bits are all ones, so the second block carries into the high half.
    const iv = hexToBytes('0123456789abcdeeffffffffffffffff')
    const data = randomBytes(45)
    const out = sm4Ctr(key, iv, data)
    expect(sm4Ctr(key, iv, out)).toEqual(data)
    const counters = [
      '0123456789abcdeeffffffffffffffff',
      '0123456789abcdef0000000000000000',
      '0123456789abcdef0000000000000001',
    ]
    const keystream = concatBytes(...counters.map((c) => sm4EncryptBlock(key, hexToBytes(c))))
    expect(out).toEqual(xor(data, keystream.subarray(0, 45)))
    expect(sm4Ctr(key, iv, new Uint8Array(0))).toHaveLength(0)
  })

  it('a block cipher object serves both directions and ignores later changes to the key array', () => {
    const key = randomBytes(16)
    const block = randomBytes(16)
    const expected = sm4EncryptBlock(key, block)
    const cipher = createSm4BlockCipher(key)
    key.fill(0)
    expect(cipher.encryptBlock(block)).toEqual(expected)
    expect(cipher.decryptBlock(expected)).toEqual(block)
  })
})

const opensslHasSm4 =
  spawnSync('openssl', ['enc', '-sm4-ecb', '-K', '00'.repeat(16), '-nopad'], { input: '' }).status === 0

describe.skipIf(!opensslHasSm4)('interoperability with the OpenSSL command line', () => {
  function openssl(args: string[], input: Uint8Array): Uint8Array {
    const run = spawnSync('openssl', ['enc', ...args], { input })
    if (run.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${run.stderr}`)
    return new Uint8Array(run.stdout)
  }

  const cases = Array.from({ length: 4 }, (_, i) => ({
    key: randomBytes(16),
    iv: randomBytes(16),
    plaintext: randomBytes(i === 0 ? 0 : randomInt(1, 200)),
    blocks: randomBytes(16 * randomInt(1, 12)),
  }))

  it.each(cases.map((c, i) => [i, c] as const))('case %i: ECB, CBC and CTR both directions', (_, c) => {
    const k = bytesToHex(c.key)
    const iv = bytesToHex(c.iv)
    const ecb = sm4EncryptEcb(c.key, c.plaintext)
    expect(ecb).toEqual(openssl(['-sm4-ecb', '-K', k], c.plaintext))
    expect(sm4DecryptEcb(c.key, ecb)).toEqual(openssl(['-d', '-sm4-ecb', '-K', k], ecb))
    const ecbRaw = sm4EncryptEcb(c.key, c.blocks, { padding: 'none' })
    expect(ecbRaw).toEqual(openssl(['-sm4-ecb', '-K', k, '-nopad'], c.blocks))
    expect(sm4DecryptEcb(c.key, c.blocks, { padding: 'none' })).toEqual(
      openssl(['-d', '-sm4-ecb', '-K', k, '-nopad'], c.blocks),
    )

    const cbc = openssl(['-sm4-cbc', '-K', k, '-iv', iv], c.plaintext)
    expect(sm4EncryptCbc(c.key, c.iv, c.plaintext)).toEqual(cbc)
    expect(sm4DecryptCbc(c.key, c.iv, cbc)).toEqual(c.plaintext)
    expect(openssl(['-d', '-sm4-cbc', '-K', k, '-iv', iv], sm4EncryptCbc(c.key, c.iv, c.plaintext))).toEqual(
      c.plaintext,
    )
    expect(sm4EncryptCbc(c.key, c.iv, c.blocks, { padding: 'none' })).toEqual(
      openssl(['-sm4-cbc', '-K', k, '-iv', iv, '-nopad'], c.blocks),
    )
    expect(sm4DecryptCbc(c.key, c.iv, c.blocks, { padding: 'none' })).toEqual(
      openssl(['-d', '-sm4-cbc', '-K', k, '-iv', iv, '-nopad'], c.blocks),
    )

    const ctr = openssl(['-sm4-ctr', '-K', k, '-iv', iv], c.plaintext)
    expect(sm4Ctr(c.key, c.iv, c.plaintext)).toEqual(ctr)
    expect(openssl(['-d', '-sm4-ctr', '-K', k, '-iv', iv], sm4Ctr(c.key, c.iv, c.plaintext))).toEqual(c.plaintext)
  })
})

describe('hostile input', () => {
  const key = randomBytes(16)
  const iv = randomBytes(16)

  it('rejects keys, IVs and blocks of the wrong length or type with INVALID_ARGUMENT', () => {
    const bad = [new Uint8Array(0), randomBytes(15), randomBytes(17), randomBytes(32), 'x'.repeat(16), null, undefined]
    for (const wrong of bad as Uint8Array[]) {
      expectGmError(() => sm4EncryptEcb(wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4DecryptEcb(wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4EncryptCbc(wrong, iv, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4EncryptCbc(key, wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4DecryptCbc(key, wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4Ctr(wrong, iv, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4Ctr(key, wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4EncryptBlock(wrong, randomBytes(16)), 'INVALID_ARGUMENT')
      expectGmError(() => sm4EncryptBlock(key, wrong), 'INVALID_ARGUMENT')
      expectGmError(() => sm4DecryptBlock(key, wrong), 'INVALID_ARGUMENT')
    }
    expectGmError(() => sm4Ctr(key, iv, 'text' as unknown as Uint8Array), 'INVALID_ARGUMENT')
    expectGmError(() => sm4EncryptEcb(key, 'text' as unknown as Uint8Array), 'INVALID_ARGUMENT')
  })

  it('rejects unknown padding options and unpadded plaintext that is not whole blocks', () => {
    expectGmError(() => sm4EncryptEcb(key, randomBytes(16), { padding: 'zero' as 'none' }), 'INVALID_ARGUMENT')
    expectGmError(() => sm4DecryptCbc(key, iv, randomBytes(16), { padding: 'pkcs5' as 'none' }), 'INVALID_ARGUMENT')
    expectGmError(() => sm4EncryptEcb(key, randomBytes(17), { padding: 'none' }), 'INVALID_ARGUMENT')
    expectGmError(() => sm4EncryptCbc(key, iv, randomBytes(15), { padding: 'none' }), 'INVALID_ARGUMENT')
  })

  it('rejects ciphertext that is empty or not whole blocks with INVALID_CIPHERTEXT', () => {
    for (const length of [0, 1, 15, 17, 33]) {
      expectGmError(() => sm4DecryptEcb(key, randomBytes(length)), 'INVALID_CIPHERTEXT')
      expectGmError(() => sm4DecryptCbc(key, iv, randomBytes(length)), 'INVALID_CIPHERTEXT')
    }
    for (const length of [1, 15, 17]) {
      expectGmError(() => sm4DecryptEcb(key, randomBytes(length), { padding: 'none' }), 'INVALID_CIPHERTEXT')
    }
    expect(sm4DecryptEcb(key, new Uint8Array(0), { padding: 'none' })).toHaveLength(0)
  })

  it('rejects every kind of bad padding with one indistinguishable error', () => {
    const body = randomBytes(16)
    const badLastBlocks = [
      new Uint8Array(16), // count 0
      new Uint8Array(16).fill(17), // count above the block size
      new Uint8Array(16).fill(0xff),
      Uint8Array.of(...new Uint8Array(12), 9, 4, 4, 4), // count 4, one byte of the pad differs
      Uint8Array.of(...new Uint8Array(13), 2, 3, 3), // count 3, first pad byte differs
      Uint8Array.of(15, ...new Uint8Array(15).fill(16)), // count 16, first byte differs
    ]
    const messages = new Set<string>()
    for (const last of badLastBlocks) {
      const padded = concatBytes(body, last)
      const ecb = sm4EncryptEcb(key, padded, { padding: 'none' })
      const cbc = sm4EncryptCbc(key, iv, padded, { padding: 'none' })
      messages.add(expectGmError(() => sm4DecryptEcb(key, ecb), 'INVALID_CIPHERTEXT').message)
      messages.add(expectGmError(() => sm4DecryptCbc(key, iv, cbc), 'INVALID_CIPHERTEXT').message)
    }
    expect(messages.size).toBe(1)
    // The boundary cases that are valid: a full block of 16s, and a single 1.
    const fullPad = sm4EncryptEcb(key, concatBytes(body, new Uint8Array(16).fill(16)), { padding: 'none' })
    expect(sm4DecryptEcb(key, fullPad)).toEqual(body)
    const onePad = sm4EncryptEcb(key, concatBytes(body, body.subarray(0, 15), Uint8Array.of(1)), { padding: 'none' })
    expect(sm4DecryptEcb(key, onePad)).toEqual(concatBytes(body, body.subarray(0, 15)))
  })

  it('a wrong key almost always shows up as bad padding, never as a crash', () => {
    const ciphertext = sm4EncryptCbc(key, iv, randomBytes(40))
    for (let i = 0; i < 50; i++) {
      const error = errorOf(() => sm4DecryptCbc(randomBytes(16), iv, ciphertext))
      if (error !== undefined) expect((error as GmError).code).toBe('INVALID_CIPHERTEXT')
    }
  })
})

describe('without Node crypto (the browser path)', () => {
  const original = process.getBuiltinModule

  afterEach(() => {
    process.getBuiltinModule = original
    vi.resetModules()
  })

  it('every SM4 function throws UNSUPPORTED_ALGORITHM', async () => {
    // @ts-expect-error simulating a runtime without getBuiltinModule
    process.getBuiltinModule = undefined
    vi.resetModules()
    const browser = await import('./sm4.js')
    const key = randomBytes(16)
    const block = randomBytes(16)
    const calls = [
      () => browser.sm4EncryptBlock(key, block),
      () => browser.sm4DecryptBlock(key, block),
      () => browser.sm4EncryptEcb(key, block),
      () => browser.sm4DecryptEcb(key, block),
      () => browser.sm4EncryptCbc(key, block, block),
      () => browser.sm4DecryptCbc(key, block, block),
      () => browser.sm4Ctr(key, block, block),
    ]
    // The fresh module graph has its own GmError class, so compare by name and code.
    for (const call of calls) expect(errorOf(call)).toMatchObject({ name: 'GmError', code: 'UNSUPPORTED_ALGORITHM' })
  })
})
