import { randomBytes } from 'node:crypto'
import { systemClock } from '@yiqian/core'
import { buildTimeStampReq, parseTimeStampResp, type TimeStampResponse, verifyTimeStampToken } from '@yiqian/pki'
import { startTestSntpServer, type TestSntpServer } from '@yiqian/server/testing'
import { openStorage, repositoriesOf } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, type RunningServer, startServer, yiqian } from './harness.js'

// The real `yiqian serve` with its time from three SNTP servers on loopback (YIQIAN_TIME_SOURCES): it stamps with
// the time they agree on, stops (timeNotAvailable) when they all say the local clock is off by more than the
// tolerance, within one poll interval, and stamps again when they agree with it; both changes are audited.
for (const kind of testDialects()) {
  describe(`${kind}: yiqian serve as a timestamp authority`, () => {
    let db: TestDatabase
    let env: NodeJS.ProcessEnv
    let sources: TestSntpServer[]
    let server: RunningServer | undefined

    beforeAll(async () => {
      db = await createTestDatabase(kind)
      sources = await Promise.all([0, 1, 2].map(() => startTestSntpServer({})))
      env = {
        YIQIAN_DATA: db.dataDir,
        YIQIAN_TIME_SOURCES: sources.map((s) => s.address).join(','),
        ...(db.databaseUrl && { DATABASE_URL: db.databaseUrl }),
      }
    })
    afterAll(async () => {
      await server?.stop()
      await Promise.all((sources ?? []).map((s) => s.close()))
      await db?.drop()
    })

    async function stamp(url: string, imprint: Uint8Array, nonce: bigint): Promise<TimeStampResponse> {
      const res = await fetch(`${url}/tsa`, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query' },
        body: Buffer.from(buildTimeStampReq({ hashAlgorithm: 'SM3', imprint, nonce, certReq: true })),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain('application/timestamp-reply')
      return parseTimeStampResp(new Uint8Array(await res.arrayBuffer()))
    }

    /** Asks until the answer is `wanted` (granted or rejected), for at most `ms`. */
    async function until(url: string, wanted: 'granted' | 'rejection', ms: number): Promise<TimeStampResponse> {
      const end = Date.now() + ms
      let last: TimeStampResponse | undefined
      while (Date.now() < end) {
        last = await stamp(url, new Uint8Array(randomBytes(32)), 7n)
        if (last.status === wanted) return last
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      throw new Error(`no ${wanted} answer within ${ms} ms; last: ${last?.status} ${last?.failInfo?.join(',') ?? ''}`)
    }

    it('stamps with synchronised time, fails closed when the sources disagree with the clock, and recovers', {
      timeout: 120_000,
    }, async () => {
      const init = await finish(yiqian(['init'], env))
      expect(init.code, init.stderr).toBe(0)
      // What an operator sets on the console's TSA page: the shortest poll interval (16 s) and a 1 s tolerance.
      const settings = openStorage({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })
      await settings.db.updateTable('tsa_settings').set({ poll_interval_seconds: 16, tolerance_ms: 1000 }).execute()
      await settings.close()
      server = await startServer(env)
      const url = server.url

      // The first poll runs at start: a granted SM2 token over our imprint, echoing the nonce, from the TSA unit
      // `init` created, whose chain goes to our SM2 root.
      await until(url, 'granted', 20_000)
      const imprint = new Uint8Array(randomBytes(32))
      const granted = await stamp(url, imprint, 0x0102030405060708090an)
      expect(granted.status).toBe('granted')
      const storage = openStorage({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })
      const roots = await storage.db.transaction().execute(async (trx) => {
        const cas = await repositoriesOf(trx, systemClock).certificateAuthorities.list()
        return cas.filter((ca) => ca.parentId === undefined && ca.algorithm === 'sm2').map((ca) => ca.certificate)
      })
      const verified = await verifyTimeStampToken(granted.token as Uint8Array, {
        imprint,
        hashAlgorithm: 'SM3',
        nonce: 0x0102030405060708090an,
        trusted: roots,
      })
      expect(verified.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(verified.valid).toBe(true)
      const genTime = verified.tstInfo?.genTime.getTime() ?? 0
      expect(Math.abs(genTime - sources[0]!.now())).toBeLessThan(3_000)

      // All three sources now say the local clock is 5 s slow (tolerance 1 s): issuance stops at the next poll
      // (every 16 s) with timeNotAvailable — never a token with a doubtful time.
      for (const s of sources) s.setOffset(5_000)
      const refused = await until(url, 'rejection', 40_000)
      expect(refused.failInfo).toEqual(['timeNotAvailable'])
      for (const s of sources) s.setOffset(0)
      await until(url, 'granted', 40_000)

      const events = await storage.db.transaction().execute(async (trx) => {
        const all = await repositoriesOf(trx, systemClock).audit.range(1, Number.MAX_SAFE_INTEGER)
        return all.filter((r) => r.type.startsWith('tsa.'))
      })
      await storage.close()
      const types = events.map((e) => e.type)
      expect(types).toContain('tsa.time.synchronised')
      const changes = events.filter((e) => e.type === 'tsa.time.state-changed').map((e) => e.data)
      expect(changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ to: 'unsynchronised', problem: 'offset-exceeds-tolerance' }),
          expect.objectContaining({ to: 'synchronised' }),
        ]),
      )
    })
  })
}
