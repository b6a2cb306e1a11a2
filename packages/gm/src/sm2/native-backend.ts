import { GmError } from '../errors.js'
import { requireNativeAddon } from '../native-addon.js'
import type { CurveBackend } from './backend.js'
import { type AffinePoint, N, P } from './curve.js'

/**
 * The native curve backend (named 'openssl' for compatibility): packages/gm/native, a C addon with SM2 arithmetic
 * specialised for the curve (sm2p256.c: constant-time comb and fixed-window multiplications on complete formulas
 * for the secret scalars of mulBase, mul and mulBasePlusMul), several times faster than OpenSSL 3.0's generic code,
 * which the addon still carries for differential tests. See packages/gm/native/README.md.
 */

/** The addon's exports (sm2.c): big-endian byte strings, points uncompressed 04‖x‖y, null for infinity. */
interface NativeSm2 {
  mulBase(k: Uint8Array): Uint8Array
  mul(k: Uint8Array, point: Uint8Array): Uint8Array
  mulAdd(s: Uint8Array, t: Uint8Array, point: Uint8Array): Uint8Array | null
  mulBasePlusMul(a: Uint8Array, b: Uint8Array, point: Uint8Array): Uint8Array | null
  /** 'sm2p256' (specialised C arithmetic) or 'openssl' (EC_POINT_mul, when built without unsigned __int128). */
  readonly arithmetic?: string
  readonly opensslVersion: string
}

/**
 * The addon relative to this module (src/sm2/ or dist/sm2/), for tests that load it directly; the backend loads it
 * through requireNativeAddon (../native-addon.ts).
 */
export const NATIVE_ADDON_PATH = '../../native/build/Release/yiqian_gm.node'

/** How to get the addon, for messages. */
export const NATIVE_BUILD_HINT =
  'build it with `npm run build:native -w @yiqian/gm` (needs Python 3, make and a C compiler)'

let loaded: CurveBackend | null | undefined // null: tried and failed
let loadError: unknown

/**
 * The OpenSSL backend, or undefined where the addon is unavailable: browsers and other runtimes without
 * `process.getBuiltinModule`, an addon that was not built, or a node whose OpenSSL cannot serve it. Callers then
 * keep the @noble/curves backend, which is correct but slower (about 1.7x for mulBase, 8-10x for mul and mulAdd).
 * Loads once.
 */
export function loadOpensslBackend(): CurveBackend | undefined {
  if (loaded === undefined) {
    try {
      loaded = createBackend(requireAddon())
    } catch (error) {
      loadError = error
      loaded = null
    }
  }
  return loaded ?? undefined
}

/** Why the last loadOpensslBackend() returned undefined (for diagnostics), or undefined if it did not. */
export function opensslBackendLoadError(): unknown {
  return loadError
}

function requireAddon(): NativeSm2 {
  const addon = requireNativeAddon() as NativeSm2
  if (typeof addon?.mulBase !== 'function') throw new Error(`${NATIVE_ADDON_PATH} is not the SM2 addon`)
  return addon
}

// The hot path converts through preallocated buffers: calls are synchronous, so one set per module suffices.
// bigint <-> bytes through DataView's 64-bit accessors measured ~70 ns per scalar in and ~420 ns per point out on
// Node 20, against ~230 ns in (toString(16) plus a hex decode) and ~400-530 ns out for hex; both are under
// 0.2% of a ~400 µs multiplication.
const scalarA = new Uint8Array(32)
const scalarB = new Uint8Array(32)
const pointIn = new Uint8Array(65)
const viewA = new DataView(scalarA.buffer)
const viewB = new DataView(scalarB.buffer)
const viewPoint = new DataView(pointIn.buffer)
pointIn[0] = 4

/** Writes a scalar in [1, n-1] big-endian; setBigUint64 keeps the low 64 bits, so no masking is needed. */
function putScalar(view: DataView, k: bigint): void {
  if (typeof k !== 'bigint' || k <= 0n || k >= N) throw new GmError('INVALID_KEY', 'scalar must be in [1, n-1]')
  view.setBigUint64(0, k >> 192n)
  view.setBigUint64(8, k >> 128n)
  view.setBigUint64(16, k >> 64n)
  view.setBigUint64(24, k)
}

function putCoordinate(offset: number, v: bigint): void {
  viewPoint.setBigUint64(offset, v >> 192n)
  viewPoint.setBigUint64(offset + 8, v >> 128n)
  viewPoint.setBigUint64(offset + 16, v >> 64n)
  viewPoint.setBigUint64(offset + 24, v)
}

/** Encodes 04‖x‖y; the addon then checks the point is on the curve. The range check matters: 64-bit truncation
 * would otherwise turn x + 2^256 into x. */
function putPoint(point: AffinePoint): Uint8Array {
  const { x, y } = point
  if (typeof x !== 'bigint' || typeof y !== 'bigint' || x < 0n || x >= P || y < 0n || y >= P) {
    throw new GmError('INVALID_POINT', 'coordinate out of range')
  }
  putCoordinate(1, x)
  putCoordinate(33, y)
  return pointIn
}

function getCoordinate(view: DataView, offset: number): bigint {
  return (
    (view.getBigUint64(offset) << 192n) |
    (view.getBigUint64(offset + 8) << 128n) |
    (view.getBigUint64(offset + 16) << 64n) |
    view.getBigUint64(offset + 24)
  )
}

function getPoint(bytes: Uint8Array): AffinePoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 65)
  return { x: getCoordinate(view, 1), y: getCoordinate(view, 33) }
}

const ADDON_CODES = new Set(['INVALID_KEY', 'INVALID_POINT', 'INVALID_ARGUMENT'])

/** The addon throws Errors with a `code`; input errors become GmError, anything else is a bug and passes through. */
function translate(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && ADDON_CODES.has(code)) {
    return new GmError(code as 'INVALID_KEY' | 'INVALID_POINT' | 'INVALID_ARGUMENT', (error as Error).message, {
      cause: error,
    })
  }
  return error
}

function createBackend(addon: NativeSm2): CurveBackend {
  return {
    name: 'openssl',
    mulBase(k) {
      try {
        putScalar(viewA, k)
        return getPoint(addon.mulBase(scalarA))
      } catch (error) {
        throw translate(error)
      } finally {
        scalarA.fill(0) // the scalar is usually a private key or nonce: do not leave it in a long-lived buffer
      }
    },
    mul(k, point) {
      try {
        putScalar(viewA, k)
        return getPoint(addon.mul(scalarA, putPoint(point)))
      } catch (error) {
        throw translate(error)
      } finally {
        scalarA.fill(0)
      }
    },
    mulAdd(s, t, point) {
      try {
        putScalar(viewA, s)
        putScalar(viewB, t)
        const sum = addon.mulAdd(scalarA, scalarB, putPoint(point))
        return sum === null ? undefined : getPoint(sum)
      } catch (error) {
        throw translate(error)
      }
    },
    mulBasePlusMul(a, b, point) {
      try {
        putScalar(viewA, a)
        putScalar(viewB, b)
        const sum = addon.mulBasePlusMul(scalarA, scalarB, putPoint(point))
        return sum === null ? undefined : getPoint(sum)
      } catch (error) {
        throw translate(error)
      } finally {
        scalarA.fill(0)
        scalarB.fill(0)
      }
    },
  }
}
