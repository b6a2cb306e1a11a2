import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { bytesToBigInt, bytesToHex, randomBytes } from '../bytes.js'
import { sm3, sm3Portable } from '../sm3.js'
import { nobleBackend } from './backend.js'
import { type AffinePoint, mod, N, P, SM2_CURVE } from './curve.js'
import { loadOpensslBackend, NATIVE_ADDON_PATH, NATIVE_BUILD_HINT, opensslBackendLoadError } from './native-backend.js'

// Differential tests of the addon's specialised SM2 arithmetic (native/sm2p256.c: Montgomery field, complete RCB
// formulas, fixed-base comb and fixed windows) against OpenSSL's EC_POINT_mul (the addon's openssl* exports, same
// process) and against @noble/curves.

type Bytes = Uint8Array
interface Addon {
  mulBase(k: Bytes): Bytes
  mul(k: Bytes, point: Bytes): Bytes
  mulAdd(s: Bytes, t: Bytes, point: Bytes): Bytes | null
  mulBasePlusMul(a: Bytes, b: Bytes, point: Bytes): Bytes | null
  opensslMulBase(k: Bytes): Bytes
  opensslMul(k: Bytes, point: Bytes): Bytes
  opensslMulAdd(s: Bytes, t: Bytes, point: Bytes): Bytes | null
  opensslMulBasePlusMul(a: Bytes, b: Bytes, point: Bytes): Bytes | null
  readonly arithmetic: string
  sm3(data: Bytes): Bytes
}

function addon(): Addon {
  if (!loadOpensslBackend()) {
    throw new Error(`the SM2 addon did not load (${String(opensslBackendLoadError())}); ${NATIVE_BUILD_HINT}`)
  }
  return createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon
}

const G: AffinePoint = { x: SM2_CURVE.Gx, y: SM2_CURVE.Gy }
const hex = (v: bigint) => v.toString(16).padStart(64, '0')
const be = (v: bigint) => Uint8Array.from(Buffer.from(hex(v), 'hex'))
const encode = (p: AffinePoint) => Uint8Array.of(4, ...be(p.x), ...be(p.y))
const show = (b: Bytes | null | undefined) => (b ? bytesToHex(b) : 'infinity')
const showAffine = (p: AffinePoint | undefined) => (p ? bytesToHex(encode(p)) : 'infinity')

function randomScalar(): bigint {
  return mod(bytesToBigInt(randomBytes(40)), N - 1n) + 1n
}

/** Random scalars, plus some with long runs of zero or one bits (sparse, dense, single bits, all-ones nibbles). */
function structuredScalar(i: number): bigint {
  const r = randomScalar()
  switch (i % 8) {
    case 0:
      return 1n << BigInt(i % 256) // a single bit
    case 1:
      return mod((1n << BigInt(1 + (i % 255))) - 1n, N - 1n) + 1n // a run of ones from bit 0
    case 2:
      return mod(r & ~((1n << 200n) - 1n), N - 1n) + 1n // 200 low zero bits
    case 3:
      return mod(r | ((1n << 128n) - 1n), N - 1n) + 1n // 128 low one bits
    case 4:
      return mod(r & 0xf0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0n, N - 1n) + 1n // zero nibbles
    default:
      return r
  }
}

