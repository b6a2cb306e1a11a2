import { readFileSync } from 'node:fs'
import react from '@vitejs/plugin-react'
import { defineConfig, type UserConfig } from 'vite'

// The whole platform ships under one version: the root package.json is its single source of truth.
const rootPackage: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
const version = (rootPackage as { version?: unknown }).version
if (typeof version !== 'string' || version === '') throw new Error('root package.json has no "version"')

// `npm run dev` has no API of its own; YIQIAN_API_URL points it (and `vite preview`) at a running server.
const apiTarget = process.env.YIQIAN_API_URL
const proxy = apiTarget ? { '/api': { target: apiTarget, changeOrigin: true } } : undefined

/** The Vite configuration both web apps share; only the URL base and the name of the UI-library chunk differ. */
export function yiqianAppConfig({ base, uiChunk }: { base: string; uiChunk: string }): UserConfig {
  return defineConfig({
    base,
    plugins: [react()],
    define: { __YIQIAN_VERSION__: JSON.stringify(version) },
    // The UI libraries' peer ranges also admit React 18; should npm ever install a second copy, hooks need the app's one.
    resolve: { dedupe: ['react', 'react-dom'] },
    server: { proxy },
    preview: { proxy },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      rolldownOptions: {
        output: {
          // Framework code changes far less often than the app; separate chunks keep browser caches warm.
          codeSplitting: {
            groups: [
              { name: 'react', test: /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 3 },
              {
                name: 'i18n',
                test: /[\\/]node_modules[\\/](i18next|react-i18next|html-parse-stringify)[\\/]/,
                priority: 2,
              },
              { name: uiChunk, test: /[\\/]node_modules[\\/]/, priority: 1 },
            ],
          },
        },
      },
    },
  })
}
