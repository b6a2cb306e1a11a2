/** Product version from the root package.json, injected by Vite `define` at build time. */
declare const __YIQIAN_VERSION__: string
