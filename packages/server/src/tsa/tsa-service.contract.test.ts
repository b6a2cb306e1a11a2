/**
 * The timestamp authority service on the real database: request → response mapping (every failure status, nonce,
 * certReq, policy, each imprint hash), SM2 tokens checked by our verifier and the raw SM2 signature by sm-crypto-v2,
 * group commit of the token log, fail-closed time, sampled time-sync audit events.
 */
import {
  type ActorContext,
  type CertificateAuthority,
  createTimeStampAuthority,
  type TimeStampAuthority,
  type UnitOfWork,
} from '@yiqian/core'
import { bytesToHex, sm2PublicKeyFromSpki } from '@yiqian/gm'
import {
  buildTimeStampReq,
  type FailureInfo,
  parseCertificate,
  parseCms,
  parseTimeStampResp,
  readTimeStampToken,
  signedAttributesBytes,
  type TimeStampHash,
  timeStampDigest,
  verifyTimeStampToken,
} from '@yiqian/pki'
import { testDialects } from '@yiqian/storage/testing'
import { sm2 as smCrypto } from 'sm-crypto-v2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caOf, createTestApp, type TestApp, testTrustedTime } from '../testing.js'

const actor: ActorContext = { actor: 'user:tsa-admin', actorRole: 'sysadmin', source: '10.0.0.5', requestId: 'req-1' }
const requester = { ip: '10.1.2.3' }
const SECOND_POLICY = '1.2.156.112562.7.9'
const data = new TextEncoder().encode('检验报告 lab report\n')

/** `der` (a SEQUENCE with a short-form length) with `extra` appended inside it. */
function appendInside(der: Uint8Array, extra: Uint8Array): Uint8Array {
  if (der[0] !== 0x30 || (der[1] as number) >= 0x80) throw new Error('short-form SEQUENCE expected')
  const out = new Uint8Array(der.length + extra.length)
  out.set(der)
  out.set(extra, der.length)
  out[1] = (der[1] as number) + extra.length
  return out
}

