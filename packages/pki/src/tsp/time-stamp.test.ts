import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { concatBytes as concat, createSigner, equalBytes as equal } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSignatureTimestamp, signatureTimestampImprint, signatureTimestampTokens } from '../cms/cades.js'
import { digest } from '../cms/digest.js'
import { CMS_OID, parseCms, signCms, signedAttributesBytes, verifyCms } from '../cms/signed-data.js'
import { type Fixtures, makeFixtures, mutate, seededRandom } from '../cms/test-fixtures.js'
import { isPkiError } from '../errors.js'
import {
  buildTimeStampReq,
  buildTimeStampResp,
  buildTstInfo,
  parseTimeStampReq,
  parseTimeStampResp,
  readTimeStampToken,
  signTimeStampToken,
  verifyTimeStampToken,
} from './time-stamp.js'

/** Mutation cases per structure: 10,000 in the normal run, more under `npm run fuzz`. */
const CASES = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)
/** The loops' time budget grows with CASES (60 s per 10,000 cases). */
const TIMEOUT = Math.max(30_000, CASES * 6)

let fx: Fixtures
const data = new TextEncoder().encode('检验报告 lab report 2026-03-01\n')
const imprint = digest('SHA-256', data)
const POLICY = '1.2.3.4.1'

const TS_CONFIG = `
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_cert = ./tsa.pem
certs = ./tsa.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = ${POLICY}
digests = sha256
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`

beforeAll(() => {
  fx = makeFixtures()
  writeFileSync(join(fx.dir, 'data'), data)
  writeFileSync(join(fx.dir, 'ts.cnf'), TS_CONFIG)
  // OpenSSL's default: v1 signing-certificate with a SHA-1 ESSCertID, as many deployed TSAs still send.
  writeFileSync(join(fx.dir, 'ts-v1.cnf'), TS_CONFIG.replace('ess_cert_id_alg = sha256\n', ''))
  writeFileSync(join(fx.dir, 'tsaserial'), '01\n')
})
afterAll(() => fx?.cleanup())

async function issue(request: Uint8Array, tsa = fx.tsa, serialNumber = 0x1234n): Promise<Uint8Array> {
  const req = parseTimeStampReq(request)
  const tstInfo = buildTstInfo({
    policy: req.policy ?? POLICY,
    imprint: req.imprint,
    hashAlgorithm: req.hashAlgorithm,
    serialNumber,
    nonce: req.nonce,
    accuracy: { seconds: 1 },
  })
  const token = await signTimeStampToken({ tstInfo, signer: createSigner(tsa.keyPem), certificate: tsa.certDer })
  return buildTimeStampResp({ status: 'granted', token })
}

