import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { bytesToBigInt, bytesToHex, randomBytes } from '../bytes.js'
import { isGmError } from '../errors.js'
import { type CurveBackend, curveBackend, nobleBackend, useCurveBackend } from './backend.js'
import { type AffinePoint, invert, mod, N, P, SM2_CURVE, validatePoint } from './curve.js'
import { loadOpensslBackend, NATIVE_ADDON_PATH, NATIVE_BUILD_HINT, opensslBackendLoadError } from './native-backend.js'

const G: AffinePoint = { x: SM2_CURVE.Gx, y: SM2_CURVE.Gy }

// Not skipped when missing: a CI without the addon would silently run verification and two-party signing 8-10x slower.
function openssl(): CurveBackend {
  const backend = loadOpensslBackend()
  if (!backend) {
    throw new Error(`the OpenSSL SM2 addon did not load (${String(opensslBackendLoadError())}); ${NATIVE_BUILD_HINT}`)
  }
  return backend
}

/** Uniform enough in [1, n-1] for testing. */
function randomScalar(): bigint {
  return mod(bytesToBigInt(randomBytes(40)), N - 1n) + 1n
}

const hex = (v: bigint) => v.toString(16).padStart(64, '0')

function expectGmError(fn: () => unknown, code: 'INVALID_KEY' | 'INVALID_POINT'): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(isGmError(thrown, code), `expected GmError ${code}, got ${String(thrown)}`).toBe(true)
}

describe('loadOpensslBackend', () => {
  it('loads the native addon (build it with `npm run build:native -w @yiqian/gm` if this fails)', () => {
    expect(
      loadOpensslBackend(),
      `the OpenSSL SM2 addon did not load (${String(opensslBackendLoadError())}); ${NATIVE_BUILD_HINT}`,
    ).toBeDefined()
    expect(openssl().name).toBe('openssl')
    expect(loadOpensslBackend()).toBe(loadOpensslBackend())
  })

  it('installs as the curve backend', () => {
    try {
      useCurveBackend(openssl())
      expect(curveBackend().name).toBe('openssl')
    } finally {
      useCurveBackend(nobleBackend)
    }
  })
})

describe('OpenSSL backend agrees with noble', () => {
  it('mulBase for random scalars and the edges', () => {
    const ossl = openssl()
    const scalars = [1n, 2n, 3n, N - 1n, N - 2n, (N - 1n) / 2n, (N + 1n) / 2n, 2n ** 255n, 2n ** 128n - 1n, 0xffn]
    for (let i = 0; i < 1000; i++) scalars.push(randomScalar())
    for (const k of scalars) expect(ossl.mulBase(k), `k = ${hex(k)}`).toEqual(nobleBackend.mulBase(k))
    expect(ossl.mulBase(1n)).toEqual(G)
    expect(ossl.mulBase(N - 1n)).toEqual({ x: G.x, y: P - G.y })
  })

  it('mul for random scalars and points, and the edges', () => {
    const ossl = openssl()
    for (let i = 0; i < 300; i++) {
      const point = nobleBackend.mulBase(randomScalar())
      const k = i === 0 ? 1n : i === 1 ? N - 1n : randomScalar()
      expect(ossl.mul(k, point), `k = ${hex(k)}, P = ${hex(point.x)}`).toEqual(nobleBackend.mul(k, point))
    }
    const point = nobleBackend.mulBase(randomScalar())
    expect(ossl.mul(1n, point)).toEqual(point)
    expect(ossl.mul(N - 1n, point)).toEqual({ x: point.x, y: P - point.y })
  })

  it('mulAdd for random scalars and points', () => {
    const ossl = openssl()
    for (let i = 0; i < 300; i++) {
      const point = nobleBackend.mulBase(randomScalar())
      const s = randomScalar()
      const t = randomScalar()
      expect(ossl.mulAdd(s, t, point), `s = ${hex(s)}, t = ${hex(t)}`).toEqual(nobleBackend.mulAdd(s, t, point))
    }
  })

  it('mulAdd edges: the point at infinity, doubling, 1·G + 1·G', () => {
    const ossl = openssl()
    for (const s of [1n, 2n, N - 1n, randomScalar(), randomScalar()]) {
      expect(ossl.mulAdd(s, N - s, G), `s = ${hex(s)}`).toBeUndefined()
      expect(nobleBackend.mulAdd(s, N - s, G)).toBeUndefined()
    }
    // s·G + t·Q = O for Q = q·G and t = -s/q
    const q = randomScalar()
    const s = randomScalar()
    expect(ossl.mulAdd(s, mod(-s * invert(q, N), N), ossl.mulBase(q))).toBeUndefined()
    // s·G + s·G: the addition inside is a doubling
    expect(ossl.mulAdd(s, s, G)).toEqual(ossl.mulBase(mod(2n * s, N)))
    expect(ossl.mulAdd(1n, 1n, G)).toEqual(nobleBackend.mulBase(2n))
    expect(ossl.mulAdd(N - 1n, N - 1n, G)).toEqual(nobleBackend.mulBase(N - 2n))
  })

  // Thousands more, checked by algebra on the OpenSSL side alone (noble at ~3 ms per variable-point multiplication
  // would make this file slow): k·G through mul equals mulBase, and s·G + t·(q·G) equals (s + t·q)·G.
  it('mul and mulAdd agree with mulBase by algebra', () => {
    const ossl = openssl()
    for (let i = 0; i < 1000; i++) {
      const k = randomScalar()
      const q = randomScalar()
      const s = randomScalar()
      const Q = ossl.mulBase(q)
      expect(ossl.mul(k, G), `k = ${hex(k)}`).toEqual(ossl.mulBase(k))
      expect(ossl.mul(k, Q), `k = ${hex(k)}, q = ${hex(q)}`).toEqual(ossl.mulBase(mod(k * q, N)))
      expect(ossl.mulAdd(s, k, Q), `s = ${hex(s)}, t = ${hex(k)}, q = ${hex(q)}`).toEqual(
        ossl.mulBase(mod(s + k * q, N)),
      )
    }
  })

  it('returns points on the curve', () => {
    const ossl = openssl()
    for (let i = 0; i < 20; i++) {
      const point = ossl.mul(randomScalar(), ossl.mulBase(randomScalar()))
      expect(() => validatePoint(point)).not.toThrow()
    }
  })
})