for (const dialect of testDialects()) {
  describe(`${dialect}: timestamp authority service`, () => {
    let t: TestApp
    let tsa: TimeStampAuthority
    let issuing: CertificateAuthority
    let transactions = 0
    const time = testTrustedTime({ now: new Date('2026-11-28T08:00:00.400Z'), problem: 'offset-exceeds-tolerance' })

    beforeAll(async () => {
      t = await createTestApp({
        dialect,
        ca: true,
        services: (base) => {
          // Counts units of work, to see the token log written in batches.
          const uow: UnitOfWork = {
            run: (fn) => {
              transactions++
              return base.uow.run(fn)
            },
            read: (fn) => base.uow.read(fn),
          }
          return {
            ...base,
            tsa: createTimeStampAuthority({
              uow,
              clock: base.clock,
              keyStore: base.keyStore,
              ca: base.ca,
              trustedTime: time,
              snapshotTtlMs: 0,
            }),
          }
        },
      })
      tsa = t.services.tsa as TimeStampAuthority
      ;({ issuing } = await caOf(t).createHierarchy(
        {
          algorithm: 'sm2',
          names: {
            root: { C: 'CN', O: '测试医院', CN: '测试 SM2 根 CA' },
            issuing: { C: 'CN', O: '测试医院', CN: '测试 SM2 签发 CA' },
          },
        },
        actor,
      ))
      const unit = await tsa.ensureDefaultUnit(actor)
      expect(unit).toMatchObject({ algorithm: 'sm2', isDefault: true, caId: issuing.id })
      expect((await tsa.ensureDefaultUnit(actor)).id).toBe(unit.id)
      const settings = await tsa.settings()
      await tsa.updateSettings(
        {
          policies: [settings.defaultPolicy, SECOND_POLICY],
          defaultPolicy: settings.defaultPolicy,
          toleranceMs: 100,
          holdoverSeconds: 600,
          pollIntervalSeconds: 64,
          version: settings.version,
        },
        actor,
      )
      await tsa.createUnit({ name: 'ECDSA 时间戳', algorithm: 'ecdsa-p256', policy: SECOND_POLICY }, actor)
    }, 60_000)
    afterAll(async () => t?.close())

    async function answer(request: Uint8Array) {
      return parseTimeStampResp(await tsa.respond(request, requester))
    }

    it.each([['SM3'], ['SHA-256'], ['SHA-384'], ['SHA-512']] as const)(
      'grants a %s imprint; the token carries it, the default policy, accuracy and the nonce',
      async (hash) => {
        const imprint = timeStampDigest(hash as TimeStampHash, data)
        const resp = await answer(buildTimeStampReq({ imprint, hashAlgorithm: hash, nonce: 0xfeedn }))
        expect(resp.status).toBe('granted')
        const info = readTimeStampToken(resp.token as Uint8Array)
        expect(info.hashAlgorithm).toBe(hash)
        expect(info.imprint).toEqual(imprint)
        expect(info.nonce).toBe(0xfeedn)
        expect(info.policy).toBe((await tsa.settings()).defaultPolicy)
        // 08:00:00.400 rounds to 08:00:00; accuracy is the 20 ms bound plus the ≤ 500 ms rounding.
        expect(info.genTime.toISOString()).toBe('2026-11-28T08:00:00.000Z')
        expect(info.accuracyMs).toBe(520)
        expect(info.serialNumber).toBeGreaterThan(2n ** 64n)
      },
    )

    it('maps bad requests to their RFC 3161 failure statuses', async () => {
      const good = buildTimeStampReq({ imprint: timeStampDigest('SHA-256', data), hashAlgorithm: 'SHA-256' })
      const hex = Buffer.from(good).toString('hex')
      const sha256Oid = '0609608648016503040201'
      const extension = Uint8Array.from(Buffer.from('a00b3009060328030404020500', 'hex'))
      const cases: [string, Uint8Array, FailureInfo][] = [
        ['truncated DER', good.subarray(0, good.length - 3), 'badDataFormat'],
        ['trailing bytes', Uint8Array.from([...good, 0]), 'badDataFormat'],
        ['empty', new Uint8Array(0), 'badDataFormat'],
        ['an unknown hash OID', Buffer.from(hex.replace(sha256Oid, '0609608648016503040209'), 'hex'), 'badAlg'],
        ['version 2', Buffer.from(hex.replace(/^(30..)020101/, '$1020102'), 'hex'), 'badRequest'],
        ['an extension', appendInside(good, extension), 'unacceptedExtension'],
        [
          'a policy not configured',
          buildTimeStampReq({
            imprint: timeStampDigest('SHA-256', data),
            hashAlgorithm: 'SHA-256',
            policy: '1.2.3.99',
          }),
          'unacceptedPolicy',
        ],
      ]
      for (const [label, request, failure] of cases) {
        const resp = await answer(new Uint8Array(request))
        expect([label, resp.status, resp.failInfo]).toEqual([label, 'rejection', [failure]])
        expect(resp.statusStrings?.[0]).toMatch(/ \/ /)
      }
      // An imprint whose length does not fit its OID: an SHA-384 OID over 32 bytes.
      const mismatched = Buffer.from(hex.replace(sha256Oid, '0609608648016503040202'), 'hex')
      expect((await answer(new Uint8Array(mismatched))).failInfo).toEqual(['badDataFormat'])
    })

    it('answers timeNotAvailable when the time is not trusted, and fails closed without a TrustedTime', async () => {
      const request = buildTimeStampReq({ imprint: timeStampDigest('SM3', data), hashAlgorithm: 'SM3' })
      time.refuse = true
      expect((await answer(request)).failInfo).toEqual(['timeNotAvailable'])
      expect((await tsa.status()).problem).toBe('offset-exceeds-tolerance')
      time.refuse = false
      const blind = createTimeStampAuthority({ uow: t.services.uow, clock: t.clock, keyStore: t.services.keyStore })
      expect(parseTimeStampResp(await blind.respond(request, requester)).failInfo).toEqual(['timeNotAvailable'])
      expect((await blind.status()).issuing).toBe(false)
      await tsa.stop('维护 / maintenance', actor)
      expect((await answer(request)).failInfo).toEqual(['timeNotAvailable'])
      await tsa.start(actor)
      expect((await answer(request)).status).toBe('granted')
    })

    it('puts certificates into the token only when certReq is set', async () => {
      const imprint = timeStampDigest('SM3', data)
      const without = await answer(buildTimeStampReq({ imprint, hashAlgorithm: 'SM3' }))
      expect(parseCms(without.token as Uint8Array).signedData.certificates ?? []).toHaveLength(0)
      const withCerts = await answer(buildTimeStampReq({ imprint, hashAlgorithm: 'SM3', certReq: true }))
      // The TSA certificate and the issuing CA (the root is the relying party's trust anchor).
      expect(parseCms(withCerts.token as Uint8Array).signedData.certificates).toHaveLength(2)
    })

    it('SM2 tokens verify with our verifier and their raw signature with sm-crypto-v2', async () => {
      const imprint = timeStampDigest('SM3', data)
      const resp = await answer(buildTimeStampReq({ imprint, hashAlgorithm: 'SM3', certReq: true, nonce: 7n }))
      const token = resp.token as Uint8Array
      const verified = await verifyTimeStampToken(token, { imprint, nonce: 7n, trusted: [issuing.certificate] })
      expect(verified.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(verified.valid).toBe(true)
      expect(verified.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining(['signature', 'trust', 'tsa-certificate']),
      )

      const tsaCert = parseCertificate(verified.tsaCertificate as Uint8Array)
      const publicHex = bytesToHex(sm2PublicKeyFromSpki(tsaCert.subjectPublicKeyInfo))
      const signerInfo = parseCms(token).signedData.signerInfos[0]
      if (!signerInfo) throw new Error('no SignerInfo')
      const signed = signedAttributesBytes(signerInfo)
      const signature = bytesToHex(new Uint8Array(signerInfo.signature.buffer))
      const check = (bytes: Uint8Array) =>
        smCrypto.doVerifySignature(bytes, signature, publicHex, { der: true, hash: true, userId: '1234567812345678' })
      expect(check(signed)).toBe(true)
      const tampered = signed.slice()
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
      expect(check(tampered)).toBe(false)

      const wrongNonce = await verifyTimeStampToken(token, { imprint, nonce: 8n, trusted: [issuing.certificate] })
      expect(wrongNonce.valid).toBe(false)
    })

    it('serves a request naming the second policy with that policy’s unit', async () => {
      const imprint = timeStampDigest('SHA-256', data)
      const resp = await answer(
        buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', policy: SECOND_POLICY, certReq: true }),
      )
      const verified = await verifyTimeStampToken(resp.token as Uint8Array, { imprint })
      expect(verified.tstInfo?.policy).toBe(SECOND_POLICY)
      const units = await tsa.listUnits()
      const ecdsa = units.find((u) => u.policy === SECOND_POLICY)
      expect(parseCertificate(verified.tsaCertificate as Uint8Array).serialHex).toBe(ecdsa?.certificateSerial)
    })

    it('records every token of a burst, in far fewer transactions than tokens, with unique serials', async () => {
      const before = await tsa.status()
      const startTransactions = transactions
      const burst = 300
      const answers = await Promise.all(
        Array.from({ length: burst }, (_, i) =>
          answer(
            buildTimeStampReq({ imprint: timeStampDigest('SM3', data), hashAlgorithm: 'SM3', nonce: BigInt(i + 1) }),
          ),
        ),
      )
      expect(answers.every((a) => a.status === 'granted')).toBe(true)
      const serials = answers.map((a) => readTimeStampToken(a.token as Uint8Array).serialNumber)
      expect(new Set(serials).size).toBe(burst)
      const after = await tsa.status()
      expect(after.issuedTotal - before.issuedTotal).toBe(burst)
      expect(transactions - startTransactions).toBeLessThan(burst / 5)
      const logged = await tsa.listTokens({ serial: serials[17]?.toString(16) })
      expect(logged.items).toHaveLength(1)
      expect(logged.items[0]).toMatchObject({ nonce: '12', requesterIp: '10.1.2.3', hashAlgorithm: 'SM3' })
    })

    it('answers thousands of seeded mutations of a request with a well-formed response, never a throw', async () => {
      const valid = buildTimeStampReq({
        imprint: timeStampDigest('SHA-256', data),
        hashAlgorithm: 'SHA-256',
        nonce: 0x0123456789abcdefn,
        certReq: true,
        policy: SECOND_POLICY,
      })
      let seed = 20261128
      const random = () => {
        seed ^= seed << 13
        seed ^= seed >>> 17
        seed ^= seed << 5
        return (seed >>> 0) / 0x100000000
      }
      const outcomes = new Map<string, number>()
      for (let i = 0; i < 2000; i++) {
        const m = valid.slice()
        for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
          const at = Math.floor(random() * m.length)
          m[at] = random() < 0.5 ? (m[at] as number) ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256)
        }
        const cut = random() < 0.2 ? m.subarray(0, Math.floor(random() * m.length)) : m
        const resp = parseTimeStampResp(await tsa.respond(cut, requester))
        const key = resp.status === 'rejection' ? `rejection:${resp.failInfo?.join(',')}` : resp.status
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
      expect([...outcomes.keys()].every((k) => k === 'granted' || k.startsWith('rejection:'))).toBe(true)
      expect(outcomes.has('rejection:systemFailure')).toBe(false)
      expect(outcomes.get('rejection:badDataFormat')).toBeGreaterThan(100)
    }, 60_000)

    it('audits time-sync events, synchronised ones at most once a minute', async () => {
      const count = async (type: string) =>
        (await t.services.uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))).filter((r) => r.type === type)
          .length
      const at = new Date('2026-11-28T09:00:00Z')
      for (let s = 0; s < 5; s++) {
        await tsa.recordTimeEvent({
          kind: 'synchronised',
          at: new Date(at.getTime() + s * 10_000),
          data: { offsetMs: 1 },
        })
      }
      expect(await count('tsa.time.synchronised')).toBe(1)
      await tsa.recordTimeEvent({ kind: 'synchronised', at: new Date(at.getTime() + 61_000) })
      expect(await count('tsa.time.synchronised')).toBe(2)
      await tsa.recordTimeEvent({ kind: 'state-changed', data: { to: 'unsynchronised', problem: 'no-majority' } })
      await tsa.recordTimeEvent({ kind: 'large-step', data: { stepMs: 2500 } })
      expect(await count('tsa.time.state-changed')).toBe(1)
      expect(await count('tsa.time.large-step')).toBe(1)
    })
  })
}
