import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, concatBytes, hexToBytes } from '../bytes.js'
import { type GmErrorCode, isGmError } from '../errors.js'
import { sm3 } from '../sm3.js'
import { type CurveBackend, curveBackend, useCurveBackend } from './backend.js'
import { invert, mod, N } from './curve.js'
import { sm2PublicKeyFromPem } from './key-encoding.js'
import { generateSm2KeyPair, sm2PublicKeyFromPrivate } from './keys.js'
import {
  createSm2Signer,
  createSm2Verifier,
  SM2_DEFAULT_ID,
  SM2_MAX_ID_BYTES,
  sm2Digest,
  sm2Sign,
  sm2SignatureDerToRaw,
  sm2SignatureRawToDer,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2Za,
} from './signature.js'

const vectors = JSON.parse(readFileSync(new URL('../../../../test/vectors/gm-vectors.json', import.meta.url), 'utf8'))
const example = vectors.sm2_sign_example as Record<string, string>
const curve = vectors.sm2_curve as Record<string, string>

function expectGmError(fn: () => unknown, code: GmErrorCode): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  if (!isGmError(thrown, code)) throw new Error(`expected GmError ${code}, got ${String(thrown)}`)
}

const hex = (value: bigint, bytes = 32) => value.toString(16).padStart(bytes * 2, '0')
/** DER ECDSA-Sig-Value built by hand from INTEGER contents given as hex, for malformed cases. */
const sigDer = (r: string, s: string) => {
  const body = `02${hex(BigInt(r.length / 2), 1)}${r}02${hex(BigInt(s.length / 2), 1)}${s}`
  return hexToBytes(`30${hex(BigInt(body.length / 2), 1)}${body}`)
}

/** Minimal DER INTEGER contents of a non-negative value, as hex. */
const minimal = (value: bigint) => {
  let h = value.toString(16)
  if (h.length % 2) h = `0${h}`
  return Number.parseInt(h.slice(0, 2), 16) & 0x80 ? `00${h}` : h
}

/** Z_A from the standard's layout with Node's SM3, independent of the implementation under test. */
function referenceZa(publicKey: Uint8Array, id: Uint8Array): string {
  const entl = Uint8Array.of((id.length * 8) >> 8, (id.length * 8) & 0xff)
  const fixed = hexToBytes(curve.a! + curve.b! + curve.gx! + curve.gy!)
  return createHash('sm3')
    .update(concatBytes(entl, id, fixed, publicKey.subarray(1)))
    .digest('hex')
}

describe('GB/T 32918.2 example (recommended curve)', () => {
  const d = hexToBytes(example.private_key_d!)
  const publicKey = sm2PublicKeyFromPrivate(d)
  const signature = hexToBytes(example.r! + example.s!)

  it('derives the published public key from d', () => {
    expect(bytesToHex(publicKey)).toBe(`04${example.public_x}${example.public_y}`.toLowerCase())
  })

  it('computes the published Z_A with the default ID', () => {
    expect(example.id_ascii).toBe(SM2_DEFAULT_ID)
    expect(bytesToHex(sm2Za(publicKey))).toBe(example.za!.toLowerCase())
    expect(bytesToHex(sm2Za(publicKey, example.id_ascii))).toBe(example.za!.toLowerCase())
  })

  it('accepts the published (r, s) with the default ID, in raw and DER form', () => {
    expect(sm2Verify(example.message_ascii!, signature, publicKey, { encoding: 'raw' })).toBe(true)
    expect(sm2Verify(example.message_ascii!, sm2SignatureRawToDer(signature), publicKey)).toBe(true)
    const e = sm2Digest(example.message_ascii!, publicKey)
    expect(sm2VerifyDigest(e, signature, publicKey, { encoding: 'raw' })).toBe(true)
  })

  it('rejects the published (r, s) with an empty ID, another ID or another message', () => {
    expect(sm2Verify(example.message_ascii!, signature, publicKey, { encoding: 'raw', id: '' })).toBe(false)
    expect(sm2Verify(example.message_ascii!, signature, publicKey, { encoding: 'raw', id: '1234567812345679' })).toBe(
      false,
    )
    expect(sm2Verify('message digesT', signature, publicKey, { encoding: 'raw' })).toBe(false)
  })
})