describe('RFC 3161 with OpenSSL', () => {
  it('ours verifies in openssl ts, and openssl requests/responses work in ours', async () => {
    const nonce = 0x00f1e2d3c4b5a6978899n
    const ourReq = buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', nonce, certReq: true })
    const ourResp = await issue(ourReq)
    writeFileSync(join(fx.dir, 'ours-req.der'), ourReq)
    writeFileSync(join(fx.dir, 'ours-resp.der'), ourResp)

    // CAdES-T over an ECDSA signature, timestamped by our TSA; OpenSSL must still accept the CMS.
    const cms = await signCms({
      content: data,
      detached: true,
      signer: createSigner(fx.ec.keyPem),
      certificate: fx.ec.certDer,
    })
    const sigImprint = signatureTimestampImprint(cms, 'SHA-256')
    const tsResp = parseTimeStampResp(await issue(buildTimeStampReq({ imprint: sigImprint, hashAlgorithm: 'SHA-256' })))
    const cadesT = addSignatureTimestamp(cms, tsResp.token!)
    writeFileSync(join(fx.dir, 'cades-t.der'), cadesT)

    const out = fx.run(
      [
        'openssl ts -verify -in ours-resp.der -queryfile ours-req.der -CAfile tsa.pem',
        'openssl ts -verify -in ours-resp.der -data data -CAfile tsa.pem',
        'openssl ts -query -data data -sha256 -cert -out ossl-req.der',
        'openssl ts -reply -config ts.cnf -queryfile ossl-req.der -out ossl-resp.der',
        'openssl ts -reply -config ts.cnf -queryfile ours-req.der -out ossl-resp2.der',
        'openssl ts -reply -config ts-v1.cnf -queryfile ours-req.der -out ossl-resp-v1.der',
        'openssl ts -verify -in ossl-resp2.der -queryfile ours-req.der -CAfile tsa.pem',
        'openssl cms -verify -binary -inform DER -in cades-t.der -content data -CAfile ec.pem -purpose any -out /dev/null',
      ].join(' 2>&1\n'),
    )
    expect(out.match(/Verification: OK/g)).toHaveLength(3)

    const osslReq = parseTimeStampReq(new Uint8Array(readFileSync(join(fx.dir, 'ossl-req.der'))))
    expect(osslReq.hashAlgorithm).toBe('SHA-256')
    expect(osslReq.imprint).toEqual(imprint)
    expect(osslReq.certReq).toBe(true)
    expect(typeof osslReq.nonce).toBe('bigint')

    const osslResp = parseTimeStampResp(new Uint8Array(readFileSync(join(fx.dir, 'ossl-resp.der'))))
    expect(osslResp.status).toBe('granted')
    const verified = await verifyTimeStampToken(osslResp.token!, {
      imprint,
      nonce: osslReq.nonce,
      trusted: [fx.tsa.certDer],
    })
    expect(verified.checks.filter((c) => c.status === 'failed')).toEqual([])
    expect(verified.valid).toBe(true)
    expect(verified.tstInfo?.policy).toBe(POLICY)

    const resp2 = parseTimeStampResp(new Uint8Array(readFileSync(join(fx.dir, 'ossl-resp2.der'))))
    expect((await verifyTimeStampToken(resp2.token!, { imprint, nonce })).valid).toBe(true)
    const respV1 = parseTimeStampResp(new Uint8Array(readFileSync(join(fx.dir, 'ossl-resp-v1.der'))))
    const v1 = await verifyTimeStampToken(respV1.token!, { imprint, nonce })
    expect(v1.checks.find((c) => c.name === 'signing-certificate')?.reason).toMatch(/^signing-certificate: .*SHA-1/)
    expect(v1.valid).toBe(true)

    // CAdES-T in ours: the CMS still verifies and its token covers the signature value.
    expect((await verifyCms(cadesT, { content: data })).valid).toBe(true)
    const [token] = signatureTimestampTokens(cadesT)
    const tsCheck = await verifyTimeStampToken(token!, { imprint: signatureTimestampImprint(cadesT, 'SHA-256') })
    expect(tsCheck.valid).toBe(true)
  })

  it('builds rejections that OpenSSL reads and reads them back', () => {
    const resp = buildTimeStampResp({
      status: 'rejection',
      statusStrings: ['unsupported hash'],
      failInfo: ['badDataFormat', 'systemFailure'],
    })
    expect(parseTimeStampResp(resp)).toEqual({
      status: 'rejection',
      statusStrings: ['unsupported hash'],
      failInfo: ['badDataFormat', 'systemFailure'],
      token: undefined,
    })
    // badDataFormat is bit 5 and systemFailure bit 25: 03 05 06 04 00 00 40.
    expect(Buffer.from(resp).toString('hex')).toContain('03050604000040')
    writeFileSync(join(fx.dir, 'rejection.der'), resp)
    const text = fx.run('openssl ts -reply -in rejection.der -text')
    expect(text).toContain('the data submitted has the wrong format')
    expect(text).toContain('the request cannot be handled due to system failure')
    expect(() => buildTimeStampResp({ status: 'granted' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})

describe('RFC 3161 with SM2/SM3', () => {
  it('SM2 tokens verify in ours; raw signatures check out in sm-crypto-v2 and OpenSSL', async () => {
    const { sm2 } = await import('sm-crypto-v2')
    const sm3Imprint = digest('SM3', data)
    const nonce = 42n
    const resp = parseTimeStampResp(
      await issue(buildTimeStampReq({ imprint: sm3Imprint, hashAlgorithm: 'SM3', nonce }), fx.sm2Tsa),
    )
    const token = resp.token!
    const result = await verifyTimeStampToken(token, { imprint: sm3Imprint, hashAlgorithm: 'SM3', nonce })
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([])
    expect(result.valid).toBe(true)
    expect(readTimeStampToken(token).hashAlgorithm).toBe('SM3')

    const signerInfo = parseCms(token).signedData.signerInfos[0]!
    expect(signerInfo.signatureAlgorithm.algorithm).toBe('1.2.156.10197.1.501')
    const signed = signedAttributesBytes(signerInfo)
    const sig = new Uint8Array(signerInfo.signature.buffer)
    const crypto = globalThis.process.getBuiltinModule('node:crypto')
    const spki = crypto.createPublicKey(fx.sm2Tsa.certPem).export({ format: 'der', type: 'spki' })
    const pubHex = Buffer.from(spki.subarray(-65)).toString('hex')
    const opts = { der: true, hash: true, userId: '1234567812345678' }
    expect(sm2.doVerifySignature(signed, Buffer.from(sig).toString('hex'), pubHex, opts)).toBe(true)
    writeFileSync(join(fx.dir, 'tok-attrs.der'), signed)
    writeFileSync(join(fx.dir, 'tok-sig.der'), sig)
    const out = fx.run(
      'openssl x509 -in sm2tsa.pem -pubkey -noout > sm2tsa.pub && openssl pkeyutl -verify -pubin -inkey sm2tsa.pub -rawin -digest sm3 -pkeyopt distid:1234567812345678 -in tok-attrs.der -sigfile tok-sig.der',
    )
    expect(out).toContain('Signature Verified Successfully')
  })
})

describe('RFC 3161 tampering and hostile input', () => {
  it('names the failing check', async () => {
    const nonce = 7n
    const resp = parseTimeStampResp(await issue(buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', nonce })))
    const token = resp.token!
    const failed = async (t: Uint8Array, o: Parameters<typeof verifyTimeStampToken>[1]) => {
      const r = await verifyTimeStampToken(t, o)
      expect(r.valid).toBe(false)
      return r.checks.filter((c) => c.status === 'failed').map((c) => c.name)
    }
    const other = digest('SHA-256', new Uint8Array([1]))
    expect(await failed(token, { imprint: other, nonce })).toEqual(['imprint'])
    expect(await failed(token, { imprint, nonce: 8n })).toEqual(['nonce'])
    expect(await failed(token, { imprint, hashAlgorithm: 'SM3' })).toEqual(['imprint'])
    // The imprint inside the token changed: the TSTInfo no longer matches the signed message digest.
    const at = Buffer.from(token).indexOf(Buffer.from(imprint))
    const tampered = token.slice()
    tampered[at]! ^= 0x80
    expect(await failed(tampered, { imprint, nonce })).toEqual(['content-digest', 'imprint'])

    // A token from a certificate without the timeStamping EKU.
    const tstInfo = buildTstInfo({ policy: POLICY, imprint, hashAlgorithm: 'SHA-256', serialNumber: 9n })
    await expect(
      signTimeStampToken({ tstInfo, signer: createSigner(fx.ec.keyPem), certificate: fx.ec.certDer }),
    ).rejects.toMatchObject({ code: 'INVALID_CERTIFICATE' })
    const noEku = await signCms({
      content: tstInfo,
      detached: false,
      signer: createSigner(fx.ec.keyPem),
      certificate: fx.ec.certDer,
      contentType: CMS_OID.tstInfo,
    })
    expect(await failed(noEku, { imprint })).toEqual(['tsa-certificate'])
    // A plain data CMS is not a token.
    const plain = await signCms({
      content: data,
      detached: false,
      signer: createSigner(fx.tsa.keyPem),
      certificate: fx.tsa.certDer,
    })
    expect(await failed(plain, { imprint })).toEqual(['content-type'])
  })

  it('rejects hostile TimeStampReqs with typed errors', () => {
    const req = buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', nonce: 0x80n, certReq: true, policy: POLICY })
    const cases: Array<[Uint8Array, string]> = [
      [req.subarray(0, req.length - 1), 'MALFORMED_DER'],
      [concat(req, new Uint8Array([0x00])), 'NOT_STRICT_DER'],
      [concat(new Uint8Array([0x30, 0x81, req[1]!]), req.subarray(2)), 'NOT_STRICT_DER'],
      [concat(new Uint8Array([0x30, 0x80]), req.subarray(2), new Uint8Array([0, 0])), 'NOT_STRICT_DER'],
      [deep(40), 'TOO_DEEP'],
      [new Uint8Array(70 * 1024), 'TOO_LARGE'],
      [buildWith(req, (b) => b.replace('0101ff', '010101')), 'NOT_STRICT_DER'], // BER boolean TRUE
      [buildWith(req, (b) => b.replace('020101', '020102')), 'MALFORMED_DER'], // version 2
    ]
    for (const [input, code] of cases) {
      expect(() => parseTimeStampReq(input), code).toThrow(expect.objectContaining({ name: 'PkiError', code }))
    }
    // Imprint of the wrong length, unknown hash.
    const short = buildWith(req, (b) =>
      b.replace(
        `0420${Buffer.from(imprint).toString('hex')}`,
        `041f${Buffer.from(imprint.subarray(1)).toString('hex')}`,
      ),
    )
    expect(() => parseTimeStampReq(fixLengths(short))).toThrow(expect.objectContaining({ name: 'PkiError' }))
    expect(parseTimeStampReq(req)).toMatchObject({
      nonce: 0x80n,
      certReq: true,
      policy: POLICY,
      hashAlgorithm: 'SHA-256',
    })
  })

  it('rejects hostile TimeStampResps with typed errors', async () => {
    const resp = await issue(buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256' }))
    for (const [input, code] of [
      [resp.subarray(0, resp.length - 3), 'MALFORMED_DER'],
      [concat(resp, new Uint8Array([0x05, 0x00])), 'NOT_STRICT_DER'],
      [deep(40), 'TOO_DEEP'],
    ] as const) {
      expect(() => parseTimeStampResp(input), code).toThrow(expect.objectContaining({ name: 'PkiError', code }))
    }
    // granted without a token.
    const noToken = buildTimeStampResp({ status: 'rejection' })
    const granted = noToken.slice()
    granted[granted.length - 1] = 0 // PKIStatus 2 → 0
    expect(() => parseTimeStampResp(granted)).toThrow(expect.objectContaining({ code: 'MALFORMED_DER' }))
  })

  it('CAdES-T over SM2 with an SM3 imprint, twice timestamped', async () => {
    const cms = await signCms({
      content: data,
      detached: false,
      signer: createSigner(fx.sm2.keyPem),
      certificate: fx.sm2.certDer,
      gmt0010: true,
    })
    const sigImprint = signatureTimestampImprint(cms, 'SM3')
    let out = cms
    for (const serialNumber of [1n, 2n]) {
      const resp = await issue(
        buildTimeStampReq({ imprint: sigImprint, hashAlgorithm: 'SM3' }),
        fx.sm2Tsa,
        serialNumber,
      )
      out = addSignatureTimestamp(out, parseTimeStampResp(resp).token!)
    }
    expect((await verifyCms(out)).valid).toBe(true)
    const tokens = signatureTimestampTokens(out)
    expect(tokens).toHaveLength(2)
    for (const token of tokens) {
      expect((await verifyTimeStampToken(token, { imprint: sigImprint, hashAlgorithm: 'SM3' })).valid).toBe(true)
    }
    // A token over some other signature does not cover this one.
    const foreign = digest('SM3', new Uint8Array([0]))
    expect((await verifyTimeStampToken(tokens[0]!, { imprint: foreign })).valid).toBe(false)
  })

  it(`never accepts a mutated TimeStampReq silently (seeded, ${CASES.toLocaleString('en-US')} mutations)`, {
    timeout: TIMEOUT,
  }, () => {
    const req = buildTimeStampReq({
      imprint,
      hashAlgorithm: 'SHA-256',
      nonce: 0x1234567890n,
      certReq: true,
      policy: POLICY,
    })
    const random = seededRandom(0x7157)
    let typed = 0
    let parsed = 0
    for (let i = 0; i < CASES; i++) {
      const m = mutate(req, random)
      try {
        const p = parseTimeStampReq(m)
        parsed++
        // What parsed must be exactly what it says: rebuilding it gives the same bytes back.
        if (p.extensions.length === 0) expect(equal(buildTimeStampReq(p), m), `mutation ${i}`).toBe(true)
      } catch (error) {
        if (!isPkiError(error)) throw error
        typed++
      }
    }
    expect(typed + parsed).toBe(CASES)
    expect(typed).toBeGreaterThan(CASES / 2)
  })

  it(`never accepts a mutated TimeStampResp silently (seeded, ${CASES.toLocaleString('en-US')} mutations)`, {
    timeout: TIMEOUT,
  }, async () => {
    const nonce = 7n
    const resp = await issue(buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', nonce }))
    const original = parseTimeStampResp(resp).token!
    const random = seededRandom(0x7e5)
    const outcomes = { typed: 0, rejected: 0, tokenUnchanged: 0 }
    for (let i = 0; i < CASES; i++) {
      try {
        const p = parseTimeStampResp(mutate(resp, random))
        if (p.token && !equal(p.token, original)) {
          expect((await verifyTimeStampToken(p.token, { imprint, nonce })).valid, `mutation ${i}`).toBe(false)
          outcomes.rejected++
        } else {
          outcomes.tokenUnchanged++
        }
      } catch (error) {
        if (!isPkiError(error)) throw error
        outcomes.typed++
      }
    }
    expect(outcomes.typed + outcomes.rejected + outcomes.tokenUnchanged).toBe(CASES)
    expect(outcomes.typed).toBeGreaterThan(0)
  })

  it(`never accepts a mutated token (seeded, ${CASES.toLocaleString('en-US')} mutations)`, {
    timeout: TIMEOUT,
  }, async () => {
    const nonce = 99n
    const token = parseTimeStampResp(await issue(buildTimeStampReq({ imprint, hashAlgorithm: 'SHA-256', nonce })))
      .token!
    const random = seededRandom(0x70c)
    for (let i = 0; i < CASES; i++) {
      const m = mutate(token, random)
      if (equal(m, token)) continue
      try {
        expect((await verifyTimeStampToken(m, { imprint, nonce })).valid, `mutation ${i}`).toBe(false)
      } catch (error) {
        if (!isPkiError(error)) throw error
      }
    }
  })
})

function buildWith(der: Uint8Array, edit: (hex: string) => string): Uint8Array {
  const hex = edit(Buffer.from(der).toString('hex'))
  expect(hex).not.toBe(Buffer.from(der).toString('hex'))
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** After shortening the imprint by one byte, the MessageImprint and outer SEQUENCE lengths shrink by one too. */
function fixLengths(der: Uint8Array): Uint8Array {
  const m = der.slice()
  m[1]! -= 1 // outer SEQUENCE (short form: the request is < 128 bytes)
  m[5]! -= 1 // MessageImprint SEQUENCE after version 02 01 01
  return m
}

function deep(levels: number): Uint8Array {
  let v: Uint8Array = new Uint8Array([0x05, 0x00])
  for (let i = 0; i < levels; i++) v = concat(new Uint8Array([0x30, v.length]), v)
  return v
}
