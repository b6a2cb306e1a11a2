/**
 * The timestamp authority over HTTP, on the real app and database: ECDSA and RSA units checked by `openssl ts`
 * (request made by OpenSSL, answer verified by OpenSSL against our root), hostile requests answered with a
 * rejection or a 4xx, the management API (units, settings, sources, start/stop, token log, verify).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ActorContext,
  type CertificateAuthority,
  type TimeStampAuthority,
  type TsaTimeSource,
  verifyAuditChain,
} from '@yiqian/core'
import {
  buildTimeStampReq,
  certificateToPem,
  parseTimeStampResp,
  readTimeStampToken,
  timeStampDigest,
} from '@yiqian/pki'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  caOf,
  createTestApp,
  registerClientSystem,
  type SignedIn,
  signInAs,
  type TestApp,
  testTrustedTime,
} from '../testing.js'

const actor: ActorContext = { actor: 'user:tsa-test', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-tsa' }
const QUERY = { 'content-type': 'application/timestamp-query' }

for (const dialect of testDialects()) {
  describe(`${dialect}: TSA over HTTP, checked by OpenSSL`, () => {
    let t: TestApp
    let tsa: TimeStampAuthority
    let admin: SignedIn
    let root: CertificateAuthority
    let issuing: CertificateAuthority
    let dir: string
    const time = testTrustedTime()
    const pushed: TsaTimeSource[][] = []
    const data = new TextEncoder().encode('出院小结 discharge summary 2026-11-28\n')

    const openssl = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
          resolve({ code, out: `${stdout}${stderr}` })
        })
      })

    const post = (payload: Uint8Array | string, headers: Record<string, string> = QUERY) =>
      t.app.inject({ method: 'POST', url: '/tsa', headers, payload: Buffer.from(payload) })

    async function failureOf(payload: Uint8Array): Promise<string[] | undefined> {
      const response = await post(payload)
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('application/timestamp-reply')
      const resp = parseTimeStampResp(new Uint8Array(response.rawPayload))
      return resp.status === 'rejection' ? [...(resp.failInfo ?? [])] : undefined
    }

    beforeAll(async () => {
      t = await createTestApp({
        dialect,
        ca: true,
        trustedTime: time,
        tsa: { onSourcesChanged: (list) => pushed.push([...list]), snapshotTtlMs: 0 },
      })
      tsa = t.services.tsa as TimeStampAuthority
      dir = mkdtempSync(join(tmpdir(), 'yiqian-tsa-'))
      // An SM2 hierarchy first, as `yiqian init` makes: a new ECDSA unit must still get its certificate from the
      // ECDSA issuing CA, or OpenSSL could not verify its tokens.
      await caOf(t).createHierarchy(
        {
          algorithm: 'sm2',
          names: {
            root: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian SM2 Root' },
            issuing: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian SM2 Issuing CA' },
          },
        },
        actor,
      )
      ;({ root, issuing } = await caOf(t).createHierarchy(
        {
          algorithm: 'ecdsa-p256',
          names: {
            root: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian ECDSA Root' },
            issuing: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian ECDSA Issuing CA' },
          },
        },
        actor,
      ))
      admin = await signInAs(t, ['sysadmin'])
      writeFileSync(join(dir, 'data'), data)
      writeFileSync(join(dir, 'root.pem'), certificateToPem(root.certificate))
    }, 60_000)

    afterAll(async () => {
      await t?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      t.app.inject({
        method,
        url,
        headers: admin.headers,
        ...(payload !== undefined && { payload: payload as Record<string, unknown> }),
      })

    it('without a unit a request is refused with systemFailure, not a crash', async () => {
      const req = buildTimeStampReq({ imprint: timeStampDigest('SHA-256', data), hashAlgorithm: 'SHA-256' })
      expect(await failureOf(req)).toEqual(['systemFailure'])
    })

    it('creates an ECDSA unit (the default) and an RSA unit for a second policy', async () => {
      const settings = (await api('GET', '/api/v1/tsa/settings')).json()
      const second = '1.2.156.112562.7.2'
      const put = await api('PUT', '/api/v1/tsa/settings', {
        policies: [settings.defaultPolicy, second],
        defaultPolicy: settings.defaultPolicy,
        toleranceMs: 100,
        holdoverSeconds: 600,
        pollIntervalSeconds: 64,
        version: settings.version,
      })
      expect(put.statusCode, put.body).toBe(200)
      expect(put.json().version).toBe(settings.version + 1)

      const ec = await api('POST', '/api/v1/tsa/units', { name: 'ECDSA TSA', algorithm: 'ecdsa-p256' })
      expect(ec.statusCode, ec.body).toBe(201)
      expect(ec.json()).toMatchObject({ algorithm: 'ecdsa-p256', isDefault: true, caId: issuing.id })
      // No RSA hierarchy here: the unit names the ECDSA issuing CA (an RSA key under an ECDSA CA, as OpenSSL accepts).
      const rsa = await api('POST', '/api/v1/tsa/units', {
        name: 'RSA TSA',
        algorithm: 'rsa-3072',
        policy: second,
        caId: issuing.id,
      })
      expect(rsa.statusCode, rsa.body).toBe(201)
      expect(rsa.json()).toMatchObject({ algorithm: 'rsa-3072', isDefault: false, policy: second })
      const units = (await api('GET', '/api/v1/tsa/units')).json()
      expect(units.map((u: { name: string }) => u.name)).toEqual(['ECDSA TSA', 'RSA TSA'])
    }, 60_000)

    it.each([
      ['ECDSA', []],
      ['RSA', ['-tspolicy', '1.2.156.112562.7.2']],
    ])('openssl ts verifies a token of the %s unit, requested by openssl ts -query', async (label, extra) => {
      const tag = label.toLowerCase()
      const query = await openssl('ts', '-query', '-data', 'data', '-sha256', '-cert', ...extra, '-out', `${tag}.tsq`)
      expect(query.code, query.out).toBe(0)
      const response = await post(new Uint8Array(readFileSync(join(dir, `${tag}.tsq`))))
      expect(response.statusCode).toBe(200)
      writeFileSync(join(dir, `${tag}.tsr`), response.rawPayload)
      const resp = parseTimeStampResp(new Uint8Array(response.rawPayload))
      expect(resp.status).toBe('granted')
      const units = (await api('GET', '/api/v1/tsa/units')).json() as { name: string; id: string }[]
      const unit = units.find((u) => u.name.startsWith(label))
      const unitPem = (await tsa.listUnits()).find((u) => u.id === unit?.id)
      expect(unitPem).toBeDefined()
      const certs = await t.services.uow.run((tx) => tx.tsa.findUnit(unit?.id ?? ''))
      writeFileSync(
        join(dir, `${tag}-tsa.pem`),
        certificateToPem(certs?.certificate ?? new Uint8Array()) + certificateToPem(issuing.certificate),
      )
      const verified = await openssl(
        'ts',
        '-verify',
        '-data',
        'data',
        '-in',
        `${tag}.tsr`,
        '-CAfile',
        'root.pem',
        '-untrusted',
        `${tag}-tsa.pem`,
      )
      expect(verified.out).toContain('Verification: OK')
      // And with the query: the nonce OpenSSL chose is echoed.
      const withQuery = await openssl(
        'ts',
        '-verify',
        '-queryfile',
        `${tag}.tsq`,
        '-in',
        `${tag}.tsr`,
        '-CAfile',
        'root.pem',
        '-untrusted',
        `${tag}-tsa.pem`,
      )
      expect(withQuery.out).toContain('Verification: OK')
      // A different document does not verify.
      writeFileSync(join(dir, 'other'), 'other document')
      const other = await openssl('ts', '-verify', '-data', 'other', '-in', `${tag}.tsr`, '-CAfile', 'root.pem')
      expect(other.out).not.toContain('Verification: OK')
    })

    it('answers hostile requests with a rejection or a 4xx problem, never a 5xx', async () => {
      const good = buildTimeStampReq({ imprint: timeStampDigest('SHA-256', data), hashAlgorithm: 'SHA-256' })
      // Truncated DER.
      expect(await failureOf(good.subarray(0, good.length - 5))).toEqual(['badDataFormat'])
      // The SHA-256 OID with a 20-byte imprint: the length does not fit the hash.
      expect(await failureOf(new Uint8Array(fixImprintLength(good, 20)))).toEqual(['badDataFormat'])
      // An unknown hash OID (SHA-256's last arc 1 → 9).
      const unknown = Buffer.from(good)
      const oid = Buffer.from('0609608648016503040201', 'hex')
      const at = unknown.indexOf(oid)
      expect(at).toBeGreaterThan(0)
      unknown[at + oid.length - 1] = 9
      expect(await failureOf(new Uint8Array(unknown))).toEqual(['badAlg'])
      // Garbage and an empty body.
      expect(await failureOf(new Uint8Array([0x30, 0x80, 0xff]))).toEqual(['badDataFormat'])

      const wrongType = await post(good, { 'content-type': 'application/octet-stream' })
      expect(wrongType.statusCode).toBe(415)
      expect(wrongType.headers['content-type']).toContain('application/problem+json')
      const json = await t.app.inject({ method: 'POST', url: '/tsa', payload: { a: 1 } })
      expect(json.statusCode).toBe(415)
      const huge = await post(new Uint8Array(1024 * 1024))
      expect(huge.statusCode).toBe(413)
      expect(huge.json().code).toBe('BODY_TOO_LARGE')
      const get = await t.app.inject({ method: 'GET', url: '/tsa' })
      expect(get.statusCode).toBe(405)
      expect(get.headers.allow).toBe('POST')
    })

    it('stopping answers timeNotAvailable (persisted, audited); starting issues again', async () => {
      const req = buildTimeStampReq({ imprint: timeStampDigest('SHA-256', data), hashAlgorithm: 'SHA-256' })
      const stopped = await api('POST', '/api/v1/tsa/stop', { reason: '时间源维护 / time source maintenance' })
      expect(stopped.statusCode, stopped.body).toBe(200)
      expect(stopped.json()).toMatchObject({ state: 'stopped', issuing: false, problem: 'stopped' })
      expect(await failureOf(req)).toEqual(['timeNotAvailable'])
      const status = (await api('GET', '/api/v1/tsa/status')).json()
      expect(status.state).toBe('stopped')
      const started = await api('POST', '/api/v1/tsa/start')
      expect(started.json()).toMatchObject({ state: 'running', issuing: true })
      expect(await failureOf(req)).toBeUndefined()
      time.refuse = true
      expect(await failureOf(req)).toEqual(['timeNotAvailable'])
      expect((await api('GET', '/api/v1/tsa/status')).json()).toMatchObject({ issuing: false, problem: 'no-majority' })
      time.refuse = false
      const trail = await t.services.uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
      expect(trail.map((r) => r.type)).toEqual(expect.arrayContaining(['tsa.stopped', 'tsa.started']))
    })

    it('lists the token log newest first with a cursor, and verifies a token', async () => {
      const before = (await api('GET', '/api/v1/tsa/status')).json().issuedTotal as number
      const serials: string[] = []
      for (let i = 0; i < 3; i++) {
        const response = await post(
          buildTimeStampReq({ imprint: timeStampDigest('SM3', data), hashAlgorithm: 'SM3', nonce: BigInt(i + 1) }),
        )
        const resp = parseTimeStampResp(new Uint8Array(response.rawPayload))
        serials.push(
          readTimeStampToken(resp.token as Uint8Array)
            .serialNumber.toString(16)
            .padStart(32, '0'),
        )
      }
      const status = (await api('GET', '/api/v1/tsa/status')).json()
      expect(status.issuedTotal).toBe(before + 3)
      expect(status.issuedLastMinute).toBeGreaterThanOrEqual(3)

      const first = (await api('GET', '/api/v1/tsa/tokens?limit=2')).json()
      expect(first.items).toHaveLength(2)
      expect(first.nextCursor).toEqual(expect.any(String))
      const second = (await api('GET', `/api/v1/tsa/tokens?limit=2&cursor=${first.nextCursor}`)).json()
      const seen = [...first.items, ...second.items].map((i: { serial: string }) => i.serial)
      expect(new Set(seen).size).toBe(seen.length)
      const one = (await api('GET', `/api/v1/tsa/tokens?serial=${serials[0]}`)).json()
      expect(one.items).toHaveLength(1)
      expect(one.items[0]).toMatchObject({ hashAlgorithm: 'SM3', nonce: '01', requesterIp: '127.0.0.1' })
      expect(one.items[0].imprint).toBe(Buffer.from(timeStampDigest('SM3', data)).toString('hex'))
      const byIp = (await api('GET', '/api/v1/tsa/tokens?requester=127.0.0.1&limit=500')).json()
      expect(byIp.items.length).toBe(status.issuedTotal)
      expect((await api('GET', '/api/v1/tsa/tokens?cursor=bm9wZQ')).statusCode).toBe(400)

      // Verify: the whole response, the data given; then another document.
      const query = buildTimeStampReq({ imprint: timeStampDigest('SHA-512', data), hashAlgorithm: 'SHA-512' })
      const reply = await post(query)
      const token = Buffer.from(reply.rawPayload).toString('base64')
      const ok = await api('POST', '/api/v1/tsa/verify', { token, data: Buffer.from(data).toString('base64') })
      expect(ok.statusCode, ok.body).toBe(200)
      expect(ok.json()).toMatchObject({ valid: true, tstInfo: { hashAlgorithm: 'SHA-512', accuracyMs: 520 } })
      expect(ok.json().checks).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'trust', status: 'passed' })]),
      )
      const bad = await api('POST', '/api/v1/tsa/verify', { token, data: Buffer.from('forged').toString('base64') })
      expect(bad.json().valid).toBe(false)
      expect(bad.json().checks).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'imprint', status: 'failed' })]),
      )
      const garbage = await api('POST', '/api/v1/tsa/verify', { token: 'AAAA' })
      expect(garbage.statusCode).toBe(400)
      expect(garbage.json().errors?.[0]?.field).toBe('body.token')
    })

    it('records the client system of a signed request; a wrong signature is a 401 problem', async () => {
      const system = await registerClientSystem(t)
      const req = buildTimeStampReq({ imprint: timeStampDigest('SM3', data), hashAlgorithm: 'SM3', nonce: 4242n })
      // The HMAC covers the SM3 of the raw body bytes (sm3 takes bytes as well as text).
      const headers = { ...QUERY, ...system.sign('POST', '/tsa', req as unknown as string) }
      const signed = await post(req, headers)
      expect(signed.statusCode).toBe(200)
      expect(parseTimeStampResp(new Uint8Array(signed.rawPayload)).status).toBe('granted')
      const systemId = (await t.services.uow.run((tx) => tx.clientSystems.list())).find(
        (c) => c.appId === system.appId,
      )?.id
      expect(systemId).toBeDefined()
      const logged = (await api('GET', `/api/v1/tsa/tokens?requester=${systemId}`)).json()
      expect(logged.items).toHaveLength(1)
      expect(logged.items[0]).toMatchObject({ clientSystemId: systemId, nonce: '1092' })
      const forged = await post(req, { ...headers, 'x-yiqian-signature': Buffer.alloc(32).toString('base64') })
      expect(forged.statusCode).toBe(401)
      expect(forged.headers['content-type']).toContain('application/problem+json')
    })

    it('validates settings, refuses a stale version, manages sources and pushes them to the synchroniser', async () => {
      const settings = (await api('GET', '/api/v1/tsa/settings')).json()
      const body = {
        policies: settings.policies,
        defaultPolicy: settings.defaultPolicy,
        toleranceMs: 50,
        holdoverSeconds: 600,
        pollIntervalSeconds: 64,
        version: settings.version,
      }
      const bad = await api('PUT', '/api/v1/tsa/settings', { ...body, defaultPolicy: '1.2.3.4.5' })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().errors[0].field).toBe('body.defaultPolicy')
      const badTolerance = await api('PUT', '/api/v1/tsa/settings', { ...body, toleranceMs: 0 })
      expect(badTolerance.statusCode).toBe(400)
      expect(badTolerance.json().errors[0].field).toContain('toleranceMs')
      expect((await api('PUT', '/api/v1/tsa/settings', body)).statusCode).toBe(200)
      const stale = await api('PUT', '/api/v1/tsa/settings', body)
      expect(stale.statusCode).toBe(409)

      const added = await api('POST', '/api/v1/tsa/sources', { name: '国家授时中心', address: 'ntp.ntsc.ac.cn:123' })
      expect(added.statusCode, added.body).toBe(201)
      const v6 = await api('POST', '/api/v1/tsa/sources', { name: 'v6', address: '[2001:db8::1]:123' })
      expect(v6.statusCode, v6.body).toBe(201)
      for (const address of ['ntp..cn', 'host:0', 'host:70000', 'a b', '[::1', '1.2.3.999']) {
        const refused = await api('POST', '/api/v1/tsa/sources', { name: 'x', address })
        expect(refused.statusCode, address).toBe(400)
        expect(refused.json().errors[0].field, address).toBe('body.address')
      }
      expect(pushed.at(-1)?.map((s) => s.address)).toEqual(['ntp.ntsc.ac.cn:123', '[2001:db8::1]:123'])
      const removed = await api('DELETE', `/api/v1/tsa/sources/${added.json().id}`)
      expect(removed.statusCode).toBe(204)
      expect(pushed.at(-1)?.map((s) => s.address)).toEqual(['[2001:db8::1]:123'])
      expect((await api('DELETE', `/api/v1/tsa/sources/${added.json().id}`)).statusCode).toBe(404)
    })

    it('rolls a unit over (old certificate kept for verification) and changes the default', async () => {
      const units = (await api('GET', '/api/v1/tsa/units')).json() as { id: string; certificateSerial: string }[]
      const [ec, rsa] = units
      const oldToken = parseTimeStampResp(
        new Uint8Array(
          (await post(buildTimeStampReq({ imprint: timeStampDigest('SHA-256', data), hashAlgorithm: 'SHA-256' })))
            .rawPayload,
        ),
      ).token as Uint8Array
      const rolled = await api('POST', `/api/v1/tsa/units/${ec?.id}/rollover`)
      expect(rolled.statusCode, rolled.body).toBe(200)
      expect(rolled.json().certificateSerial).not.toBe(ec?.certificateSerial)
      expect(rolled.json().retiredCertificates.map((r: { serial: string }) => r.serial)).toEqual([
        ec?.certificateSerial,
      ])
      // A token of the retired key, requested without certReq, still verifies with the kept certificate.
      const old = await api('POST', '/api/v1/tsa/verify', {
        token: Buffer.from(oldToken).toString('base64'),
        data: Buffer.from(data).toString('base64'),
      })
      expect(old.json().valid).toBe(true)
      expect(old.json().tsa.serial).toBe(ec?.certificateSerial)

      const made = await api('POST', `/api/v1/tsa/units/${rsa?.id}/default`)
      expect(made.statusCode).toBe(200)
      expect(made.json().isDefault).toBe(true)
      const after = (await api('GET', '/api/v1/tsa/units')).json() as { id: string; isDefault: boolean }[]
      expect(after.filter((u) => u.isDefault).map((u) => u.id)).toEqual([rsa?.id])
      expect((await api('POST', '/api/v1/tsa/units/tsa-0000000000000000/default')).statusCode).toBe(404)

      const system = (await api('GET', '/api/v1/tsa/system')).json()
      expect(system).toMatchObject({ node: process.versions.node, publicUrl: expect.stringMatching(/\/tsa$/) })
      const trail = await t.services.uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
      expect(() => verifyAuditChain(trail)).not.toThrow()
      expect(trail.map((r) => r.type)).toEqual(
        expect.arrayContaining([
          'tsa.unit-created',
          'tsa.unit-rolled-over',
          'tsa.unit-default-set',
          'tsa.settings-changed',
          'tsa.source-added',
          'tsa.source-removed',
        ]),
      )
    }, 60_000)
  })
}

/** `req` with its SHA-256 imprint cut to `length` bytes and every enclosing length fixed (short-form lengths). */
function fixImprintLength(req: Uint8Array, length: number): Uint8Array {
  // TimeStampReq ::= 30 L1 [02 01 01] [30 L2 [30 L3 alg] [04 20 imprint]] rest
  const out = Buffer.from(req)
  const cut = 32 - length
  const imprintSeq = 5
  const algLen = out[imprintSeq + 3] as number
  const octet = imprintSeq + 2 + 2 + algLen
  if (out[octet] !== 0x04 || out[octet + 1] !== 0x20) throw new Error('unexpected TimeStampReq layout')
  const result = Buffer.concat([out.subarray(0, octet + 2 + length), out.subarray(octet + 2 + 32)])
  result[1] = (result[1] as number) - cut
  result[imprintSeq + 1] = (result[imprintSeq + 1] as number) - cut
  result[octet + 1] = length
  return new Uint8Array(result)
}
