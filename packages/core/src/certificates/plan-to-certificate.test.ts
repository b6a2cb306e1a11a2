/**
 * Round trip: a plan goes to @yiqian/pki's buildCertificate unchanged, the certificate is parsed back, and for
 * ECDSA OpenSSL reads it independently. (The core does not depend on pki at run time; only this test uses it.)
 */
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner, generateSm2KeyPair, type Signer, sm2PrivateKeyToPem } from '@yiqian/gm'
import {
  buildCertificate,
  certificateToPem,
  type ParsedCertificate,
  parseCertificate,
  verifyCertificateSignature,
} from '@yiqian/pki'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  builtInProfile,
  type CertificatePlan,
  type CertificateRequest,
  type IssuerFacts,
  planCertificateOrThrow,
  staffCertificateRequest,
} from './profiles.js'

const now = new Date()
const revocation = { crl: ['http://ca.hospital.local/crl/1.crl'], ocsp: ['http://ca.hospital.local/ocsp'] }

function sm2Signer(): Signer {
  return createSigner(sm2PrivateKeyToPem(generateSm2KeyPair().privateKey))
}

function p256Signer(): Signer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
}

function factsOf(cert: ParsedCertificate): IssuerFacts {
  const bc = cert.extensions.basicConstraints
  return { notBefore: cert.notBefore, notAfter: cert.notAfter, ca: bc?.ca === true, pathLength: bc?.pathLength }
}

/** What the CA adapter will do: plan, then hand the plan's fields to the builder as they are. */
async function issue(
  profileId: string,
  request: CertificateRequest,
  subjectKey: Signer,
  issuer: { cert: ParsedCertificate; signer: Signer } | undefined,
): Promise<{ plan: CertificatePlan; cert: ParsedCertificate }> {
  const plan = planCertificateOrThrow(builtInProfile(profileId), request, {
    now,
    issuer: issuer && factsOf(issuer.cert),
    revocation,
  })
  const der = await buildCertificate({
    issuer: issuer ? issuer.cert : plan.subject,
    subject: plan.subject,
    subjectPublicKey: await subjectKey.publicKey(),
    notBefore: plan.notBefore,
    notAfter: plan.notAfter,
    extensions: plan.extensions,
    signer: issuer ? issuer.signer : subjectKey,
  })
  const cert = parseCertificate(der)
  expect(await verifyCertificateSignature(cert, issuer ? issuer.cert : cert)).toBe(true)
  expect(cert.notBefore).toEqual(plan.notBefore)
  expect(cert.notAfter).toEqual(plan.notAfter)
  expect(cert.subject).toEqual(plan.subject)
  return { plan, cert }
}

describe('SM2: root → issuing CA → staff-sign and event', () => {
  let root: { cert: ParsedCertificate; signer: Signer }
  let ca: { cert: ParsedCertificate; signer: Signer }

  beforeAll(async () => {
    const rootKey = sm2Signer()
    const r = await issue(
      'root-ca',
      { subject: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 根 CA' }, publicKey: { algorithm: 'SM2' } },
      rootKey,
      undefined,
    )
    root = { cert: r.cert, signer: rootKey }
    const caKey = sm2Signer()
    const c = await issue(
      'issuing-ca',
      { subject: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 签发 CA' }, publicKey: { algorithm: 'SM2' } },
      caKey,
      root,
    )
    ca = { cert: c.cert, signer: caKey }
  })

  it('the root and the issuing CA carry CA:true, their path lengths and keyCertSign + cRLSign', () => {
    expect(root.cert.extensions.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 1 })
    expect(ca.cert.extensions.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 0 })
    for (const c of [root.cert, ca.cert]) {
      expect(c.extensions.keyUsage).toEqual({ critical: true, usages: ['keyCertSign', 'cRLSign'] })
      expect(c.signatureAlgorithm.name).toBe('SM2-SM3')
    }
    expect(root.cert.extensions.crlDistributionPoints).toBeUndefined()
    expect(ca.cert.extensions.crlDistributionPoints?.uris).toEqual(revocation.crl)
  })

  it('staff-sign: subject, digitalSignature + nonRepudiation, GM/T 0015 ID-card number, revocation pointers', async () => {
    const { cert } = await issue(
      'staff-sign',
      staffCertificateRequest({
        name: '王医生',
        employeeNumber: 'E0123',
        departmentName: '心内科',
        institutionName: '某某省人民医院',
        idCardNumber: '11010519491231002X',
        publicKey: { algorithm: 'SM2' },
      }),
      sm2Signer(),
      ca,
    )
    expect(cert.subjectString).toBe('C=CN, O=某某省人民医院, OU=心内科, CN=王医生, serialNumber=E0123')
    expect(cert.extensions.keyUsage).toEqual({ critical: true, usages: ['digitalSignature', 'nonRepudiation'] })
    expect(cert.extensions.basicConstraints).toEqual({ critical: true, ca: false })
    expect(cert.extensions.idCardNumber).toEqual({ critical: false, value: '11010519491231002X' })
    expect(cert.extensions.all.map((e) => e.oid)).toContain('1.2.156.10260.4.1.1')
    expect(cert.extensions.extKeyUsage).toBeUndefined()
    expect(cert.extensions.authorityInfoAccess?.ocsp).toEqual(revocation.ocsp)
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe((2 * 365 * 86_400 + 60) * 1000)
  })

  it('event: lives 30 minutes', async () => {
    const { cert } = await issue(
      'event',
      { subject: { CN: '李患者', serialNumber: 'EV-0001' }, publicKey: { algorithm: 'SM2' } },
      sm2Signer(),
      ca,
    )
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBeLessThanOrEqual((30 * 60 + 60) * 1000)
    expect(cert.extensions.keyUsage?.usages).toEqual(['digitalSignature', 'nonRepudiation'])
  })
})

