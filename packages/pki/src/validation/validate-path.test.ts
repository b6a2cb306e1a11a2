import { readFileSync } from 'node:fs'
import { createSigner } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildOcspResponse } from '../ocsp/ocsp.js'
import {
  type EcHierarchy,
  type Fixtures,
  makeEcHierarchy,
  makeRsaChain,
  makeSm2Chain,
  startFixtures,
} from './openssl-fixtures.js'
import { type CheckName, type ValidatePathOptions, type ValidationReport, validatePath } from './validate-path.js'

let f: Fixtures
let pki: EcHierarchy
let sm2: { root: Uint8Array; leaf: Uint8Array }
let rsa: { root: Uint8Array; leaf: Uint8Array }
let unknownOcsp: Uint8Array

beforeAll(async () => {
  f = startFixtures()
  pki = makeEcHierarchy(f)
  sm2 = makeSm2Chain(f)
  rsa = makeRsaChain(f)
  const now = new Date()
  unknownOcsp = await buildOcspResponse({
    responder: { signer: createSigner(readFileSync(f.path('inter.key'), 'latin1')), certificate: pki.inter },
    issuer: pki.inter,
    entries: [{ certificate: pki.leafGood, status: { status: 'unknown' }, thisUpdate: now }],
    producedAt: now,
  })
}, 60_000)
afterAll(() => f?.cleanup())

const soon = () => new Date(Date.now() + 60_000)

/** The status of `check` on the certificate at `index` (0 = target). */
function checkOf(report: ValidationReport, index: number, check: CheckName) {
  const found = report.chain[index]?.checks.find((c) => c.check === check)
  if (!found) throw new Error(`no ${check} check on certificate ${index}: ${JSON.stringify(report, null, 1)}`)
  return found
}

function tamperSignature(der: Uint8Array): Uint8Array {
  const copy = der.slice()
  // The last byte sits inside the signature's final INTEGER: DER stays valid, the signature does not.
  copy[copy.length - 1]! ^= 0x01
  return copy
}

