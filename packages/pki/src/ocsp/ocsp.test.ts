import { readFileSync, writeFileSync } from 'node:fs'
import { createSigner } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPkiError } from '../errors.js'
import { type EcHierarchy, type Fixtures, makeEcHierarchy, startFixtures } from '../validation/openssl-fixtures.js'
import { parseCertificate } from '../x509/index.js'
import {
  buildOcspRequest,
  buildOcspResponse,
  certIdMatches,
  parseOcspRequest,
  parseOcspResponse,
  verifyOcspResponse,
} from './ocsp.js'

let f: Fixtures
let pki: EcHierarchy

beforeAll(() => {
  f = startFixtures()
  pki = makeEcHierarchy(f)
}, 60_000)
afterAll(() => f?.cleanup())

const codeOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return isPkiError(error) ? error.code : `untyped: ${error}`
  }
  return 'accepted'
}

describe('OCSP against OpenSSL', () => {
  it('parses an OpenSSL request with its nonce and CertIDs', () => {
    const req = parseOcspRequest(pki.ocspRequest)
    expect(req.certIds).toHaveLength(2)
    expect(req.nonce?.length).toBeGreaterThan(0)
    const inter = parseCertificate(pki.inter)
    expect(certIdMatches(req.certIds[0]!, inter, parseCertificate(pki.leafGood).serial)).toBe(true)
    expect(certIdMatches(req.certIds[1]!, inter, parseCertificate(pki.leafRevoked).serial)).toBe(true)
  })

  it('verifies an OpenSSL response from a delegated responder: good and revoked', async () => {
    const nonce = parseOcspRequest(pki.ocspRequest).nonce
    const good = await verifyOcspResponse(pki.ocspResponse, {
      issuer: pki.inter,
      certificate: pki.leafGood,
      ...(nonce && { nonce }),
    })
    expect(good.status, JSON.stringify(good.checks)).toBe('passed')
    expect(good.checks.map((c) => c.check)).toEqual([
      'responseStatus',
      'responderAuthorization',
      'signature',
      'nonce',
      'certificateStatus',
    ])
    expect(good.responder).toBe('CN=OCSP Responder')
    expect(good.certificateStatus?.certStatus).toEqual({ status: 'good' })
    const revoked = await verifyOcspResponse(pki.ocspResponse, { issuer: pki.inter, certificate: pki.leafRevoked })
    expect(revoked.certificateStatus?.certStatus).toMatchObject({ status: 'revoked', reason: 'keyCompromise' })
  })

  it('rejects an OpenSSL response for the wrong issuer, nonce or signature', async () => {
    const wrongIssuer = await verifyOcspResponse(pki.ocspResponse, { issuer: pki.root })
    expect(wrongIssuer.checks.at(-1)).toMatchObject({ check: 'responderAuthorization', status: 'failed' })
    const wrongNonce = await verifyOcspResponse(pki.ocspResponse, { issuer: pki.inter, nonce: new Uint8Array(16) })
    expect(wrongNonce.checks.at(-1)).toMatchObject({ check: 'nonce', status: 'failed' })
    const tampered = parseOcspResponse(pki.ocspResponse)
    const basic = tampered.basic!
    const sig = new Uint8Array(basic.signature)
    sig[sig.length - 1]! ^= 1
    basic.signature = sig.buffer
    const bad = await verifyOcspResponse(tampered, { issuer: pki.inter })
    expect(bad.checks.at(-1)).toMatchObject({ check: 'signature', status: 'failed' })
  })

  it('checks the time window only when given the current time', async () => {
    const now = await verifyOcspResponse(pki.ocspResponse, { issuer: pki.inter, currentTime: new Date() })
    expect(now.checks.at(-1)).toMatchObject({ check: 'timeWindow', status: 'passed' })
    const later = await verifyOcspResponse(pki.ocspResponse, {
      issuer: pki.inter,
      currentTime: new Date(Date.now() + 30 * 86_400_000),
    })
    expect(later.checks.at(-1)).toMatchObject({ check: 'timeWindow', status: 'failed' })
    expect(later.checks.at(-1)?.reason).toMatch(/stale/)
    const earlier = await verifyOcspResponse(pki.ocspResponse, {
      issuer: pki.inter,
      currentTime: new Date('2025-01-01'),
    })
    expect(earlier.checks.at(-1)).toMatchObject({ check: 'timeWindow', status: 'failed' })
  })

  it('builds a request OpenSSL answers, and verifies the answer with our nonce', async () => {
    const nonce = new Uint8Array(16).fill(7)
    const ours = buildOcspRequest({ certificate: pki.leafRevoked, issuer: pki.inter, nonce })
    expect(parseOcspRequest(ours).nonce).toEqual(nonce)
    writeFileSync(f.path('our-req.der'), ours)
    const text = f.openssl('ocsp', '-reqin', 'our-req.der', '-req_text', '-noverify')
    expect(text).toMatch(/Serial Number: [0-9A-F]+/)
    f.openssl(
      'ocsp',
      '-index',
      'inter-index.txt',
      '-rsigner',
      'resp.pem',
      '-rkey',
      'resp.key',
      '-CA',
      'inter.pem',
      '-reqin',
      'our-req.der',
      '-respout',
      'answer.der',
      '-ndays',
      '1',
    )
    const answer = await verifyOcspResponse(f.file('answer.der'), {
      issuer: pki.inter,
      certificate: pki.leafRevoked,
      nonce,
    })
    expect(answer.status, JSON.stringify(answer.checks)).toBe('passed')
    expect(answer.certificateStatus?.certStatus.status).toBe('revoked')
    const sha256 = buildOcspRequest({ certificate: pki.leafGood, issuer: pki.inter, hashAlgorithm: 'sha256' })
    expect(parseOcspRequest(sha256).certIds[0]?.hashAlgorithm.algorithm).toBe('2.16.840.1.101.3.4.2.1')
  })

  it.each([
    ['a delegated responder', 'resp'],
    ['the issuing CA itself', 'inter'],
  ])('builds a response signed by %s that OpenSSL verifies, with the nonce of its request', async (_, who) => {
    const now = new Date()
    const request = parseOcspRequest(pki.ocspRequest)
    const [goodId, revokedId] = request.certIds
    const responderCert = who === 'resp' ? pki.responder : pki.inter
    const der = await buildOcspResponse({
      responder: { signer: createSigner(readFileSync(f.path(`${who}.key`), 'latin1')), certificate: responderCert },
      issuer: pki.inter,
      entries: [
        {
          certId: goodId!,
          status: { status: 'good' },
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + 86_400_000),
        },
        {
          certId: revokedId!,
          status: { status: 'revoked', revocationTime: new Date('2025-03-01T00:00:00Z'), reason: 'keyCompromise' },
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + 86_400_000),
        },
      ],
      ...(request.nonce && { nonce: request.nonce }),
      producedAt: now,
    })
    writeFileSync(f.path(`ours-${who}.der`), der)
    // With -reqin OpenSSL checks the signature, the responder's chain and the nonce (stderr: Response verify OK).
    const verified = f.opensslResult(
      ...[
        'ocsp',
        '-respin',
        `ours-${who}.der`,
        '-reqin',
        'req.der',
        '-CAfile',
        'root.pem',
        '-verify_other',
        'inter.pem',
      ],
    )
    expect(verified.output).toMatch(/Response verify OK/)
    expect(verified.output).not.toMatch(/Nonce Verify error|WARNING/)
    expect(verified.status).toBe(0)
    // -cert makes OpenSSL build a request of its own, hence -no_nonce for reading the statuses.
    const out = f.openssl(
      ...['ocsp', '-respin', `ours-${who}.der`, '-issuer', 'inter.pem', '-cert', 'good.pem', '-cert', 'revoked.pem'],
      ...['-CAfile', 'root.pem', '-verify_other', 'inter.pem', '-no_nonce'],
    )
    expect(out).toMatch(/good\.pem: good/)
    expect(out).toMatch(/revoked\.pem: revoked/)
    expect(out).toMatch(/Reason: keyCompromise/)
    expect(out).toMatch(/Revocation Time: Mar {2}1 00:00:00 2025 GMT/)
    const ours = await verifyOcspResponse(der, {
      issuer: pki.inter,
      certificate: pki.leafRevoked,
      ...(request.nonce && { nonce: request.nonce }),
    })
    expect(ours.status).toBe('passed')
    expect(ours.certificateStatus?.certStatus).toMatchObject({ status: 'revoked', reason: 'keyCompromise' })
  })

  it('builds an RSA (sha256WithRSAEncryption) response, signed by the issuer, that OpenSSL accepts: good and revoked', async () => {
    f.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'ocsp-rsa-root.key')
    f.openssl(
      ...[
        'req',
        '-x509',
        '-new',
        '-key',
        'ocsp-rsa-root.key',
        '-subj',
        '/CN=OCSP RSA Root',
        '-days',
        '30',
        '-out',
        'ocsp-rsa-root.pem',
      ],
    )
    f.openssl(
      ...[
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ocsp-rsa-leaf.key',
        '-subj',
        '/CN=RSA Leaf',
        '-out',
        'ocsp-rsa-leaf.csr',
      ],
    )
    f.openssl(
      ...['x509', '-req', '-in', 'ocsp-rsa-leaf.csr', '-CA', 'ocsp-rsa-root.pem', '-CAkey', 'ocsp-rsa-root.key'],
      ...['-set_serial', '77', '-days', '30', '-out', 'ocsp-rsa-leaf.pem'],
    )
    const root = f.der('ocsp-rsa-root.pem')
    const leaf = f.der('ocsp-rsa-leaf.pem')
    const nonce = new Uint8Array(16).fill(3)
    writeFileSync(f.path('ocsp-rsa-req.der'), buildOcspRequest({ certificate: leaf, issuer: root, nonce }))
    const now = new Date()
    const signer = createSigner(readFileSync(f.path('ocsp-rsa-root.key'), 'latin1'), { algorithm: 'RSA-SHA256' })
    const respond = (status: Parameters<typeof buildOcspResponse>[0]['entries'][number]['status']) =>
      buildOcspResponse({
        responder: { signer, certificate: root },
        issuer: root,
        entries: [{ certificate: leaf, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000) }],
        nonce,
        producedAt: now,
      })
    writeFileSync(f.path('ocsp-rsa-good.der'), await respond({ status: 'good' }))
    // An issuer-signed response need not carry the issuer's certificate; OpenSSL finds it through -verify_other.
    const verified = f.opensslResult(
      ...['ocsp', '-respin', 'ocsp-rsa-good.der', '-reqin', 'ocsp-rsa-req.der', '-CAfile', 'ocsp-rsa-root.pem'],
      ...['-verify_other', 'ocsp-rsa-root.pem'],
    )
    expect(verified.output).toMatch(/Response verify OK/)
    expect(verified.output).not.toMatch(/Nonce Verify error|WARNING/)
    writeFileSync(
      f.path('ocsp-rsa-revoked.der'),
      await respond({ status: 'revoked', revocationTime: new Date('2025-06-01T00:00:00Z'), reason: 'superseded' }),
    )
    const revoked = f.openssl(
      ...['ocsp', '-respin', 'ocsp-rsa-revoked.der', '-issuer', 'ocsp-rsa-root.pem', '-cert', 'ocsp-rsa-leaf.pem'],
      ...['-CAfile', 'ocsp-rsa-root.pem', '-verify_other', 'ocsp-rsa-root.pem', '-no_nonce'],
    )
    expect(revoked).toMatch(/ocsp-rsa-leaf\.pem: revoked/)
    expect(revoked).toMatch(/Reason: superseded/)
    const ours = await verifyOcspResponse(f.file('ocsp-rsa-revoked.der'), { issuer: root, certificate: leaf, nonce })
    expect(ours.status).toBe('passed')
    expect(ours.certificateStatus?.certStatus).toMatchObject({ status: 'revoked', reason: 'superseded' })
  })

  it('builds a response whose wrong nonce OpenSSL refuses', async () => {
    const now = new Date()
    const der = await buildOcspResponse({
      responder: { signer: createSigner(readFileSync(f.path('inter.key'), 'latin1')), certificate: pki.inter },
      issuer: pki.inter,
      entries: [{ certificate: pki.leafGood, status: { status: 'good' }, thisUpdate: now }],
      nonce: new Uint8Array(16).fill(9),
      producedAt: now,
    })
    writeFileSync(f.path('wrong-nonce.der'), der)
    const result = f.opensslResult(
      'ocsp',
      '-respin',
      'wrong-nonce.der',
      '-reqin',
      'req.der',
      '-CAfile',
      'root.pem',
      '-verify_other',
      'inter.pem',
    )
    expect(result.output).toMatch(/Nonce Verify error/)
  })

  it('refuses a response signed by a certificate that is not an authorised responder', async () => {
    const now = new Date()
    const der = await buildOcspResponse({
      // An end-entity certificate of the same CA, without id-kp-OCSPSigning.
      responder: { signer: createSigner(readFileSync(f.path('leaf.key'), 'latin1')), certificate: pki.leafGood },
      issuer: pki.inter,
      entries: [{ certificate: pki.leafRevoked, status: { status: 'good' }, thisUpdate: now }],
      producedAt: now,
    })
    const result = await verifyOcspResponse(der, { issuer: pki.inter, certificate: pki.leafRevoked })
    expect(result.status).toBe('failed')
    expect(result.checks.at(-1)).toMatchObject({ check: 'responderAuthorization', status: 'failed' })
    expect(result.checks.at(-1)?.reason).toMatch(/OCSPSigning/)
  })

  it('builds responses by certificate and by serial, good and unknown', async () => {
    const now = new Date()
    const der = await buildOcspResponse({
      responder: { signer: createSigner(readFileSync(f.path('inter.key'), 'latin1')), certificate: pki.inter },
      issuer: pki.inter,
      entries: [
        { certificate: pki.leafGood, status: { status: 'good' }, thisUpdate: now },
        { serial: Uint8Array.of(0x7f, 0x01), status: { status: 'unknown' }, thisUpdate: now },
      ],
      producedAt: now,
    })
    const parsed = parseOcspResponse(der)
    expect(parsed.certs).toEqual([])
    expect(parsed.responses.map((r) => [r.serial, r.certStatus.status])).toEqual([
      [parseCertificate(pki.leafGood).serialHex, 'good'],
      ['7f01', 'unknown'],
    ])
    expect((await verifyOcspResponse(der, { issuer: pki.inter })).status).toBe('passed')
  })
})

