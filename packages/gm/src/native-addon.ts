// Loading of the native addon (packages/gm/native), shared by the SM3 fast path (sm3.ts) and the SM2 curve backend
// (sm2/native-backend.ts).

/** The one function of node:module used here, declared locally so that no import of it appears in this file. */
interface NodeModuleApi {
  createRequire(path: string | URL): (id: string) => unknown
}

/** The addon, relative to this module in src/ and in dist/. */
const NATIVE_ADDON_PATH = '../native/build/Release/yiqian_gm.node'

/**
 * The addon's exports. node:module is looked up at run time, never imported: this package is also bundled for
 * browsers, where callers do not reach this function or catch what it throws. Throws when not running on Node.js
 * or when the addon was not built.
 */
export function requireNativeAddon(): unknown {
  const nodeModule = globalThis.process?.getBuiltinModule?.('node:module') as NodeModuleApi | undefined
  if (!nodeModule) throw new Error('not running on Node.js')
  return nodeModule.createRequire(import.meta.url)(NATIVE_ADDON_PATH)
}
