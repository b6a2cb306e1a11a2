import { defineConfig } from 'vitest/config'

// Tests run from TypeScript sources: the `yiqian-source` export condition points each workspace package at src/.
const resolve = { conditions: ['yiqian-source'] }

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: ['yiqian-source'] } },
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve: { conditions: ['yiqian-source'] } },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'test/e2e/*.test.ts'],
          exclude: ['**/*.pg.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: ['yiqian-source'] } },
        test: {
          name: 'pg',
          // Everything that touches a database, run again on PostgreSQL, plus the PostgreSQL-only suites.
          include: ['packages/*/src/**/*.contract.test.ts', 'packages/*/src/**/*.pg.test.ts', 'test/e2e/*.test.ts'],
          env: { YIQIAN_TEST_DATABASES: 'postgres' },
          testTimeout: 60_000,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: ['yiqian-source'] } },
        test: {
          name: 'browser',
          include: ['test/e2e/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
