import { GmError } from './errors.js'
import { Sm3PortableHasher } from './sm3-portable.js'

/** GM/T 0003.4 bounds the counter to 32 bits: at most 2^32 − 1 SM3 outputs of 32 bytes. */
export const KDF_MAX_LENGTH = (2 ** 32 - 1) * 32

/**
 * The SM2 key derivation function (GM/T 0003.4 §5.4.3, GB/T 32918.4): SM3(Z ‖ ct) for a 32-bit big-endian counter
 * ct = 1, 2, …, concatenated and cut to `keyLengthBytes`. Callers that need it (SM2 encryption) must still reject
 * an all-zero result themselves.
 */
export function kdf(z: Uint8Array, keyLengthBytes: number): Uint8Array {
  if (!(z instanceof Uint8Array)) throw new GmError('INVALID_ARGUMENT', 'KDF input Z must be bytes')
  if (!Number.isSafeInteger(keyLengthBytes) || keyLengthBytes <= 0 || keyLengthBytes > KDF_MAX_LENGTH) {
    throw new GmError('INVALID_ARGUMENT', `KDF length must be an integer in [1, ${KDF_MAX_LENGTH}] bytes`)
  }
  let out: Uint8Array
  try {
    out = new Uint8Array(keyLengthBytes)
  } catch (error) {
    throw new GmError('INVALID_ARGUMENT', `cannot allocate ${keyLengthBytes} bytes of KDF output`, { cause: error })
  }
  // The portable SM3 with Z absorbed once beats a native call per 32-byte block, whose fixed cost dominates here.
  const prefix = new Sm3PortableHasher().update(z)
  const counter = new Uint8Array(4)
  for (let offset = 0, ct = 1; offset < keyLengthBytes; offset += 32, ct++) {
    counter[0] = ct >>> 24
    counter[1] = ct >>> 16
    counter[2] = ct >>> 8
    counter[3] = ct
    const block = prefix.clone().update(counter).digest()
    out.set(keyLengthBytes - offset >= 32 ? block : block.subarray(0, keyLengthBytes - offset), offset)
  }
  return out
}
