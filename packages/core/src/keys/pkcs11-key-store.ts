import { DomainError } from '../errors.js'
import type { KeyStore } from './key-store.js'

/**
 * Where a PKCS#11 key store will find its HSM. Not implemented yet: the adapter needs a native PKCS#11 binding and
 * SoftHSM2 (Debian package `softhsm2`) for its tests, and arrives in its own change.
 */
export interface Pkcs11Config {
  /** The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly modulePath: string
  /** The token label keys are generated on. */
  readonly token: string
  /** Where the user PIN is read from (a file readable by the server only); never the PIN itself. */
  readonly pinSource: string
}

export const PKCS11_NOT_IMPLEMENTED =
  'PKCS#11 密钥存储尚未实现，将随 HSM 适配器（SoftHSM2 测试）一同提供 / PKCS#11 support arrives with the HSM adapter (tested on SoftHSM2); it is not implemented yet'

function unavailable(operation: string): never {
  throw new DomainError('KEY_STORE_UNAVAILABLE', PKCS11_NOT_IMPLEMENTED, { store: 'pkcs11', operation })
}

/** A placeholder with the KeyStore shape: every operation fails with KEY_STORE_UNAVAILABLE. */
export function createPkcs11KeyStore(_config?: Pkcs11Config): KeyStore {
  return {
    generate: async () => unavailable('generate'),
    importPrivateKey: async () => unavailable('importPrivateKey'),
    publicKey: async () => unavailable('publicKey'),
    info: async () => unavailable('info'),
    signer: async () => unavailable('signer'),
    // Listing nothing would read as "no HSM keys"; say instead that the HSM cannot be asked.
    list: async () => unavailable('list'),
    retire: async () => unavailable('retire'),
    close: async () => {},
  }
}