describe('validatePath', () => {
  const base = (): ValidatePathOptions => ({
    target: pki.leafGood,
    intermediates: [pki.inter],
    trustAnchors: [pki.root],
    at: soon(),
    purpose: 'documentSigning',
  })

  it('passes a good chain and reports every check on every certificate', async () => {
    const report = await validatePath({ ...base(), revocation: { crls: [pki.rootCrl, pki.interCrl] } })
    expect(report.status, report.reason).toBe('passed')
    expect(report.chain.map((c) => c.subject)).toEqual(['CN=Dr Good', 'CN=Test Intermediate', 'CN=Test Root'])
    expect(report.chain[0]?.checks.map((c) => c.check).sort()).toEqual(
      [
        'criticalExtensions',
        'extendedKeyUsage',
        'keyUsage',
        'nameChaining',
        'revocation',
        'signature',
        'validity',
      ].sort(),
    )
    for (const entry of report.chain)
      for (const check of entry.checks) expect(check.status, check.reason).toBe('passed')
  })

  type Case = [
    string,
    () => ValidatePathOptions,
    'passed' | 'failed' | 'indeterminate',
    number,
    CheckName,
    string,
    RegExp?,
  ]
  const cases: Case[] = [
    [
      'expired',
      () => ({ ...base(), at: new Date('2036-06-01T00:00:00Z') }),
      'failed',
      0,
      'validity',
      'failed',
      /expired/,
    ],
    [
      'not yet valid',
      () => ({ ...base(), at: new Date('2023-06-01T00:00:00Z') }),
      'failed',
      0,
      'validity',
      'failed',
      /not yet/,
    ],
    [
      'bad signature (tampered byte)',
      () => ({ ...base(), target: tamperSignature(pki.leafGood) }),
      'failed',
      0,
      'signature',
      'failed',
    ],
    [
      'intermediate without CA:true',
      () => ({ ...base(), target: pki.leafOfNotCa, intermediates: [pki.notCa] }),
      'failed',
      1,
      'basicConstraints',
      'failed',
    ],
    [
      'pathLen exceeded',
      () => ({ ...base(), target: pki.leafOfSubCa, intermediates: [pki.subCa, pki.inter] }),
      'failed',
      2,
      'pathLength',
      'failed',
      /pathLenConstraint 0/,
    ],
    [
      'issuer without keyCertSign',
      () => ({ ...base(), target: pki.leafOfNoKeyCertSign, intermediates: [pki.noKeyCertSign] }),
      'failed',
      1,
      'keyUsage',
      'failed',
      /keyCertSign/,
    ],
    [
      'leaf revoked by CRL before `at`',
      () => ({ ...base(), target: pki.leafRevoked, revocation: { crls: [pki.rootCrl, pki.interCrl] } }),
      'failed',
      0,
      'revocation',
      'failed',
      /keyCompromise/,
    ],
    [
      'leaf revoked by CRL after `at`',
      () => ({
        ...base(),
        target: pki.leafRevoked,
        at: new Date('2025-01-01T00:00:00Z'),
        revocation: { crls: [pki.rootCrl, pki.interCrl] },
      }),
      'passed',
      0,
      'revocation',
      'passed',
      /after 2025/,
    ],
    [
      'leaf revoked by OCSP (delegated responder)',
      () => ({
        ...base(),
        target: pki.leafRevoked,
        revocation: { crls: [pki.rootCrl], ocspResponses: [pki.ocspResponse] },
      }),
      'failed',
      0,
      'revocation',
      'failed',
      /OCSP.*keyCompromise/,
    ],
    [
      'leaf good by OCSP',
      () => ({ ...base(), revocation: { crls: [pki.rootCrl], ocspResponses: [pki.ocspResponse] } }),
      'passed',
      0,
      'revocation',
      'passed',
      /OCSP: good/,
    ],
    [
      'unknown critical extension',
      () => ({ ...base(), target: pki.leafCritical, purpose: 'any' }),
      'failed',
      0,
      'criticalExtensions',
      'failed',
      /1\.2\.3\.4\.5/,
    ],
    [
      'no revocation information',
      () => ({ ...base(), revocation: {} }),
      'indeterminate',
      0,
      'revocation',
      'indeterminate',
      /no CRL or OCSP/,
    ],
    [
      'CRL of the wrong CA only',
      () => ({ ...base(), revocation: { crls: [pki.rootCrl] } }),
      'indeterminate',
      1,
      'revocation',
      'passed',
    ],
    [
      'purpose the EKU does not allow',
      () => ({ ...base(), purpose: 'timeStamping' }),
      'failed',
      0,
      'extendedKeyUsage',
      'failed',
    ],
    [
      'SM2 chain',
      () => ({ target: sm2.leaf, trustAnchors: [sm2.root], at: soon(), purpose: 'documentSigning' }),
      'passed',
      0,
      'signature',
      'passed',
    ],
    [
      'SM2 chain with a tampered signature',
      () => ({ target: tamperSignature(sm2.leaf), trustAnchors: [sm2.root], at: soon() }),
      'failed',
      0,
      'signature',
      'failed',
    ],
  ]

  it.each(cases)('%s', async (_, options, status, index, check, checkStatus, reason) => {
    const report = await validatePath(options())
    expect(report.status, report.reason).toBe(status)
    const found = checkOf(report, index, check)
    expect(found.status, found.reason).toBe(checkStatus)
    if (reason) expect(found.reason).toMatch(reason)
    expect(found.reasonZh).toMatch(/检查(通过|失败|无法确定)$/)
  })

  it('passes an RSA chain and fails it when the RSA signature is tampered', async () => {
    const good = await validatePath({
      target: rsa.leaf,
      trustAnchors: [rsa.root],
      at: soon(),
      purpose: 'documentSigning',
    })
    expect(good.status, good.reason).toBe('passed')
    expect(checkOf(good, 0, 'signature').reason).toMatch(/verifies/)
    const bad = await validatePath({ target: tamperSignature(rsa.leaf), trustAnchors: [rsa.root], at: soon() })
    expect(checkOf(bad, 0, 'signature').status).toBe('failed')
  })

  it('follows the key identifiers when two CAs share a name', async () => {
    const report = await validatePath({ ...base(), intermediates: [pki.interTwin, pki.inter] })
    expect(report.status, report.reason).toBe('passed')
    const twin = await validatePath({ ...base(), intermediates: [pki.interTwin] })
    expect(twin.status).toBe('failed')
    expect(twin.reason).toMatch(/no path/)
  })

  it('skips malformed intermediates and throws a typed error for a malformed target', async () => {
    const report = await validatePath({ ...base(), intermediates: [new Uint8Array([0x30, 0x80]), pki.inter] })
    expect(report.status).toBe('passed')
    await expect(validatePath({ ...base(), target: pki.leafGood.subarray(0, 100) })).rejects.toMatchObject({
      code: 'MALFORMED_DER',
    })
  })

  it.each([
    [
      'a CRL whose signature does not verify',
      () => ({ crls: [pki.rootCrl, tamperSignature(pki.interCrl)] }),
      /does not verify/,
    ],
    ['a CRL past its nextUpdate', () => ({ crls: [pki.rootCrl, pki.interCrl] }), /expired before/, 45],
    ['an OCSP response saying unknown', () => ({ crls: [pki.rootCrl], ocspResponses: [unknownOcsp] }), /does not know/],
  ])('revocation is indeterminate with %s', async (_, revocation, reason, days = 0) => {
    const at = new Date(Date.now() + 60_000 + days * 86_400_000)
    const report = await validatePath({ ...base(), at, revocation: revocation() })
    expect(report.status, report.reason).toBe('indeterminate')
    const check = checkOf(report, 0, 'revocation')
    expect(check.status).toBe('indeterminate')
    expect(check.reason).toMatch(reason)
  })

  it('fails with a reason when no path reaches a trust anchor (wrong issuer)', async () => {
    const report = await validatePath({ ...base(), trustAnchors: [sm2.root] })
    expect(report.status).toBe('failed')
    expect(report.chain).toEqual([])
    expect(report.reason).toMatch(/no path from CN=Dr Good/)
  })

  it('does not loop on certificates that issue each other', async () => {
    // inter and sub CA chained any way round, plus duplicates: path building must still terminate.
    const report = await validatePath({
      ...base(),
      target: pki.leafOfSubCa,
      intermediates: [pki.subCa, pki.subCa, pki.inter, pki.inter],
      trustAnchors: [sm2.root],
    })
    expect(report.status).toBe('failed')
    expect(report.reason).toMatch(/no path/)
  })

  it('bounds path building over many CAs of the same name', async () => {
    const started = Date.now()
    const report = await validatePath({
      ...base(),
      target: pki.leafOfSubCa,
      intermediates: Array.from({ length: 60 }, (_, i) => (i % 2 ? pki.subCa : pki.interTwin)),
      trustAnchors: [sm2.root],
    })
    expect(report.status).toBe('failed')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('omits the revocation check when none is requested', async () => {
    const report = await validatePath(base())
    expect(report.status).toBe('passed')
    expect(report.chain[0]?.checks.some((c) => c.check === 'revocation')).toBe(false)
  })
})
