import type { KeySpec, KeyStore } from './key-store.js'
import { parseKeyUri } from './key-uri.js'
import { createPkcs11KeyStore } from './pkcs11-key-store.js'

/** Which store makes a new key. */
export type KeyPlacement = 'soft' | 'pkcs11'

export interface KeyStores {
  readonly soft: KeyStore
  /** The HSM, when one is configured; without it `pkcs11:` keys fail with KEY_STORE_UNAVAILABLE. */
  readonly pkcs11?: KeyStore | undefined
  /**
   * Where `generate` makes a key, e.g. `spec => spec.purpose === 'ca' ? 'pkcs11' : 'soft'` to keep CA keys in the HSM.
   * Default: the soft store. Asking for `pkcs11` with no HSM configured fails with KEY_STORE_UNAVAILABLE.
   */
  readonly placeKey?: ((spec: KeySpec) => KeyPlacement) | undefined
}

/**
 * One KeyStore over both kinds of key: each call goes to the store its URI's scheme names; new keys go where
 * `placeKey` says. Imports always go to the soft store: an HSM key is imported with the HSM vendor's tools.
 */
export function createKeyStore(stores: KeyStores): KeyStore {
  const pkcs11 = stores.pkcs11 ?? createPkcs11KeyStore()
  const storeOf = (uri: string): KeyStore => (parseKeyUri(uri).scheme === 'soft' ? stores.soft : pkcs11)
  return {
    generate: (spec, actor) => (stores.placeKey?.(spec) === 'pkcs11' ? pkcs11 : stores.soft).generate(spec, actor),
    importPrivateKey: (pkcs8, meta, actor) => stores.soft.importPrivateKey(pkcs8, meta, actor),
    publicKey: (uri) => storeOf(uri).publicKey(uri),
    info: (uri) => storeOf(uri).info(uri),
    signer: (uri, options) => storeOf(uri).signer(uri, options),
    // Without an HSM the list is the soft store's; with one, both (an unreachable HSM fails the list, it does not
    // shorten it).
    list: () =>
      stores.pkcs11
        ? Promise.all([stores.soft.list(), stores.pkcs11.list()]).then((l) => l.flat())
        : stores.soft.list(),
    retire: (uri, actor) => storeOf(uri).retire(uri, actor),
    close: async () => {
      await Promise.allSettled([stores.soft.close(), pkcs11.close()]).then((results) => {
        const failed = results.find((r) => r.status === 'rejected')
        if (failed) throw failed.reason
      })
    },
  }
}