describe('ECDSA P-256: root → tsa, ocsp-signer, tls-server, read by OpenSSL too', () => {
  let dir: string
  let root: { cert: ParsedCertificate; signer: Signer }
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  const text = (name: string, cert: ParsedCertificate) => {
    writeFileSync(join(dir, name), certificateToPem(cert.der))
    return openssl('x509', '-in', name, '-noout', '-text')
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yiqian-profiles-'))
    const key = p256Signer()
    const r = await issue(
      'root-ca',
      {
        subject: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian ECDSA Root' },
        publicKey: { algorithm: 'ECDSA-P256' },
      },
      key,
      undefined,
    )
    root = { cert: r.cert, signer: key }
    writeFileSync(join(dir, 'root.pem'), certificateToPem(root.cert.der))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('root: OpenSSL sees CA:TRUE, pathlen:1, Certificate Sign + CRL Sign', () => {
    const out = text('root-text.pem', root.cert)
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/)
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/)
  })

  it('tsa: critical EKU time stamping only, as RFC 3161 asks', async () => {
    const { cert } = await issue(
      'tsa',
      { subject: { CN: 'Yiqian TSA', O: 'Yiqian Test Hospital' }, publicKey: { algorithm: 'ECDSA-P256' } },
      p256Signer(),
      root,
    )
    expect(cert.extensions.extKeyUsage).toEqual({ critical: true, purposes: ['1.3.6.1.5.5.7.3.8'] })
    const out = text('tsa.pem', cert)
    expect(out).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\n/)
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation\n/)
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/)
    expect(openssl('verify', '-CAfile', 'root.pem', '-purpose', 'timestampsign', 'tsa.pem')).toContain('tsa.pem: OK')
  })

  it('ocsp-signer: OCSP Signing and OCSP No Check', async () => {
    const { cert } = await issue(
      'ocsp-signer',
      { subject: { CN: 'Yiqian OCSP' }, publicKey: { algorithm: 'ECDSA-P256' } },
      p256Signer(),
      root,
    )
    expect(cert.extensions.extKeyUsage).toEqual({ critical: false, purposes: ['1.3.6.1.5.5.7.3.9'] })
    const out = text('ocsp.pem', cert)
    expect(out).toMatch(/X509v3 Extended Key Usage:\s+OCSP Signing\n/)
    expect(out).toContain('OCSP No Check')
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/)
    expect(out).not.toContain('CRL Distribution Points')
  })

  it('tls-server: serverAuth with DNS and IP SANs that OpenSSL verifies for the host and the address', async () => {
    const { cert } = await issue(
      'tls-server',
      {
        subject: { CN: 'yiqian.hospital.local' },
        subjectAltName: { dns: ['yiqian.hospital.local'], ip: ['10.1.2.3', '2001:db8::1'] },
        publicKey: { algorithm: 'ECDSA-P256' },
      },
      p256Signer(),
      root,
    )
    expect(cert.extensions.subjectAltName?.names).toEqual([{ dns: 'yiqian.hospital.local' }])
    const out = text('tls.pem', cert)
    expect(out).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/)
    expect(out).toMatch(/DNS:yiqian\.hospital\.local, IP Address:10\.1\.2\.3, IP Address:2001:DB8:0:0:0:0:0:1/)
    const verify = (...extra: string[]) =>
      openssl('verify', '-CAfile', 'root.pem', '-purpose', 'sslserver', ...extra, 'tls.pem')
    expect(verify('-verify_hostname', 'yiqian.hospital.local')).toContain('tls.pem: OK')
    expect(verify('-verify_ip', '10.1.2.3')).toContain('tls.pem: OK')
    expect(() => verify('-verify_ip', '10.1.2.4')).toThrow()
  })
})