describe('OpenSSL 3.0 signatures (fixed, from `openssl pkeyutl -sign -rawin -digest sm3`)', () => {
  const publicKey = sm2PublicKeyFromPem(
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEzJ6PuhYncacpazFgcXWWwdfDPsq+\n' +
      'r/lGNIVmBDBeoworWNTk5OPKLxw1FmZXXKfYwtRKRIdI8oki+47iSv9cCQ==\n-----END PUBLIC KEY-----\n',
  )
  it('verifies one made with -pkeyopt distid:1234567812345678', () => {
    const sig = hexToBytes(
      '3045022100da8ab3ae311bf068c42d7c5c5747bac1d9615e383e0f7e9bfa9141bb4e1eb5c3022045706dd306bdafcc1cf6fe06de6a63bc3f12c3a8accbb0377b5f69f351f942c9',
    )
    expect(sm2Verify('hello', sig, publicKey)).toBe(true)
    expect(sm2Verify('hello', sig, publicKey, { id: '' })).toBe(false)
  })
  it('shows the trap: without distid OpenSSL 3.0 signs with the EMPTY ID', () => {
    const sig = hexToBytes(
      '3046022100c88c37a108586a635913ae85a6f24f7f142f25974c1e06d9b200f404f118069f022100a2917bafd4638b89f83cdd8bb2cf60a52903e5cb2bbd389ca1737a3571805415',
    )
    expect(sm2Verify('hello', sig, publicKey)).toBe(false)
    expect(sm2Verify('hello', sig, publicKey, { id: '' })).toBe(true)
  })
})

describe('Z_A and the digest', () => {
  const { publicKey } = generateSm2KeyPair()

  it('matches the standard layout for empty, default, binary and maximal IDs', () => {
    const ids = [
      new Uint8Array(0),
      new TextEncoder().encode(SM2_DEFAULT_ID),
      Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff),
      new Uint8Array(SM2_MAX_ID_BYTES).fill(0xa5),
    ]
    for (const id of ids) expect(bytesToHex(sm2Za(publicKey, id))).toBe(referenceZa(publicKey, id))
  })

  it('treats a string ID as its UTF-8 bytes', () => {
    const id = '医院-签名者 ✓'
    expect(sm2Za(publicKey, id)).toEqual(sm2Za(publicKey, new TextEncoder().encode(id)))
  })

  it('rejects IDs longer than 8191 bytes and IDs that are neither string nor bytes', () => {
    expectGmError(() => sm2Za(publicKey, new Uint8Array(SM2_MAX_ID_BYTES + 1)), 'INVALID_ARGUMENT')
    expectGmError(() => sm2Za(publicKey, '字'.repeat(2731)), 'INVALID_ARGUMENT') // 8193 bytes of UTF-8
    expectGmError(() => sm2Za(publicKey, 42 as unknown as string), 'INVALID_ARGUMENT')
  })

  it('hashes Z_A ‖ M', () => {
    const m = Uint8Array.of(1, 2, 3)
    expect(sm2Digest(m, publicKey, 'alice')).toEqual(sm3(concatBytes(sm2Za(publicKey, 'alice'), m)))
  })
})

