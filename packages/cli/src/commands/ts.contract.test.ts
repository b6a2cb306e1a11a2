import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ActorContext, TimeStampAuthority } from '@yiqian/core'
import { certificateToPem, parseTimeStampResp } from '@yiqian/pki'
import { caOf, createTestApp, type TestApp, testTrustedTime } from '@yiqian/server/testing'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { run } from '../cli.js'

// `yiqian ts query` against the REAL server (listening on a free port) with an SM2 unit and an ECDSA unit issued by
// our own CAs, then `yiqian ts verify` of what it saved, trusting the issuing CA. Only the trusted time is a
// stand-in (the wall clock).
const actor: ActorContext = { actor: 'user:cli-test', actorRole: 'sysadmin', source: '127.0.0.1', requestId: 'r' }

let stdout = ''
afterEach(() => vi.restoreAllMocks())

async function yiqian(...args: string[]): Promise<number> {
  stdout = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  const code = await run(args)
  vi.restoreAllMocks()
  return code
}

for (const dialect of testDialects()) {
  describe(`${dialect}: yiqian ts query | verify against the real server`, () => {
    let t: TestApp
    let tsa: TimeStampAuthority
    let url = ''
    const issuingIds = new Map<string, string>()
    const dir = mkdtempSync(join(tmpdir(), 'yiqian-cli-ts-server-'))
    const at = (name: string) => join(dir, name)

    beforeAll(async () => {
      t = await createTestApp({ dialect, ca: true, trustedTime: testTrustedTime({ accuracyMs: 10 }) })
      tsa = t.services.tsa as TimeStampAuthority
      for (const algorithm of ['sm2', 'ecdsa-p256'] as const) {
        const { root, issuing } = await caOf(t).createHierarchy(
          {
            algorithm,
            names: {
              root: { C: 'CN', O: 'CLI Test Hospital', CN: `CLI ${algorithm} Root` },
              issuing: { C: 'CN', O: 'CLI Test Hospital', CN: `CLI ${algorithm} Issuing CA` },
            },
          },
          actor,
        )
        issuingIds.set(algorithm, issuing.id)
        writeFileSync(at(`${algorithm}-root.pem`), certificateToPem(root.certificate))
        writeFileSync(at(`${algorithm}-issuing.pem`), certificateToPem(issuing.certificate))
      }
      await tsa.ensureDefaultUnit(actor)
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      url = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}/tsa`
      writeFileSync(at('data'), '护理记录 nursing record 2026-11-28 08:00\n')
      writeFileSync(at('other'), '护理记录 nursing record 2026-11-28 09:00\n')
    }, 60_000)
    afterAll(async () => {
      await t?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    it('queries an SM2 token (SM3) and verifies it offline against the SM2 issuing CA', async () => {
      expect(await yiqian('ts', 'query', at('data'), '--url', url, '--out', at('sm2.tsr'))).toBe(0)
      expect(stdout).toMatch(/已取得时间戳 \/ timestamp received/)
      expect(parseTimeStampResp(new Uint8Array(readFileSync(at('sm2.tsr')))).status).toBe('granted')
      expect(await yiqian('ts', 'verify', at('sm2.tsr'), '--data', at('data'), '--ca', at('sm2-issuing.pem'))).toBe(0)
      expect(stdout).toMatch(/\[通过 \/ passed\] 证书链 \/ chain of trust/)
      // Trusting the root: the issuing CA comes from the token or from --untrusted.
      const viaRoot = ['--data', at('data'), '--ca', at('sm2-root.pem'), '--untrusted', at('sm2-issuing.pem')]
      expect(await yiqian('ts', 'verify', at('sm2.tsr'), ...viaRoot)).toBe(0)
      expect(stdout).toMatch(/CLI sm2 Issuing CA → .*CLI sm2 Root/)
      // The data changed → invalid; trusted only the other hierarchy → invalid.
      expect(await yiqian('ts', 'verify', at('sm2.tsr'), '--data', at('other'), '--ca', at('sm2-issuing.pem'))).toBe(1)
      expect(
        await yiqian('ts', 'verify', at('sm2.tsr'), '--data', at('data'), '--ca', at('ecdsa-p256-issuing.pem')),
      ).toBe(1)
    })

    it('queries with SHA-256 from an ECDSA unit chosen by its policy, and verifies it', async () => {
      const settings = await tsa.settings()
      const policy = `${settings.defaultPolicy}.7`
      await tsa.updateSettings(
        {
          policies: [...settings.policies, policy],
          defaultPolicy: settings.defaultPolicy,
          toleranceMs: settings.toleranceMs,
          holdoverSeconds: settings.holdoverSeconds,
          pollIntervalSeconds: settings.pollIntervalSeconds,
          version: settings.version,
        },
        actor,
      )
      const caId = issuingIds.get('ecdsa-p256')
      await tsa.createUnit({ name: 'CLI ECDSA unit', algorithm: 'ecdsa-p256', policy, caId }, actor)
      expect(
        await yiqian(
          'ts',
          'query',
          at('data'),
          '--url',
          url,
          '--hash',
          'sha256',
          '--policy',
          policy,
          '--out',
          at('ec.tsr'),
        ),
      ).toBe(0)
      expect(stdout).toContain(`策略 / policy: ${policy}`)
      const args = ['--data', at('data'), '--ca', at('ecdsa-p256-issuing.pem'), '--json']
      const code = await yiqian('ts', 'verify', at('ec.tsr'), ...args)
      expect(code, stdout).toBe(0)
      const report = JSON.parse(stdout) as {
        valid: boolean
        tstInfo: { hashAlgorithm: string }
        tsa?: { subject: string }
      }
      expect(report).toMatchObject({ valid: true, tstInfo: { hashAlgorithm: 'SHA-256' } })
      expect(report.tsa?.subject).toMatch(/CLI ECDSA unit/)
    })

    it('reports the refusal of a stopped service (exit 1)', async () => {
      await tsa.stop('cli test', actor)
      try {
        expect(await yiqian('ts', 'query', at('data'), '--url', url)).toBe(1)
        expect(stdout).toMatch(/the TSA refused: rejection \(timeNotAvailable\)/)
      } finally {
        await tsa.start(actor)
      }
    })
  })
}
