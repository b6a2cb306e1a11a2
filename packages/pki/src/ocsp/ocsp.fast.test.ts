/**
 * Differential test of the direct-DER buildOcspResponse against the schema encoding it replaced (kept here as the
 * oracle). A deterministic stand-in signer makes the two outputs comparable byte for byte; ocsp.test.ts checks real
 * signatures with OpenSSL.
 */
import { createHash } from 'node:crypto'
import {
  BasicOCSPResponse,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp'
import { OctetString } from '@peculiar/asn1-schema'
import { Certificate, CRLReason, type CRLReasons, Extension } from '@peculiar/asn1-x509'
import type { Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signStructure } from '../algorithms.js'
import { decodeDer, encodeDer } from '../der.js'
import { type EcHierarchy, type Fixtures, makeEcHierarchy, startFixtures } from '../validation/openssl-fixtures.js'
import { keyIdentifierOf, parseCertificate } from '../x509/index.js'
import {
  buildCertId,
  buildOcspRequest,
  buildOcspResponse,
  type OcspCertStatus,
  type OcspResponseOptions,
  type ParsedOcspRequest,
  parseOcspRequest,
  parseOcspRequestWithSchema,
  parseOcspResponse,
} from './ocsp.js'

const REASONS: Record<string, number> = { keyCompromise: 1, certificateHold: 6, superseded: 4, unspecified: 0 }
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000)

/** The previous buildOcspResponse, verbatim but for inputs given as DER only. */
async function referenceResponse(options: OcspResponseOptions): Promise<Uint8Array> {
  const issuer = parseCertificate(options.issuer as Uint8Array)
  const responder = parseCertificate(options.responder.certificate as Uint8Array)
  const delegated = !responder.der.every((b, i) => b === issuer.der[i]) || responder.der.length !== issuer.der.length
  const status = (s: OcspCertStatus) =>
    s.status === 'good'
      ? new CertStatus({ good: null })
      : s.status === 'unknown'
        ? new CertStatus({ unknown: null })
        : new CertStatus({
            revoked: new RevokedInfo({
              revocationTime: seconds(s.revocationTime),
              ...(s.reason && { revocationReason: new CRLReason(REASONS[s.reason] as CRLReasons) }),
            }),
          })
  const nonceExt = (nonce: Uint8Array) =>
    new Extension({
      extnID: id_pkix_ocsp_nonce,
      critical: false,
      extnValue: new OctetString(encodeDer(new OctetString(nonce))),
    })
  const tbsResponseData = new ResponseData({
    responderID: new ResponderID({ byKey: new OctetString(keyIdentifierOf(responder.subjectPublicKeyInfo)) }),
    producedAt: seconds(options.producedAt),
    responses: options.entries.map(
      (entry) =>
        new SingleResponse({
          certID: entry.certId ?? buildCertId(issuer, entry.serial ?? parseCertificate(entry.certificate!).serial),
          certStatus: status(entry.status),
          thisUpdate: seconds(entry.thisUpdate),
          ...(entry.nextUpdate && { nextUpdate: seconds(entry.nextUpdate) }),
        }),
    ),
    ...(options.nonce && { responseExtensions: [nonceExt(options.nonce)] }),
  })
  const signed = await signStructure(options.responder.signer, encodeDer(tbsResponseData))
  const basic = new BasicOCSPResponse({
    tbsResponseData,
    signatureAlgorithm: signed.algorithm,
    signature: signed.signature.slice().buffer,
    ...(delegated && { certs: [decodeDer(responder.der, Certificate, 'responder certificate')] }),
  })
  return encodeDer(
    new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(encodeDer(basic)),
      }),
    }),
  )
}

/** Same bytes for the same input, so both encoders sign identical data identically. */
function stubSigner(algorithm: Signer['algorithm']): Signer {
  return {
    algorithm,
    publicKey: () => new Uint8Array(0),
    sign: async (data) => {
      const digest = createHash('sha512').update(data).digest()
      return new Uint8Array(Buffer.concat([digest, digest, digest]).subarray(0, algorithm.startsWith('RSA') ? 256 : 71))
    },
  }
}

let f: Fixtures
let pki: EcHierarchy

beforeAll(() => {
  f = startFixtures()
  pki = makeEcHierarchy(f)
}, 60_000)
afterAll(() => f?.cleanup())

