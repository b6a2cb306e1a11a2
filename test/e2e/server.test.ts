import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { validate as validateOpenApi } from '@readme/openapi-parser'
import { systemClock, verifyAuditChain, verifyPassword } from '@yiqian/core'
import { openStorage, repositoriesOf } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, startServer, yiqian } from './harness.js'

// Black-box: the real `yiqian` process, driven over HTTP, on each database this run covers.
for (const kind of testDialects()) {
  describe(`${kind}: yiqian serve`, () => {
    let db: TestDatabase
    let env: NodeJS.ProcessEnv

    beforeAll(async () => {
      db = await createTestDatabase(kind)
      env = { YIQIAN_DATA: db.dataDir, ...(db.databaseUrl && { DATABASE_URL: db.databaseUrl }) }
    })
    afterAll(async () => {
      await db?.drop()
    })

    it('starts on an empty data folder: healthy, ready, documented, with a 0600 initial credential', async () => {
      const server = await startServer(env)
      try {
        const health = await fetch(`${server.url}/healthz`)
        expect(health.status).toBe(200)
        const ready = await fetch(`${server.url}/readyz`)
        expect(ready.status).toBe(200)
        expect(await ready.json()).toMatchObject({ checks: { database: { dialect: kind } } })

        const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string }
        expect(spec.openapi).toBe('3.1.0')
        expect((await validateOpenApi(spec as never)).valid).toBe(true)
        expect((await fetch(`${server.url}/docs/`)).status).toBe(200)

        const file = join(db.dataDir, 'initial-admin-credential.txt')
        expect(server.output().stderr).toContain(file)
        expect(statSync(file).mode & 0o777).toBe(0o600)
        expect(statSync(db.dataDir).mode & 0o077).toBe(0)
        if (kind === 'sqlite') expect(statSync(join(db.dataDir, 'yiqian.db')).mode & 0o077).toBe(0)
      } finally {
        expect(await server.stop()).toBe(0)
      }
    })

    it('keeps the data across a restart and never writes a second credential', async () => {
      const file = join(db.dataDir, 'initial-admin-credential.txt')
      const before = readFileSync(file, 'utf8')
      const server = await startServer(env)
      try {
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
        expect(server.output().stderr).not.toContain('initial administrator credential written')
      } finally {
        expect(await server.stop()).toBe(0)
      }
      expect(readFileSync(file, 'utf8')).toBe(before)

      // The credential in the file is the one the database holds, and its creation was audited.
      const password = /^password: (\S+)$/m.exec(before)?.[1]
      expect(password).toMatch(/^\S{24}$/)
      const storage = openStorage({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })
      try {
        const admins = await storage.db.selectFrom('accounts').selectAll().execute()
        expect(admins.map((a) => a.username)).toEqual(['admin'])
        expect(await verifyPassword(password!, admins[0]!.password_hash)).toBe(true)
        expect(Number(admins[0]!.must_change_password)).toBe(1)
        const audit = await repositoriesOf(storage.db, systemClock).audit.range(1, Number.MAX_SAFE_INTEGER)
        // The bootstrap administrator, then the SM2 hierarchy and the TSA's first unit the first start creates; each
        // start records the TSA's time state (no sources configured: not issuing); the restart added nothing else.
        expect(audit.map((a) => a.type)).toEqual([
          'administrator.bootstrapped',
          'key.generated',
          'ca.created',
          'ca.crl-published',
          'key.generated',
          'certificate.issued',
          'ca.created',
          'ca.crl-published',
          'key.generated',
          'certificate.issued',
          'ca.ocsp-responder-provisioned',
          'key.generated',
          'certificate.issued',
          'tsa.unit-created',
          'tsa.time.state-changed',
          'tsa.time.state-changed',
        ])
        const timeStates = audit.filter((a) => a.type === 'tsa.time.state-changed').map((a) => a.data)
        expect(timeStates).toEqual([
          expect.objectContaining({ to: 'unsynchronised', problem: 'no-sources' }),
          expect.objectContaining({ to: 'unsynchronised', problem: 'no-sources' }),
        ])
        expect(() => verifyAuditChain(audit)).not.toThrow()
      } finally {
        await storage.close()
      }
    })

    it.each([
      ['YIQIAN_PORT', 'eighty'],
      ['DATABASE_URL', 'mysql://root@127.0.0.1/yiqian'],
      ['YIQIAN_LOG_LEVEL', 'chatty'],
    ])('refuses to start when %s is %j, naming it, with exit code 2', async (key, value) => {
      const result = await finish(yiqian(['serve'], { ...env, [key]: value }))
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(key)
      expect(result.stderr).toContain('invalid configuration')
    })
  })
}

describe('yiqian command', () => {
  it('prints its version', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
    const result = await finish(yiqian(['version'], {}))
    expect([result.code, result.stdout.trim()]).toEqual([0, version])
  })

  it.each(['init', 'serve', 'migrate', 'version'])('explains %s with --help', async (command) => {
    const result = await finish(yiqian([command, '--help'], {}))
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`Usage: yiqian ${command}`)
  })

  it('answers an unknown command with usage and exit code 2', async () => {
    const result = await finish(yiqian(['frobnicate'], {}))
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/unknown command/)
  })
})
