import type { KeyStore } from './key-store.js'
import { parseKeyUri } from './key-uri.js'
import { createPkcs11KeyStore } from './pkcs11-key-store.js'

/**
 * One KeyStore over both kinds of key: each call goes to the store its URI's scheme names. New keys are made and
 * imported in the soft store until the PKCS#11 adapter exists.
 */
export function createKeyStore(stores: { readonly soft: KeyStore; readonly pkcs11?: KeyStore }): KeyStore {
  const pkcs11 = stores.pkcs11 ?? createPkcs11KeyStore()
  const storeOf = (uri: string): KeyStore => (parseKeyUri(uri).scheme === 'soft' ? stores.soft : pkcs11)
  return {
    generate: (spec, actor) => stores.soft.generate(spec, actor),
    importPrivateKey: (pkcs8, meta, actor) => stores.soft.importPrivateKey(pkcs8, meta, actor),
    publicKey: (uri) => storeOf(uri).publicKey(uri),
    info: (uri) => storeOf(uri).info(uri),
    signer: (uri, options) => storeOf(uri).signer(uri, options),
    // Only the soft store lists today; a configured HSM store is listed once it exists.
    list: () =>
      stores.pkcs11
        ? Promise.all([stores.soft.list(), stores.pkcs11.list()]).then((l) => l.flat())
        : stores.soft.list(),
    retire: (uri, actor) => storeOf(uri).retire(uri, actor),
    close: async () => {
      await stores.soft.close()
      await pkcs11.close()
    },
  }
}