describe('signing and verifying', () => {
  const { privateKey, publicKey } = generateSm2KeyPair()

  it('round-trips in DER and raw, for strings, bytes and empty messages, with several IDs', () => {
    for (const message of ['', 'hello', new Uint8Array(0), Uint8Array.of(0, 255, 7), new Uint8Array(1000)]) {
      for (const id of [undefined, '', 'alice@hospital.example', Uint8Array.of(0, 1, 2, 255)]) {
        for (const encoding of ['der', 'raw'] as const) {
          const sig = sm2Sign(message, privateKey, { id, encoding })
          expect(sm2Verify(message, sig, publicKey, { id, encoding })).toBe(true)
        }
      }
    }
  })

  it('does not verify under another key, ID or message', () => {
    const sig = sm2Sign('order 17', privateKey, { id: 'alice' })
    expect(sm2Verify('order 17', sig, generateSm2KeyPair().publicKey, { id: 'alice' })).toBe(false)
    expect(sm2Verify('order 17', sig, publicKey, { id: 'bob' })).toBe(false)
    expect(sm2Verify('order 17', sig, publicKey)).toBe(false)
    expect(sm2Verify('order 18', sig, publicKey, { id: 'alice' })).toBe(false)
  })

  it('signs digests computed elsewhere, compatibly with message signing', () => {
    const e = sm2Digest('data', publicKey, 'carol')
    const sig = sm2SignDigest(e, privateKey, { encoding: 'raw' })
    expect(sm2Verify('data', sig, publicKey, { id: 'carol', encoding: 'raw' })).toBe(true)
    expect(sm2VerifyDigest(e, sm2Sign('data', privateKey, { id: 'carol' }), publicKey)).toBe(true)
    expectGmError(() => sm2SignDigest(new Uint8Array(31), privateKey), 'INVALID_ARGUMENT')
    expectGmError(() => sm2VerifyDigest(new Uint8Array(33), sig, publicKey), 'INVALID_ARGUMENT')
  })

  it('uses a fresh k: two signatures of one message differ', () => {
    expect(sm2Sign('m', privateKey)).not.toEqual(sm2Sign('m', privateKey))
  })

  it('offers reusable signer and verifier objects', () => {
    const signer = createSm2Signer(privateKey)
    const verifier = createSm2Verifier(publicKey)
    expect(signer.publicKey).toEqual(publicKey)
    signer.publicKey.fill(0) // a copy: the signer is unaffected
    expect(signer.publicKey).toEqual(publicKey)
    const sig = signer.sign('x', { id: 'dave' })
    expect(verifier.verify('x', sig, { id: 'dave' })).toBe(true)
    expect(verifier.verifyDigest(signer.digest('x', 'dave'), sig)).toBe(true)
    expect(
      verifier.verify('x', signer.signDigest(verifier.digest('x'), { encoding: 'raw' }), { encoding: 'raw' }),
    ).toBe(true)
  })

  it('keeps the private key out of the signer object', () => {
    const signer = createSm2Signer(privateKey)
    const d = bytesToHex(privateKey)
    expect(Object.keys(signer)).toEqual([])
    expect(JSON.stringify(signer)).not.toContain(d)
    expect(JSON.stringify(Object.getOwnPropertyNames(signer))).toBe('[]')
  })

  it('notices when a key array is changed after use (the per-array cache compares bytes)', () => {
    const a = generateSm2KeyPair()
    const b = generateSm2KeyPair()
    const key = a.privateKey.slice()
    const pub = a.publicKey.slice()
    expect(sm2Verify('m', sm2Sign('m', key), pub)).toBe(true)
    key.set(b.privateKey)
    pub.set(b.publicKey)
    const sig = sm2Sign('m', key)
    expect(sm2Verify('m', sig, b.publicKey)).toBe(true)
    expect(sm2Verify('m', sig, pub)).toBe(true)
    expect(sm2Verify('m', sig, a.publicKey)).toBe(false)
  })

  it('reads keys and signatures from views into larger buffers', () => {
    const view = (bytes: Uint8Array) => {
      const backing = new Uint8Array(bytes.length + 16).fill(0xee)
      backing.set(bytes, 7)
      return backing.subarray(7, 7 + bytes.length)
    }
    const sig = sm2Sign('views', view(privateKey))
    expect(sm2Verify('views', view(sig), view(publicKey))).toBe(true)
    const raw = sm2Sign('views', view(privateKey), { encoding: 'raw' })
    expect(sm2Verify('views', view(raw), publicKey, { encoding: 'raw' })).toBe(true)
    expect(sm2SignatureDerToRaw(view(sig))).toEqual(sm2SignatureDerToRaw(sig))
  })

  it('writes minimal DER INTEGERs and converts between DER and raw', () => {
    for (let i = 0; i < 64; i++) {
      const der = sm2Sign('x', privateKey)
      const raw = sm2SignatureDerToRaw(der)
      expect(sm2SignatureRawToDer(raw)).toEqual(der)
      // Independent reading of SEQUENCE { INTEGER, INTEGER } with short-form lengths.
      expect(der[0]).toBe(0x30)
      expect(der[1]).toBe(der.length - 2)
      let at = 2
      for (const half of [raw.subarray(0, 32), raw.subarray(32)]) {
        expect(der[at]).toBe(0x02)
        const contents = der.subarray(at + 2, at + 2 + der[at + 1]!)
        expect(contents[0] !== 0 || contents[1]! & 0x80).toBeTruthy()
        expect(contents[0]! & 0x80).toBe(0)
        expect(BigInt(`0x${bytesToHex(contents)}`)).toBe(BigInt(`0x${bytesToHex(half)}`))
        at += 2 + contents.length
      }
      expect(at).toBe(der.length)
    }
    expect(bytesToHex(sm2SignatureRawToDer(hexToBytes(hex(1n) + hex(0x80n))))).toBe('300702010102020080')
  })
})

