import { toBytes } from './bytes.js'
import { GmError } from './errors.js'

// SM3 (GB/T 32905) in plain TypeScript, for browsers where Node's OpenSSL is absent. Words are kept as int32 and
// normalised with `>>> 0` only on output, which keeps V8 on its small-integer fast path.

const INITIAL_STATE = Int32Array.of(
  0x7380166f,
  0x4914b2b9,
  0x172442d7,
  0xda8a0600,
  0xa96f30bc,
  0x163138aa,
  0xe38dee4d,
  0xb0fb0e4e,
)

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n))

/** T_j <<< j, precomputed: the rotation amount is fixed per round. */
const ROUND_CONSTANTS = Int32Array.from({ length: 64 }, (_, j) => rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32))

/** One message schedule shared by every hasher: compression is synchronous, so it is never in use twice. */
const W = new Int32Array(68)

function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  for (let j = 0; j < 16; j++, offset += 4) {
    W[j] = (block[offset]! << 24) | (block[offset + 1]! << 16) | (block[offset + 2]! << 8) | block[offset + 3]!
  }
  for (let j = 16; j < 68; j++) {
    const x = W[j - 16]! ^ W[j - 9]! ^ rotl(W[j - 3]!, 15)
    W[j] = x ^ rotl(x, 15) ^ rotl(x, 23) ^ rotl(W[j - 13]!, 7) ^ W[j - 6]!
  }
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  let e = state[4]!
  let f = state[5]!
  let g = state[6]!
  let h = state[7]!
  // FF and GG are XOR in rounds 0-15 and majority/choice after; two loops keep that branch out of the rounds.
  for (let j = 0; j < 16; j++) {
    const a12 = rotl(a, 12)
    const ss1 = rotl((a12 + e + ROUND_CONSTANTS[j]!) | 0, 7)
    const tt1 = ((a ^ b ^ c) + d + (ss1 ^ a12) + (W[j]! ^ W[j + 4]!)) | 0
    const tt2 = ((e ^ f ^ g) + h + ss1 + W[j]!) | 0
    d = c
    c = rotl(b, 9)
    b = a
    a = tt1
    h = g
    g = rotl(f, 19)
    f = e
    e = tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17)
  }
  for (let j = 16; j < 64; j++) {
    const a12 = rotl(a, 12)
    const ss1 = rotl((a12 + e + ROUND_CONSTANTS[j]!) | 0, 7)
    const tt1 = (((a & b) | (a & c) | (b & c)) + d + (ss1 ^ a12) + (W[j]! ^ W[j + 4]!)) | 0
    const tt2 = (((e & f) | (~e & g)) + h + ss1 + W[j]!) | 0
    d = c
    c = rotl(b, 9)
    b = a
    a = tt1
    h = g
    g = rotl(f, 19)
    f = e
    e = tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17)
  }
  state[0]! ^= a
  state[1]! ^= b
  state[2]! ^= c
  state[3]! ^= d
  state[4]! ^= e
  state[5]! ^= f
  state[6]! ^= g
  state[7]! ^= h
}

/** Incremental SM3 in plain TypeScript. `digest()` finalises: the hasher cannot be used afterwards. */
export class Sm3PortableHasher {
  private readonly state = new Int32Array(INITIAL_STATE)
  private readonly pending = new Uint8Array(64)
  private pendingLength = 0
  private totalLength = 0
  private finished = false

  update(data: Uint8Array | string): this {
    if (this.finished) throw new GmError('INVALID_ARGUMENT', 'SM3 hasher already finalised')
    const bytes = toBytes(data)
    if (!(bytes instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', 'SM3 input must be bytes or a string')
    this.totalLength += bytes.length
    let offset = 0
    if (this.pendingLength > 0) {
      const take = Math.min(64 - this.pendingLength, bytes.length)
      this.pending.set(bytes.subarray(0, take), this.pendingLength)
      this.pendingLength += take
      offset = take
      if (this.pendingLength < 64) return this
      compress(this.state, this.pending, 0)
      this.pendingLength = 0
    }
    for (; offset + 64 <= bytes.length; offset += 64) compress(this.state, bytes, offset)
    if (offset < bytes.length) {
      this.pending.set(bytes.subarray(offset), 0)
      this.pendingLength = bytes.length - offset
    }
    return this
  }

  /** An independent hasher in the same state, so that a shared prefix is absorbed only once. */
  clone(): Sm3PortableHasher {
    const copy = new Sm3PortableHasher()
    copy.state.set(this.state)
    copy.pending.set(this.pending)
    copy.pendingLength = this.pendingLength
    copy.totalLength = this.totalLength
    copy.finished = this.finished
    return copy
  }

  digest(): Uint8Array {
    if (this.finished) throw new GmError('INVALID_ARGUMENT', 'SM3 hasher already finalised')
    this.finished = true
    const { pending, state } = this
    pending.fill(0, this.pendingLength)
    pending[this.pendingLength] = 0x80
    if (this.pendingLength >= 56) {
      compress(state, pending, 0)
      pending.fill(0)
    }
    // The bit length is a 64-bit big-endian integer; byte counts stay below 2^53, so split it by arithmetic.
    const high = Math.floor(this.totalLength / 0x20000000)
    const low = this.totalLength << 3
    for (let i = 0; i < 4; i++) {
      pending[59 - i] = high >>> (8 * i)
      pending[63 - i] = low >>> (8 * i)
    }
    compress(state, pending, 0)
    const out = new Uint8Array(32)
    for (let i = 0; i < 8; i++) {
      const word = state[i]!
      out[4 * i] = word >>> 24
      out[4 * i + 1] = word >>> 16
      out[4 * i + 2] = word >>> 8
      out[4 * i + 3] = word
    }
    pending.fill(0)
    state.fill(0)
    return out
  }
}

/** SM3 digest in plain TypeScript (the browser path); equals `sm3` byte for byte. */
export function sm3Portable(data: Uint8Array | string): Uint8Array {
  return new Sm3PortableHasher().update(data).digest()
}

/** HMAC-SM3 (RFC 2104, block size 64) in plain TypeScript. */
export function hmacSm3Portable(key: Uint8Array, data: Uint8Array | string): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', 'HMAC key must be bytes')
  const block = new Uint8Array(64)
  block.set(key.length > 64 ? sm3Portable(key) : key)
  for (let i = 0; i < 64; i++) block[i]! ^= 0x36
  const inner = new Sm3PortableHasher().update(block).update(data).digest()
  // 0x36 ^ 0x5c turns the inner pad into the outer pad without keeping the key around a second time.
  for (let i = 0; i < 64; i++) block[i]! ^= 0x36 ^ 0x5c
  const mac = new Sm3PortableHasher().update(block).update(inner).digest()
  block.fill(0)
  return mac
}