describe('sm2p256 arithmetic (the default exports) against OpenSSL and noble', () => {
  it('is the arithmetic in use', () => {
    expect(addon().arithmetic).toBe('sm2p256')
  })

  it('2,000 random and structured scalars and points: mulBase, mul, mulAdd, mulBasePlusMul equal OpenSSL', () => {
    const native = addon()
    for (let i = 0; i < 2000; i++) {
      const k = structuredScalar(i)
      const s = randomScalar()
      const q = i % 3 === 0 ? structuredScalar(i + 3) : randomScalar()
      const kb = be(k)
      const sb = be(s)
      const point = native.opensslMulBase(be(q))
      const where = `i = ${i}, k = ${hex(k)}, s = ${hex(s)}, q = ${hex(q)}`
      expect(show(native.mulBase(kb)), where).toBe(show(native.opensslMulBase(kb)))
      expect(show(native.mul(kb, point)), where).toBe(show(native.opensslMul(kb, point)))
      expect(show(native.mulAdd(sb, kb, point)), where).toBe(show(native.opensslMulAdd(sb, kb, point)))
      expect(show(native.mulAdd(kb, sb, point)), where).toBe(show(native.opensslMulAdd(kb, sb, point)))
      expect(show(native.mulBasePlusMul(sb, kb, point)), where).toBe(show(native.opensslMulBasePlusMul(sb, kb, point)))
    }
  }, 120_000)

  it('2,000 mulBase and 500 each of mul, mulAdd, mulBasePlusMul equal noble', () => {
    const native = addon()
    for (let i = 0; i < 2000; i++) {
      const k = structuredScalar(i)
      expect(show(native.mulBase(be(k))), `k = ${hex(k)}`).toBe(showAffine(nobleBackend.mulBase(k)))
      if (i % 4 !== 0) continue
      const s = randomScalar()
      const q = randomScalar()
      const Q = nobleBackend.mulBase(q)
      const where = `k = ${hex(k)}, s = ${hex(s)}, q = ${hex(q)}`
      expect(show(native.mul(be(k), encode(Q))), where).toBe(showAffine(nobleBackend.mul(k, Q)))
      expect(show(native.mulAdd(be(s), be(k), encode(Q))), where).toBe(showAffine(nobleBackend.mulAdd(s, k, Q)))
      expect(show(native.mulBasePlusMul(be(s), be(k), encode(Q))), where).toBe(
        showAffine(nobleBackend.mulBasePlusMul(s, k, Q)),
      )
    }
  }, 120_000)

  it('edge scalars: 1, 2, 3, n-1, n-2, (n±1)/2, 2^255, single bits, runs of ones', () => {
    const native = addon()
    const edges = [1n, 2n, 3n, 15n, 16n, 17n, N - 1n, N - 2n, N - 3n, (N - 1n) / 2n, (N + 1n) / 2n, 2n ** 255n]
    for (let b = 0n; b < 256n; b += 17n) edges.push(1n << b, mod((1n << (b + 1n)) - 1n, N - 1n) + 1n)
    edges.push(N - (1n << 128n), (1n << 252n) - 1n, 0xf000000000000000000000000000000000000000000000000000000000000001n)
    const Q = native.opensslMulBase(be(randomScalar()))
    const g = encode(G)
    for (const k of edges) {
      const kb = be(k)
      expect(show(native.mulBase(kb)), `k = ${hex(k)}`).toBe(show(native.opensslMulBase(kb)))
      expect(show(native.mul(kb, Q)), `k = ${hex(k)}`).toBe(show(native.opensslMul(kb, Q)))
      expect(show(native.mul(kb, g)), `k = ${hex(k)}`).toBe(show(native.opensslMulBase(kb)))
      for (const t of [1n, 2n, N - 1n, N - 2n, k]) {
        expect(show(native.mulAdd(kb, be(t), Q)), `s = ${hex(k)}, t = ${hex(t)}`).toBe(
          show(native.opensslMulAdd(kb, be(t), Q)),
        )
        expect(show(native.mulBasePlusMul(kb, be(t), Q)), `a = ${hex(k)}, b = ${hex(t)}`).toBe(
          show(native.opensslMulBasePlusMul(kb, be(t), Q)),
        )
      }
    }
    expect(show(native.mulBase(be(1n)))).toBe(show(g))
    expect(show(native.mulBase(be(N - 1n)))).toBe(show(encode({ x: G.x, y: P - G.y })))
  })

  it('P = G and P = -G, sums at infinity, sums that are doublings', () => {
    const native = addon()
    const g = encode(G)
    const minusG = encode({ x: G.x, y: P - G.y })
    for (const s of [1n, 2n, 3n, N - 1n, N - 2n, ...Array.from({ length: 50 }, randomScalar)]) {
      const sb = be(s)
      const nb = be(N - s)
      // s·G + (n-s)·G = O and s·G + s·(-G) = O
      expect(native.mulAdd(sb, nb, g), `s = ${hex(s)}`).toBeNull()
      expect(native.mulAdd(sb, sb, minusG), `s = ${hex(s)}`).toBeNull()
      expect(native.mulBasePlusMul(sb, nb, g), `s = ${hex(s)}`).toBeNull()
      expect(native.mulBasePlusMul(sb, sb, minusG), `s = ${hex(s)}`).toBeNull()
      expect(native.opensslMulAdd(sb, nb, g)).toBeNull()
      // s·G + s·G = 2s·G (the final addition is a doubling)
      const twice = show(native.opensslMulBase(be(mod(2n * s, N))))
      expect(show(native.mulAdd(sb, sb, g)), `s = ${hex(s)}`).toBe(twice)
      expect(show(native.mulBasePlusMul(sb, sb, g)), `s = ${hex(s)}`).toBe(twice)
      // k·(-G) = (n-k)·G
      expect(show(native.mul(sb, minusG))).toBe(show(native.opensslMulBase(nb)))
      expect(show(native.mul(sb, g))).toBe(show(native.opensslMulBase(sb)))
    }
    // s·G + t·Q = O for Q = q·G and t = -s/q, with Q not a small multiple of G
    for (let i = 0; i < 50; i++) {
      const q = randomScalar()
      const s = randomScalar()
      const t = mod(-s * modInverse(q), N)
      expect(native.mulAdd(be(s), be(t), native.opensslMulBase(be(q)))).toBeNull()
      expect(native.mulBasePlusMul(be(s), be(t), native.opensslMulBase(be(q)))).toBeNull()
    }
    // 1·G + 1·G, (n-1)·G + (n-1)·G
    expect(show(native.mulAdd(be(1n), be(1n), g))).toBe(show(native.opensslMulBase(be(2n))))
    expect(show(native.mulAdd(be(N - 1n), be(N - 1n), g))).toBe(show(native.opensslMulBase(be(N - 2n))))
  })

  it('rejects off-curve, infinity and out-of-range points, and bad scalars, like OpenSSL', () => {
    const native = addon()
    const g = encode(G)
    const one = be(1n)
    const bad: Bytes[] = [
      encode({ x: G.x, y: G.y + 1n }), // off the curve
      encode({ x: G.x, y: P - G.y + 1n }),
      encode({ x: 0n, y: 0n }), // infinity written as (0, 0)
      new Uint8Array(65), // no 04 prefix
      Uint8Array.of(0), // the SEC 1 infinity
      Uint8Array.of(4, ...be(P), ...be(G.y)), // x = p
      Uint8Array.of(4, ...be(G.x), ...be(P)), // y = p
      Uint8Array.of(4, ...be(P), ...be(P)),
      Uint8Array.of(4, ...be(2n ** 256n - 1n), ...be(G.y)),
      Uint8Array.of(2, ...g.subarray(1)),
      g.subarray(0, 64),
    ]
    for (const point of bad) {
      for (const fn of [
        () => native.mul(one, point),
        () => native.mulAdd(one, one, point),
        () => native.mulBasePlusMul(one, one, point),
      ]) {
        expect(fn).toThrow(expect.objectContaining({ code: 'INVALID_POINT' }))
      }
    }
    for (const k of [new Uint8Array(32), be(N), be(N + 1n), be(2n ** 256n - 1n)]) {
      for (const fn of [
        () => native.mulBase(k),
        () => native.mul(k, g),
        () => native.mulAdd(k, one, g),
        () => native.mulAdd(one, k, g),
        () => native.mulBasePlusMul(k, one, g),
        () => native.mulBasePlusMul(one, k, g),
      ]) {
        expect(fn).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }))
      }
    }
  })

  it('accepts every valid point OpenSSL accepts (points from both arithmetics round-trip)', () => {
    const native = addon()
    for (let i = 0; i < 200; i++) {
      const k = randomScalar()
      const point = native.mulBase(be(k))
      expect(show(native.mul(be(1n), point))).toBe(show(point))
      expect(show(native.opensslMul(be(1n), point))).toBe(show(point))
    }
  })
})