describe('the retry conditions of GB/T 32918.2 A5 and A6', () => {
  const original = curveBackend()
  afterEach(() => useCurveBackend(original))

  /** A backend whose first mulBase returns an x chosen from k, to force one retry. */
  function forcing(choose: (k: bigint) => bigint): { calls: () => number } {
    let calls = 0
    const forced: CurveBackend = {
      name: original.name,
      mulBase(k) {
        calls++
        return calls === 1 ? { x: choose(k), y: 0n } : original.mulBase(k)
      },
      mul: (k, p) => original.mul(k, p),
      mulAdd: (s, t, p) => original.mulAdd(s, t, p),
      mulBasePlusMul: (a, b, p) => original.mulBasePlusMul(a, b, p),
    }
    useCurveBackend(forced)
    return { calls: () => calls }
  }

  const { privateKey, publicKey } = generateSm2KeyPair()
  const d = BigInt(`0x${bytesToHex(privateKey)}`)
  const signer = createSm2Signer(privateKey)
  const e = sm2Digest('retry', publicKey)
  const eValue = BigInt(`0x${bytesToHex(e)}`)

  it.each([
    ['r = 0', (_k: bigint) => mod(-eValue, N)],
    ['r + k = n', (k: bigint) => mod(N - k - eValue, N)],
    ['s = 0', (k: bigint) => mod(k * invert(d, N) - eValue, N)],
  ])('draws a new k when %s', (_name, choose) => {
    const backend = forcing(choose)
    const sig = signer.signDigest(e)
    expect(backend.calls()).toBe(2)
    useCurveBackend(original)
    expect(sm2Verify('retry', sig, publicKey)).toBe(true)
  })
})