describe('OCSP hostile input', () => {
  const nest = (depth: number) => {
    let der: Uint8Array = Uint8Array.of(0x30, 0x00)
    for (let i = 0; i < depth; i++) der = Uint8Array.from([0x30, der.length, ...der])
    return der
  }
  it.each([
    [
      'truncated request',
      () => parseOcspRequest(pki.ocspRequest.subarray(0, pki.ocspRequest.length - 3)),
      'MALFORMED_DER',
    ],
    ['request with trailing bytes', () => parseOcspRequest(Uint8Array.from([...pki.ocspRequest, 0])), 'NOT_STRICT_DER'],
    ['truncated response', () => parseOcspResponse(pki.ocspResponse.subarray(0, 40)), 'MALFORMED_DER'],
    [
      'response with trailing bytes',
      () => parseOcspResponse(Uint8Array.from([...pki.ocspResponse, 0, 0])),
      'NOT_STRICT_DER',
    ],
    ['deep nesting', () => parseOcspRequest(nest(40)), 'TOO_DEEP'],
    ['deep nesting (response)', () => parseOcspResponse(nest(40)), 'TOO_DEEP'],
    ['an empty input', () => parseOcspResponse(new Uint8Array()), 'MALFORMED_DER'],
    ['a certificate instead of a request', () => parseOcspRequest(pki.leafGood), 'MALFORMED_DER'],
  ])('%s', (_, fn, code) => {
    expect(codeOf(fn)).toBe(code)
  })

  it('refuses BER lengths', () => {
    // Re-encode the outer length of the request in long form (0x82 0x00 NN is non-minimal).
    const req = pki.ocspRequest
    const headerLength = req[1]! < 0x80 ? 2 : 2 + (req[1]! & 0x7f)
    const body = req.subarray(headerLength)
    const ber = Uint8Array.from([0x30, 0x84, 0, 0, body.length >> 8, body.length & 0xff, ...body])
    expect(codeOf(() => parseOcspRequest(ber))).toBe('NOT_STRICT_DER')
    const indefinite = Uint8Array.from([0x30, 0x80, ...body, 0, 0])
    expect(codeOf(() => parseOcspRequest(indefinite))).toBe('NOT_STRICT_DER')
  })

  // Mutation cases per structure, raised (or lowered) through the environment. Requests parse fast enough for
  // 10,000 in the normal run; each response case also verifies a signature (~15 s for 10,000 on a busy 2-core VM).
  const cases = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)
  const responseCases = cases

  /** xorshift32: the same mutations every run, so a failure can be replayed. */
  const rng = (seed: number) => () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 0x1_0000_0000
  }
  function mutate(input: Uint8Array, random: () => number): Uint8Array {
    const bytes = Array.from(input)
    const pick = () => Math.floor(random() * bytes.length)
    switch (Math.floor(random() * 5)) {
      case 0:
        bytes[pick()] = Math.floor(random() * 256)
        break
      case 1:
        bytes[pick()]! ^= 1 << Math.floor(random() * 8)
        break
      case 2:
        bytes.splice(pick(), 1 + Math.floor(random() * 4))
        break
      case 3:
        bytes.splice(pick(), 0, Math.floor(random() * 256))
        break
      default:
        bytes.length = pick()
    }
    return Uint8Array.from(bytes)
  }

  it(`survives ${cases} mutated requests with typed errors only`, () => {
    const random = rng(0x5eed1)
    const outcomes = { accepted: 0, rejected: 0 }
    for (let i = 0; i < cases; i++) {
      const code = codeOf(() => parseOcspRequest(mutate(pki.ocspRequest, random)))
      expect(code).not.toMatch(/^untyped/)
      outcomes[code === 'accepted' ? 'accepted' : 'rejected']++
    }
    expect(outcomes.rejected).toBeGreaterThan(cases / 2)
  })

  it(
    `never verifies ${responseCases} mutated responses whose signed bytes changed`,
    async () => {
      const random = rng(0xc0ffee)
      const original = parseOcspResponse(pki.ocspResponse).tbsResponseData!
      let verified = 0
      for (let i = 0; i < responseCases; i++) {
        const mutated = mutate(pki.ocspResponse, random)
        let result: Awaited<ReturnType<typeof verifyOcspResponse>> | undefined
        let parsed: ReturnType<typeof parseOcspResponse> | undefined
        try {
          parsed = parseOcspResponse(mutated)
          result = await verifyOcspResponse(parsed, { issuer: pki.inter })
        } catch (error) {
          if (!isPkiError(error)) throw error
        }
        if (result?.status === 'passed') {
          verified++
          expect(Buffer.from(parsed!.tbsResponseData!).equals(Buffer.from(original))).toBe(true)
        }
      }
      // Under a tenth verify: only mutations outside the signed bytes (the certs, the outer wrapping) may survive.
      expect(verified).toBeLessThan(responseCases / 10)
    },
    Math.max(60_000, responseCases * 10),
  )
})