describe('OpenSSL backend rejects invalid input with typed errors', () => {
  const badScalars: unknown[] = [0n, N, N + 1n, 2n ** 256n - 1n, 2n ** 256n, -1n, 1, '1', undefined]

  it('scalars 0, >= n, negative or not bigints: INVALID_KEY', () => {
    const ossl = openssl()
    const point = ossl.mulBase(randomScalar())
    for (const bad of badScalars) {
      const k = bad as bigint
      expectGmError(() => ossl.mulBase(k), 'INVALID_KEY')
      expectGmError(() => ossl.mul(k, point), 'INVALID_KEY')
      expectGmError(() => ossl.mulAdd(k, 1n, point), 'INVALID_KEY')
      expectGmError(() => ossl.mulAdd(1n, k, point), 'INVALID_KEY')
    }
  })

  it('points off the curve or with coordinates out of range: INVALID_POINT', () => {
    const ossl = openssl()
    const bad: AffinePoint[] = [
      { x: G.x, y: G.y + 1n }, // off the curve: rejected by OpenSSL, translated to GmError
      { x: 0n, y: 0n },
      { x: G.x, y: G.y + P }, // would alias G if the encoder truncated
      { x: G.x + 2n ** 256n, y: G.y },
      { x: P, y: G.y },
      { x: -G.x, y: G.y },
      { x: 1, y: 2 } as unknown as AffinePoint,
    ]
    for (const point of bad) {
      expectGmError(() => ossl.mul(2n, point), 'INVALID_POINT')
      expectGmError(() => ossl.mulAdd(2n, 3n, point), 'INVALID_POINT')
    }
  })

  it('does not disturb node:crypto after OpenSSL rejected a point', () => {
    const ossl = openssl()
    for (let i = 0; i < 10; i++) expectGmError(() => ossl.mul(2n, { x: G.x, y: G.y + 1n }), 'INVALID_POINT')
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const data = new TextEncoder().encode('yiqian')
    expect(verify('sha256', data, publicKey, sign('sha256', data, privateKey))).toBe(true)
  })
})

