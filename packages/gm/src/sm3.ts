import { createHash } from 'node:crypto'

/** SM3 digest (GB/T 32905). Node's OpenSSL implements SM3 correctly; only its SM2 signing is non-standard. */
export function sm3(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sm3').update(data).digest())
}
