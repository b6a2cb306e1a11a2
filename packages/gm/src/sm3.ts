import type * as NodeCrypto from 'node:crypto'
import { toBytes } from './bytes.js'
import { GmError } from './errors.js'
import { requireNativeAddon } from './native-addon.js'
import { hmacSm3Portable, Sm3PortableHasher, sm3Portable } from './sm3-portable.js'

export { hmacSm3Portable, sm3Portable } from './sm3-portable.js'

// Node's OpenSSL implements SM3 correctly (only its SM2 signing is non-standard) and is several times faster than
// TypeScript; a static import would break the browser bundle, so it is looked up at run time.
const nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined

let nativeSm3: ((data: Uint8Array) => Uint8Array) | null | undefined

interface NativeSm3Addon {
  sm3Into?: (data: Uint8Array, out: Uint8Array) => void
}

/** Digests are written into 32-byte slices of a slab, so that a short input does not pay for an allocation. */
const SLAB_SIZE = 8192
let slab = new ArrayBuffer(SLAB_SIZE)
let slabOffset = 0

function digestSlot(): Uint8Array {
  if (slabOffset + 32 > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE)
    slabOffset = 0
  }
  const slot = new Uint8Array(slab, slabOffset, 32)
  slabOffset += 32
  return slot
}

/**
 * The addon's `sm3Into` (EVP_Digest with a cached EVP_MD and a reused EVP_MD_CTX, writing into the caller's
 * buffer), or null where it is missing (not built, bundled, not Node). On short inputs allocating the result costs
 * more than the hashing, so the digest goes into a slice of a shared slab: the returned Uint8Array is a 32-byte
 * view whose `.buffer` is shared — copy with `slice()` before handing `.buffer` on.
 */
function loadNativeSm3(): ((data: Uint8Array) => Uint8Array) | null {
  if (nativeSm3 === undefined) {
    nativeSm3 = null
    try {
      const addon = requireNativeAddon() as NativeSm3Addon | undefined
      const sm3Into = addon?.sm3Into
      if (typeof sm3Into === 'function') {
        nativeSm3 = (data) => {
          const out = digestSlot()
          sm3Into(data, out)
          return out
        }
      }
    } catch {
      // Not built (or not Node): node:crypto serves instead.
    }
  }
  return nativeSm3
}

/** An SM3 computation fed in pieces. `digest()` finalises it. */
export interface Sm3Hasher {
  update(data: Uint8Array | string): this
  digest(): Uint8Array
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  const bytes = toBytes(data)
  if (!(bytes instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', 'SM3 input must be bytes or a string')
  return bytes
}

/** SM3 digest (GB/T 32905), 32 bytes. Strings are hashed as UTF-8. */
export function sm3(data: Uint8Array | string): Uint8Array {
  if (!nodeCrypto) return sm3Portable(data)
  const native = loadNativeSm3()
  // Otherwise the one-shot crypto.hash (Node 20.12+) saves a Hash object per call: about 25 % on 1 KiB inputs.
  if (native) return native(bytesOf(data))
  const digest = nodeCrypto.hash
    ? (nodeCrypto.hash('sm3', bytesOf(data), 'buffer') as unknown as Uint8Array)
    : nodeCrypto.createHash('sm3').update(bytesOf(data)).digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}

class NodeSm3Hasher implements Sm3Hasher {
  private finished = false
  constructor(private readonly hash: NodeCrypto.Hash) {}

  update(data: Uint8Array | string): this {
    if (this.finished) throw new GmError('INVALID_ARGUMENT', 'SM3 hasher already finalised')
    this.hash.update(bytesOf(data))
    return this
  }

  digest(): Uint8Array {
    if (this.finished) throw new GmError('INVALID_ARGUMENT', 'SM3 hasher already finalised')
    this.finished = true
    return new Uint8Array(this.hash.digest())
  }
}

/** Incremental SM3, for input that arrives in pieces (streams, large documents). */
export function createSm3(): Sm3Hasher {
  return nodeCrypto ? new NodeSm3Hasher(nodeCrypto.createHash('sm3')) : new Sm3PortableHasher()
}

/** HMAC-SM3 (RFC 2104 with SM3, block size 64 bytes), 32 bytes. Keys longer than 64 bytes are hashed first. */
export function hmacSm3(key: Uint8Array, data: Uint8Array | string): Uint8Array {
  if (!nodeCrypto) return hmacSm3Portable(key, data)
  if (!(key instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', 'HMAC key must be bytes')
  return new Uint8Array(nodeCrypto.createHmac('sm3', key).update(bytesOf(data)).digest())
}