describe('the addon itself (C checks, before the TS wrapper)', () => {
  interface Addon {
    mulBase(k: unknown): Uint8Array
    mul(k: unknown, point: unknown): Uint8Array
    mulAdd(s: unknown, t: unknown, point: unknown): Uint8Array | null
    opensslVersion: string
  }
  const addon = () => {
    openssl() // fails with the build hint first
    return createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon
  }
  const be = (v: bigint, length: number) =>
    Uint8Array.from(Buffer.from(v.toString(16).padStart(length * 2, '0'), 'hex'))
  const encodeG = () => Uint8Array.of(4, ...be(G.x, 32), ...be(G.y, 32))
  const one = be(1n, 32)

  function expectCode(fn: () => unknown, code: string): void {
    expect(fn).toThrow(expect.objectContaining({ code }))
  }

  it('speaks 32-byte scalars and 65-byte uncompressed points', () => {
    const native = addon()
    expect(native.opensslVersion).toMatch(/^OpenSSL 3\./)
    expect(bytesToHex(native.mulBase(one))).toBe(bytesToHex(encodeG()))
    expect(bytesToHex(native.mul(one, encodeG()))).toBe(bytesToHex(encodeG()))
    expect(native.mulAdd(one, be(N - 1n, 32), encodeG())).toBeNull()
  })

  it('rejects scalars of the wrong length, zero or >= n with INVALID_KEY', () => {
    const native = addon()
    for (const k of [new Uint8Array(32), be(N, 32), be(N + 1n, 32), be(2n ** 256n - 1n, 32), be(1n, 31), be(1n, 33)]) {
      expectCode(() => native.mulBase(k), 'INVALID_KEY')
      expectCode(() => native.mul(k, encodeG()), 'INVALID_KEY')
      expectCode(() => native.mulAdd(k, one, encodeG()), 'INVALID_KEY')
      expectCode(() => native.mulAdd(one, k, encodeG()), 'INVALID_KEY')
    }
    expect(bytesToHex(native.mulBase(be(N - 1n, 32)))).toBe(
      `04${hex(G.x)}${hex(P - G.y)}`, // n-1 is the largest valid scalar
    )
  })

  it('rejects compressed, hybrid, infinity, truncated and off-curve encodings with INVALID_POINT', () => {
    const native = addon()
    const g = encodeG()
    const x = g.subarray(1, 33)
    const yOdd = (G.y & 1n) === 1n
    const bad = [
      Uint8Array.of(yOdd ? 3 : 2, ...x), // valid compressed G
      Uint8Array.of(2, ...g.subarray(1)), // 65 bytes with a compressed prefix
      Uint8Array.of(3, ...g.subarray(1)),
      Uint8Array.of(yOdd ? 7 : 6, ...g.subarray(1)), // valid hybrid G
      Uint8Array.of(0), // infinity
      Uint8Array.of(0, ...g.subarray(1)),
      new Uint8Array(65),
      g.subarray(0, 64),
      Uint8Array.of(...g, 0),
      Uint8Array.of(4, ...x, ...be(G.y + 1n, 32)), // off the curve
      Uint8Array.of(4, ...be(P, 32), ...be(G.y, 32)), // x = p
    ]
    for (const point of bad) {
      expectCode(() => native.mul(one, point), 'INVALID_POINT')
      expectCode(() => native.mulAdd(one, one, point), 'INVALID_POINT')
    }
  })

  it('rejects arguments that are not Uint8Arrays with a TypeError', () => {
    const native = addon()
    const g = encodeG()
    for (const wrong of [1n, 1, 'ab', null, new Uint16Array(16), new DataView(new ArrayBuffer(32)), [...one]]) {
      expect(() => native.mulBase(wrong)).toThrow(TypeError)
      expect(() => native.mul(wrong, g)).toThrow(TypeError)
      expect(() => native.mul(one, wrong)).toThrow(TypeError)
    }
    expect(() => (native.mulBase as () => unknown)()).toThrow(TypeError)
    expect(() => native.mulAdd(one, one, undefined)).toThrow(TypeError)
    // Buffers and views at an offset are Uint8Arrays too
    const padded = new Uint8Array(70)
    padded.set(g, 3)
    expect(bytesToHex(native.mul(Buffer.from(one), padded.subarray(3, 68)))).toBe(bytesToHex(g))
  })
})

describe('mulBasePlusMul (secret a·G + b·P)', () => {
  it('equals noble on random scalars and points, and gives undefined for infinity', () => {
    const backend = loadOpensslBackend()!
    for (let i = 0; i < 200; i++) {
      const a = (bytesToBigInt(randomBytes(32)) % (N - 1n)) + 1n
      const b = (bytesToBigInt(randomBytes(32)) % (N - 1n)) + 1n
      const point = nobleBackend.mulBase((bytesToBigInt(randomBytes(32)) % (N - 1n)) + 1n)
      expect(backend.mulBasePlusMul(a, b, point)).toEqual(nobleBackend.mulBasePlusMul(a, b, point))
    }
    // a·G + (n - a)·G = O
    const g = nobleBackend.mulBase(1n)
    expect(backend.mulBasePlusMul(5n, N - 5n, g)).toBeUndefined()
    expect(nobleBackend.mulBasePlusMul(5n, N - 5n, g)).toBeUndefined()
  })

  it('rejects a zero scalar and an off-curve point', () => {
    const backend = loadOpensslBackend()!
    const g = nobleBackend.mulBase(1n)
    expect(() => backend.mulBasePlusMul(0n, 1n, g)).toThrowError(expect.objectContaining({ code: 'INVALID_KEY' }))
    expect(() => backend.mulBasePlusMul(1n, 1n, { x: g.x, y: g.y + 1n })).toThrowError(
      expect.objectContaining({ code: 'INVALID_POINT' }),
    )
  })
})
