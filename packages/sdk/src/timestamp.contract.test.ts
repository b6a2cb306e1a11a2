import type { ActorContext, TimeStampAuthority } from '@yiqian/core'
import { digest, readTimeStampToken, verifyTimeStampToken } from '@yiqian/pki'
import { caOf, createTestApp, registerClientSystem, type TestApp, testTrustedTime } from '@yiqian/server/testing'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, TimestampError, type YiqianClient } from './index.js'

// The SDK's timestamp helpers against the REAL HTTP application (listening on a free port) with an SM2 signing unit
// issued by our SM2 CA; only the trusted time is a stand-in (the wall clock with a 20 ms error bound).
const actor: ActorContext = { actor: 'user:sdk-test', actorRole: 'sysadmin', source: '127.0.0.1', requestId: 'r' }
const report = new TextEncoder().encode('出院小结 discharge summary: 住院 5 天\n')

for (const dialect of testDialects()) {
  describe(`${dialect}: sdk timestamp() and verifyTimestamp() against the real server`, () => {
    let t: TestApp
    let tsa: TimeStampAuthority
    let client: YiqianClient
    let issuingDer: Uint8Array

    beforeAll(async () => {
      t = await createTestApp({ dialect, ca: true, trustedTime: testTrustedTime() })
      tsa = t.services.tsa as TimeStampAuthority
      const { issuing } = await caOf(t).createHierarchy(
        {
          algorithm: 'sm2',
          names: {
            root: { C: 'CN', O: 'SDK Test Hospital', CN: 'SDK SM2 Root' },
            issuing: { C: 'CN', O: 'SDK Test Hospital', CN: 'SDK SM2 Issuing CA' },
          },
        },
        actor,
      )
      issuingDer = issuing.certificate
      await tsa.ensureDefaultUnit(actor)
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      const { port } = t.app.server.address() as { port: number }
      const system = await registerClientSystem(t)
      client = createClient({
        baseUrl: `http://127.0.0.1:${port}`,
        credentials: { appId: system.appId, secret: system.secret },
      })
    }, 60_000)
    afterAll(() => t?.close())

    it('gets an SM2 token over SM3(data) that echoes the nonce and verifies against our issuing CA', async () => {
      const before = Date.now()
      const stamp = await client.timestamp(report)
      expect(stamp.tstInfo.hashAlgorithm).toBe('sm3')
      expect(stamp.tstInfo.imprint).toEqual(digest('SM3', report))
      // genTime is whole seconds (the TSA may round either way); it must be within a second of the request.
      expect(stamp.tstInfo.genTime.getTime()).toBeGreaterThanOrEqual(before - 1000)
      expect(stamp.tstInfo.genTime.getTime()).toBeLessThanOrEqual(Date.now() + 1000)
      // The accuracy covers at least the trusted time's error bound (the TSA may add the rounding of genTime).
      expect(stamp.tstInfo.accuracyMs).toBeGreaterThanOrEqual(20)
      const theirs = readTimeStampToken(stamp.token)
      expect(BigInt(`0x${stamp.tstInfo.serialNumber}`)).toBe(theirs.serialNumber)
      expect(stamp.tstInfo.nonce).toBe(theirs.nonce)
      const offline = await verifyTimeStampToken(stamp.token, { imprint: digest('SM3', report), trusted: [issuingDer] })
      expect(offline.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(offline.valid).toBe(true)
    })

    it('stamps a SHA-256 digest given as hex', async () => {
      const hex = Buffer.from(digest('SHA-256', report)).toString('hex')
      const stamp = await client.timestamp({ digest: hex, hashAlgorithm: 'sha256' })
      expect(stamp.tstInfo.hashAlgorithm).toBe('sha256')
      expect(Buffer.from(stamp.tstInfo.imprint).toString('hex')).toBe(hex)
    })

    it('verifyTimestamp: valid for the data, invalid for other data, with the failed check named', async () => {
      const stamp = await client.timestamp(report)
      const good = await client.verifyTimestamp(stamp.token, { data: report })
      expect(good.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(good.valid).toBe(true)
      expect(good.tstInfo?.hashAlgorithm).toMatch(/sm3/i)
      const byDigest = await client.verifyTimestamp(stamp.token, {
        digest: digest('SM3', report),
        hashAlgorithm: 'sm3',
      })
      expect(byDigest.valid).toBe(true)
      const bad = await client.verifyTimestamp(stamp.token, { data: '另一份报告 another report' })
      expect(bad.valid).toBe(false)
      expect(bad.checks.find((c) => c.name === 'imprint')?.status).toBe('failed')
    })

    it('a stopped service answers timeNotAvailable, which the SDK reports as TSA_REJECTED', async () => {
      await tsa.stop('sdk test', actor)
      try {
        const error = await client.timestamp(report).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(TimestampError)
        expect((error as TimestampError).code).toBe('TSA_REJECTED')
        expect((error as TimestampError).rejection?.failInfo).toEqual(['timeNotAvailable'])
      } finally {
        await tsa.start(actor)
      }
      await expect(client.timestamp(report)).resolves.toHaveProperty('token')
    })

    it('a policy the TSA does not serve is rejected with unacceptedPolicy', async () => {
      const error = await client.timestamp(report, { policy: '1.2.3.4.5.6.7' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TimestampError)
      expect((error as TimestampError).rejection?.failInfo).toEqual(['unacceptedPolicy'])
    })
  })
}