describe('the sm3 export of the addon', () => {
  it('equals node:crypto and the portable SM3 for lengths around the block size, and is what sm3() uses', () => {
    const native = addon()
    expect(typeof native.sm3).toBe('function')
    for (const length of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 1024, 4096, 16384, 65_535]) {
      const data = randomBytes(length)
      const expected = createHash('sm3').update(data).digest('hex')
      expect(bytesToHex(native.sm3(data)), `length ${length}`).toBe(expected)
      expect(bytesToHex(sm3Portable(data)), `length ${length}`).toBe(expected)
      expect(bytesToHex(sm3(data)), `length ${length}`).toBe(expected)
      // a view at an offset into a larger buffer
      const padded = new Uint8Array(length + 7)
      padded.set(data, 3)
      expect(bytesToHex(native.sm3(padded.subarray(3, 3 + length))), `length ${length}`).toBe(expected)
    }
    expect(bytesToHex(sm3('abc'))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0')
    for (const wrong of [undefined, 'abc', [1, 2], new Uint16Array(4)]) {
      expect(() => native.sm3(wrong as unknown as Bytes)).toThrow(TypeError)
    }
  })

  it('sm3Into writes exactly 32 bytes into the caller’s buffer and refuses a wrong one', () => {
    const native = addon() as unknown as { sm3Into(data: Bytes, out: Bytes): void }
    const data = randomBytes(1000)
    const canvas = new Uint8Array(40).fill(0xee)
    native.sm3Into(data, canvas.subarray(4, 36))
    expect(bytesToHex(canvas.subarray(4, 36))).toBe(createHash('sm3').update(data).digest('hex'))
    expect([...canvas.subarray(0, 4), ...canvas.subarray(36)]).toEqual(new Array(8).fill(0xee))
    for (const out of [new Uint8Array(31), new Uint8Array(33), new Uint16Array(16), undefined]) {
      expect(() => native.sm3Into(data, out as unknown as Bytes)).toThrow(TypeError)
    }
  })

  it('sm3() results are independent 32-byte values even though they share a pool', () => {
    const a = sm3('a')
    const b = sm3('b')
    expect(a.byteLength).toBe(32)
    const copy = a.slice()
    b.fill(0)
    expect(bytesToHex(a)).toBe(bytesToHex(copy))
    expect(bytesToHex(a)).toBe(createHash('sm3').update('a').digest('hex'))
    expect(copy.buffer.byteLength).toBe(32)
  })
})

function modInverse(a: bigint): bigint {
  let result = 1n
  let base = mod(a, N)
  for (let e = N - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % N
    base = (base * base) % N
  }
  return result
}
