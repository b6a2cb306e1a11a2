import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bytesToHex } from './bytes.js'
import { isGmError } from './errors.js'
import { createSm3, hmacSm3, hmacSm3Portable, sm3, sm3Portable } from './sm3.js'
import { Sm3PortableHasher } from './sm3-portable.js'

// Published vectors (GB/T 32905), copied from the shared vector set into the repository.
const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/gm-vectors.json', import.meta.url), 'utf8')) as {
  sm3: Array<{ message_ascii: string; digest: string }>
}

/** The vector file writes the long message as "abcd repeated 16 times (64 bytes)". */
function messageOf(text: string): Uint8Array {
  const repeated = /^(\S+) repeated (\d+) times/.exec(text)
  return new TextEncoder().encode(repeated ? repeated[1]!.repeat(Number(repeated[2])) : text)
}

const nodeSm3 = (data: Uint8Array): string => createHash('sm3').update(data).digest('hex')
const nodeHmac = (key: Uint8Array, data: Uint8Array): string => createHmac('sm3', key).update(data).digest('hex')

/** Feeds `data` to a hasher in random-sized pieces, including empty ones. */
function hashInPieces(hasher: { update(data: Uint8Array): unknown; digest(): Uint8Array }, data: Uint8Array) {
  for (let offset = 0; offset < data.length; ) {
    const size = randomInt(0, 150)
    hasher.update(data.subarray(offset, offset + size))
    offset += size
  }
  return bytesToHex(hasher.digest())
}

describe('sm3', () => {
  it('expands the long vector message to 64 bytes', () => {
    expect(messageOf(vectors.sm3[1]!.message_ascii)).toHaveLength(64)
  })

  describe.each([
    ['node', sm3],
    ['portable', sm3Portable],
  ] as const)('%s implementation', (_, hash) => {
    it.each(vectors.sm3.map((v) => [v.message_ascii, v] as const))('matches the published vector for %s', (_, v) => {
      expect(bytesToHex(hash(messageOf(v.message_ascii)))).toBe(v.digest.toLowerCase())
    })

    it('hashes strings as UTF-8', () => {
      expect(hash('医签')).toEqual(hash(new TextEncoder().encode('医签')))
    })

    it('returns a plain Uint8Array', () => {
      expect(Object.getPrototypeOf(hash('abc'))).toBe(Uint8Array.prototype)
    })

    it('rejects input that is neither bytes nor a string', () => {
      expect(() => hash(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    })
  })

  it('tells different inputs apart', () => {
    expect(sm3('abc')).not.toEqual(sm3('abd'))
  })

  it('portable equals OpenSSL on every length from 0 to 300 and thousands of random ones up to 1000', () => {
    const lengths = [
      ...Array.from({ length: 301 }, (_, n) => n),
      ...Array.from({ length: 3000 }, () => randomInt(1001)),
    ]
    for (const n of [55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) lengths.push(n)
    for (const n of lengths) {
      const data = randomBytes(n)
      if (bytesToHex(sm3Portable(data)) !== nodeSm3(data)) expect.fail(`portable SM3 differs at length ${n}`)
    }
  })

  it('portable equals OpenSSL on a multi-megabyte input, in one piece and in many', () => {
    const data = randomBytes(5 * 1024 * 1024 + 17)
    expect(bytesToHex(sm3Portable(data))).toBe(nodeSm3(data))
    const chunked = data.subarray(0, 300_000)
    expect(hashInPieces(new Sm3PortableHasher(), chunked)).toBe(nodeSm3(chunked))
  })
})

describe('createSm3', () => {
  it.each([
    ['node', createSm3],
    ['portable', () => new Sm3PortableHasher()],
  ] as const)('%s: pieces hash like the whole, and a finished hasher refuses more', (_, create) => {
    for (const n of [0, 1, 55, 56, 64, 65, 1000, 10_000]) {
      const data = randomBytes(n)
      expect(hashInPieces(create(), data)).toBe(nodeSm3(data))
    }
    const hasher = create().update('abc')
    expect(bytesToHex(hasher.digest())).toBe(vectors.sm3[0]!.digest)
    expect(() => hasher.update('more')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => hasher.digest()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('portable clone continues independently of the original', () => {
    const prefix = new Sm3PortableHasher().update('prefix-')
    const copy = prefix.clone()
    expect(bytesToHex(copy.update('a').digest())).toBe(bytesToHex(sm3('prefix-a')))
    expect(bytesToHex(prefix.update('b').digest())).toBe(bytesToHex(sm3('prefix-b')))
  })
})

describe('hmacSm3', () => {
  const keyLengths = [0, 1, 16, 32, 63, 64, 65, 100, 128, 1000]

  it.each(keyLengths)('equals OpenSSL HMAC-SM3 with a %i-byte key, natively and portably', (keyLength) => {
    for (const dataLength of [0, 1, 55, 64, 65, 200, 5000]) {
      const key = randomBytes(keyLength)
      const data = randomBytes(dataLength)
      const expected = nodeHmac(key, data)
      expect(bytesToHex(hmacSm3(key, data))).toBe(expected)
      expect(bytesToHex(hmacSm3Portable(key, data))).toBe(expected)
    }
  })

  it('follows RFC 2104 spelled out with SM3', () => {
    const key = randomBytes(80) // longer than a block: hashed first
    const data = randomBytes(33)
    const block = new Uint8Array(64)
    block.set(sm3(key))
    const pad = (byte: number) => block.map((b) => b ^ byte)
    const inner = sm3(Buffer.concat([pad(0x36), data]))
    expect(hmacSm3(key, data)).toEqual(sm3(Buffer.concat([pad(0x5c), inner])))
  })

  it('takes string data as UTF-8 and rejects a key that is not bytes', () => {
    const key = randomBytes(16)
    expect(hmacSm3(key, '签名')).toEqual(hmacSm3(key, new TextEncoder().encode('签名')))
    expect(hmacSm3Portable(key, '签名')).toEqual(hmacSm3(key, '签名'))
    for (const hmac of [hmacSm3, hmacSm3Portable]) {
      let error: unknown
      try {
        hmac('key' as unknown as Uint8Array, 'data')
      } catch (caught) {
        error = caught
      }
      expect(isGmError(error, 'INVALID_ARGUMENT')).toBe(true)
    }
  })
})

describe('without Node crypto (the browser path)', () => {
  const original = process.getBuiltinModule

  afterEach(() => {
    process.getBuiltinModule = original
    vi.resetModules()
  })

  it('sm3, createSm3 and hmacSm3 fall back to the portable implementation', async () => {
    // @ts-expect-error simulating a runtime without getBuiltinModule
    process.getBuiltinModule = undefined
    vi.resetModules()
    const browser = await import('./sm3.js')
    const key = randomBytes(70)
    const data = randomBytes(1000)
    expect(bytesToHex(browser.sm3(data))).toBe(nodeSm3(data))
    expect(hashInPieces(browser.createSm3(), data)).toBe(nodeSm3(data))
    expect(browser.createSm3()).toBeInstanceOf((await import('./sm3-portable.js')).Sm3PortableHasher)
    expect(bytesToHex(browser.hmacSm3(key, data))).toBe(nodeHmac(key, data))
  })
})