describe('malformed signatures throw INVALID_SIGNATURE', () => {
  const { privateKey, publicKey } = generateSm2KeyPair()
  const good = sm2Sign('m', privateKey)
  const raw = sm2SignatureDerToRaw(good)
  const rValue = BigInt(`0x${bytesToHex(raw.subarray(0, 32))}`)
  const sValue = BigInt(`0x${bytesToHex(raw.subarray(32))}`)
  const bad = (signature: Uint8Array, encoding: 'der' | 'raw' = 'der') =>
    expectGmError(() => sm2Verify('m', signature, publicKey, { encoding }), 'INVALID_SIGNATURE')

  it('rejects truncated and extended DER', () => {
    for (let cut = 0; cut < good.length; cut++) bad(good.subarray(0, cut))
    bad(concatBytes(good, Uint8Array.of(0)))
    bad(concatBytes(good, good))
  })

  it('rejects BER: long-form and indefinite lengths', () => {
    const body = good.subarray(2)
    bad(concatBytes(Uint8Array.of(0x30, 0x81, body.length), body))
    bad(concatBytes(Uint8Array.of(0x30, 0x80), body, Uint8Array.of(0, 0)))
    const rInt = `02${hex(BigInt(minimal(rValue).length / 2), 1)}${minimal(rValue)}`
    const sLongForm = `0281${hex(BigInt(minimal(sValue).length / 2), 1)}${minimal(sValue)}`
    const inner = rInt + sLongForm
    bad(hexToBytes(`30${hex(BigInt(inner.length / 2), 1)}${inner}`))
    expect(sm2Verify('m', sigDer(minimal(rValue), minimal(sValue)), publicKey)).toBe(true)
  })

  it('rejects non-minimal, negative and empty INTEGERs', () => {
    const small = hex(5n, 1)
    expect(sm2Verify('m', sigDer(small, small), publicKey)).toBe(false) // well-formed, just wrong
    bad(sigDer(`00${small}`, small))
    bad(sigDer(small, `0000${small}`))
    bad(sigDer(`00${minimal(rValue)}`, minimal(sValue)))
    bad(sigDer('ff', small)) // -1
    bad(sigDer('', small))
  })

  it('rejects r or s equal to 0, n, or larger, in DER and raw', () => {
    const cases = [
      [0n, 1n],
      [1n, 0n],
      [N, 1n],
      [1n, N],
      [N + 1n, 1n],
      [(1n << 256n) - 1n, 1n],
    ] as const
    for (const [rv, sv] of cases) {
      bad(hexToBytes(hex(rv) + hex(sv)), 'raw')
      bad(sigDer(minimal(rv), minimal(sv)))
    }
  })

  it('rejects wrong raw lengths and non-byte input', () => {
    for (const length of [0, 32, 63, 65, 72]) bad(new Uint8Array(length).fill(1), 'raw')
    bad('3006020101020101' as unknown as Uint8Array)
  })

  it('returns false (no throw) for well-formed signatures with r + s = n', () => {
    expect(sm2Verify('m', hexToBytes(hex(1n) + hex(N - 1n)), publicKey, { encoding: 'raw' })).toBe(false)
  })

  it('rejects unknown encodings with INVALID_ARGUMENT', () => {
    expectGmError(() => sm2Verify('m', good, publicKey, { encoding: 'pem' as unknown as 'der' }), 'INVALID_ARGUMENT')
    expectGmError(() => sm2Sign('m', privateKey, { encoding: 'hex' as unknown as 'der' }), 'INVALID_ARGUMENT')
  })
})

describe('bad keys', () => {
  const { privateKey, publicKey } = generateSm2KeyPair()
  const sig = sm2Sign('m', privateKey)

  it('throws INVALID_POINT for public keys that are not uncompressed points on the curve', () => {
    const offCurve = publicKey.slice()
    offCurve[64]! ^= 1
    const compressed = concatBytes(Uint8Array.of(2 + (publicKey[64]! & 1)), publicKey.subarray(1, 33))
    const infinity = Uint8Array.of(0)
    const zeros = concatBytes(Uint8Array.of(4), new Uint8Array(64))
    const xTooLarge = concatBytes(Uint8Array.of(4), new Uint8Array(32).fill(0xff), publicKey.subarray(33))
    for (const key of [offCurve, compressed, infinity, zeros, xTooLarge, publicKey.subarray(0, 64), new Uint8Array()]) {
      expectGmError(() => sm2Verify('m', sig, key), 'INVALID_POINT')
      expectGmError(() => sm2Za(key), 'INVALID_POINT')
    }
    expectGmError(() => createSm2Verifier('04' as unknown as Uint8Array), 'INVALID_POINT')
  })

  it('throws INVALID_KEY for private keys 0, n-1, n, above n, or of the wrong length', () => {
    for (const d of [0n, N - 1n, N, N + 1n, (1n << 256n) - 1n]) {
      expectGmError(() => sm2Sign('m', hexToBytes(hex(d))), 'INVALID_KEY')
      expectGmError(() => createSm2Signer(hexToBytes(hex(d))), 'INVALID_KEY')
    }
    expectGmError(() => sm2Sign('m', privateKey.subarray(1)), 'INVALID_KEY')
    expectGmError(() => sm2Sign('m', concatBytes(Uint8Array.of(0), privateKey)), 'INVALID_KEY')
    const nMinus2 = hexToBytes(hex(N - 2n))
    expect(sm2Verify('m', sm2Sign('m', nMinus2), sm2PublicKeyFromPrivate(nMinus2))).toBe(true)
  })
})
