import { GmError } from '../errors.js'
import { type AffinePoint, Sm2Point } from './curve.js'

/**
 * The scalar multiplications SM2 needs, behind one interface so that Node can use the native addon (specialised C
 * arithmetic, constant-time for secret scalars, faster than `openssl speed sm2`) while browsers use pure JavaScript
 * (@noble/curves).
 * Callers validate points they receive before passing them in.
 */
export interface CurveBackend {
  readonly name: 'openssl' | 'noble'
  /** k·G for k in [1, n-1]. */
  mulBase(k: bigint): AffinePoint
  /** k·P for k in [1, n-1] and a validated P. */
  mul(k: bigint, point: AffinePoint): AffinePoint
  /** s·G + t·P with public scalars (verification); undefined when the sum is the point at infinity. */
  mulAdd(s: bigint, t: bigint, point: AffinePoint): AffinePoint | undefined
  /** a·G + b·P with secret a, b in [1, n-1]: two constant-time multiplications (never mulAdd's wNAF). */
  mulBasePlusMul(a: bigint, b: bigint, point: AffinePoint): AffinePoint | undefined
}

export const nobleBackend: CurveBackend = {
  name: 'noble',
  mulBase(k) {
    return Sm2Point.BASE.multiply(k).toAffine()
  },
  mul(k, point) {
    return Sm2Point.fromAffine(point).multiply(k).toAffine()
  },
  mulAdd(s, t, point) {
    const sum = Sm2Point.BASE.multiplyUnsafe(s).add(Sm2Point.fromAffine(point).multiplyUnsafe(t))
    return sum.is0() ? undefined : sum.toAffine()
  },
  mulBasePlusMul(a, b, point) {
    const sum = Sm2Point.BASE.multiply(a).add(Sm2Point.fromAffine(point).multiply(b))
    return sum.is0() ? undefined : sum.toAffine()
  },
}

let active: CurveBackend = nobleBackend

/** The backend in use: OpenSSL's when the native addon has been installed with `useCurveBackend`, else noble. */
export function curveBackend(): CurveBackend {
  return active
}

export function useCurveBackend(backend: CurveBackend): void {
  if (!backend || typeof backend.mulBase !== 'function') throw new GmError('INVALID_ARGUMENT', 'not a curve backend')
  active = backend
}