describe('buildOcspResponse writes the DER the schema encoder wrote', () => {
  it('for delegated and CA-signed answers, every status, with and without nonce, DER or parsed inputs', async () => {
    const request = parseOcspRequest(pki.ocspRequest)
    const now = new Date('2026-05-06T07:08:09.654Z')
    const statuses: OcspCertStatus[] = [
      { status: 'good' },
      { status: 'unknown' },
      { status: 'revoked', revocationTime: new Date('2025-03-01T00:00:00.5Z') },
      { status: 'revoked', revocationTime: new Date('2049-12-31T23:59:59Z'), reason: 'keyCompromise' },
      { status: 'revoked', revocationTime: new Date('2060-01-01T00:00:00Z'), reason: 'certificateHold' },
    ]
    let compared = 0
    for (const algorithm of ['ECDSA-P256-SHA256', 'SM2-SM3', 'RSA-SHA256', 'RSA-PSS-SHA256'] as const) {
      for (const responderCert of [pki.responder, pki.inter]) {
        for (const nonce of [undefined, Uint8Array.of(7), new Uint8Array(32).fill(0xa5)]) {
          for (const status of statuses) {
            const options: OcspResponseOptions = {
              responder: { signer: stubSigner(algorithm), certificate: responderCert },
              issuer: pki.inter,
              entries: [
                { certId: request.certIds[0]!, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + 1e8) },
                { certId: request.certIds[1]!, status: { status: 'good' }, thisUpdate: now },
                { certificate: pki.leafGood, status, thisUpdate: now },
                { serial: Uint8Array.of(0x7f, 0x01), status: { status: 'unknown' }, thisUpdate: now },
              ],
              ...(nonce && { nonce }),
              producedAt: now,
            }
            const reference = await referenceResponse(options)
            const fast = await buildOcspResponse(options)
            expect(Buffer.from(fast).toString('hex')).toBe(Buffer.from(reference).toString('hex'))
            const parsedInputs = await buildOcspResponse({
              ...options,
              issuer: parseCertificate(pki.inter),
              responder: { ...options.responder, certificate: parseCertificate(responderCert) },
            })
            expect(parsedInputs).toEqual(fast)
            compared++
          }
        }
      }
    }
    expect(compared).toBe(4 * 2 * 3 * statuses.length)
  })

  it('embeds a delegated responder certificate as its own bytes, and not the issuing CA when it signs itself', async () => {
    const now = new Date()
    const entries = [{ certificate: pki.leafGood, status: { status: 'good' } as const, thisUpdate: now }]
    const delegated = parseOcspResponse(
      await buildOcspResponse({
        responder: { signer: stubSigner('ECDSA-P256-SHA256'), certificate: parseCertificate(pki.responder) },
        issuer: parseCertificate(pki.inter),
        entries,
        producedAt: now,
      }),
    )
    expect(delegated.certs.map((c) => c.der)).toEqual([pki.responder])
    const inter = parseCertificate(pki.inter)
    const own = parseOcspResponse(
      await buildOcspResponse({
        responder: { signer: stubSigner('ECDSA-P256-SHA256'), certificate: inter },
        issuer: inter,
        entries,
        producedAt: now,
      }),
    )
    expect(own.certs).toEqual([])
    await expect(
      buildOcspResponse({
        responder: { signer: stubSigner('ECDSA-P256-SHA256'), certificate: inter },
        issuer: inter,
        entries: [],
        producedAt: now,
      }),
    ).rejects.toThrow(/at least one entry/)
  })
})

/** What a parse yields, comparable across the two paths (or the error it throws). */
function outcome(parse: () => ParsedOcspRequest): unknown {
  try {
    const r = parse()
    return {
      certIds: r.certIds.map((c) => Buffer.from(encodeDer(c)).toString('hex')),
      hashes: r.certIds.map((c) => [c.hashAlgorithm.algorithm, String(c.hashAlgorithm.parameters)]),
      serials: r.certIds.map((c) => Buffer.from(c.serialNumber).toString('hex')),
      nonce: r.nonce && Buffer.from(r.nonce).toString('hex'),
      signed: r.signed,
      request: Buffer.from(encodeDer(r.request)).toString('hex'),
    }
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`
  }
}

describe('parseOcspRequest reads the usual requests directly, as the schema decoder would', () => {
  it('agrees on OpenSSL and our requests, and on 4,000 seeded mutations of them', () => {
    const seeds = [
      pki.ocspRequest,
      buildOcspRequest({ certificate: pki.leafGood, issuer: pki.inter }),
      buildOcspRequest({
        certificate: pki.leafGood,
        issuer: pki.inter,
        hashAlgorithm: 'sha256',
        nonce: Uint8Array.of(1),
      }),
      buildOcspRequest({ certificate: pki.leafRevoked, issuer: pki.inter, nonce: new Uint8Array(32).fill(0xff) }),
    ]
    for (const seed of seeds) {
      const fast = outcome(() => parseOcspRequest(seed))
      expect(fast).toEqual(outcome(() => parseOcspRequestWithSchema(seed)))
      expect(typeof fast).toBe('object')
    }
    // A Buffer from a shared pool: the CertID bytes must be copies, not views of the pool.
    const pooled = Buffer.from(seeds[1]!)
    expect(outcome(() => parseOcspRequest(pooled))).toEqual(outcome(() => parseOcspRequest(seeds[1]!)))
    expect(parseOcspRequest(pooled).certIds[0]!.serialNumber.byteLength).toBeLessThan(32)
    let state = 0x12345678
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return state % n
    }
    let accepted = 0
    for (let i = 0; i < 4000; i++) {
      const seed = seeds[i % seeds.length]!
      const bytes = Array.from(seed)
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(bytes.length)
        const kind = random(4)
        if (kind === 0) bytes[at] = random(256)
        else if (kind === 1) bytes.splice(at, 1)
        else if (kind === 2) bytes.splice(at, 0, random(256))
        else bytes[at] = bytes[at]! ^ (1 << random(8))
      }
      const mutated = Uint8Array.from(bytes)
      const fast = outcome(() => parseOcspRequest(mutated))
      expect(fast, Buffer.from(mutated).toString('hex')).toEqual(outcome(() => parseOcspRequestWithSchema(mutated)))
      if (typeof fast === 'object') accepted++
    }
    expect(accepted).toBeGreaterThan(100)
  })
})
