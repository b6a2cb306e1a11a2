import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner, type Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPkiError } from '../errors.js'
import {
  buildCertificate,
  certificateFromPem,
  certificateToPem,
  type ParsedCertificate,
  parseCertificate,
  verifyCertificateSignature,
} from './certificate.js'
import type { ExtensionsInput } from './extensions.js'
import type { NameList } from './name.js'

let dir: string
const sh = (script: string): string => execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' })
const read = (file: string): string => readFileSync(join(dir, file), 'utf8')
const write = (file: string, text: string): void => writeFileSync(join(dir, file), text)

const notBefore = new Date('2026-01-01T00:00:00Z')
const notAfter = new Date('2036-01-01T00:00:00Z')
const hospital: NameList = [{ C: 'CN' }, { O: '某某医院' }]
const caExtensions = (pathLength?: number): ExtensionsInput => ({
  basicConstraints: { ca: true, pathLength },
  keyUsage: ['keyCertSign', 'cRLSign'],
})
const leafExtensions: ExtensionsInput = {
  basicConstraints: { ca: false },
  keyUsage: ['digitalSignature', 'nonRepudiation'],
  extKeyUsage: ['emailProtection', 'clientAuth'],
  subjectAltName: [{ email: 'wang@hospital.example' }, { dns: 'sign.hospital.example' }, { uri: 'urn:staff:1001' }],
  crlDistributionPoints: ['http://ca.hospital.example/ca.crl'],
  authorityInfoAccess: { ocsp: ['http://ocsp.hospital.example'], caIssuers: ['http://ca.hospital.example/ca.cer'] },
  certificatePolicies: [{ oid: '1.2.156.112559.1.1.1', cps: 'http://ca.hospital.example/cps' }],
  idCardNumber: '11010519491231002X',
  socialInsuranceNumber: '1234567890',
  custom: [{ oid: '1.2.156.112559.9.1', critical: false, value: Uint8Array.of(0x0c, 0x04, 0x53, 0x31, 0x30, 0x31) }],
}

interface Chain {
  root: Uint8Array
  inter: Uint8Array
  leaf: Uint8Array
}

async function buildChain(keys: [Signer, Signer, Signer], tag: string): Promise<Chain> {
  const [rootKey, interKey, leafKey] = keys
  const rootDer = await buildCertificate({
    issuer: [...hospital, { CN: `${tag} 根CA` }],
    subject: [...hospital, { CN: `${tag} 根CA` }],
    subjectPublicKey: await rootKey.publicKey(),
    notBefore,
    notAfter,
    extensions: caExtensions(1),
    signer: rootKey,
  })
  const root = parseCertificate(rootDer)
  const interDer = await buildCertificate({
    issuer: root,
    subject: [...hospital, { OU: '信息科' }, { CN: `${tag} 中级CA` }],
    subjectPublicKey: await interKey.publicKey(),
    notBefore,
    notAfter,
    extensions: caExtensions(0),
    signer: rootKey,
  })
  const leafDer = await buildCertificate({
    issuer: interDer,
    subject: [...hospital, { OU: '心内科' }, { CN: '王医生' }, { serialNumber: 'S1001' }],
    subjectPublicKey: await leafKey.publicKey(),
    notBefore,
    notAfter: new Date('2051-06-01T00:00:00Z'),
    extensions: leafExtensions,
    signer: interKey,
  })
  return { root: rootDer, inter: interDer, leaf: leafDer }
}

const chains: Record<string, Chain> = {}
const opensslMade: Record<string, ParsedCertificate> = {}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yiqian-x509-'))
  // One batch for every key and every OpenSSL-made certificate.
  sh(`set -e
for n in 1 2 3; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec$n.pem 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa$n.pem 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2$n.pem 2>/dev/null
done
openssl req -x509 -new -key ec1.pem -sha256 -days 30 -subj "/C=CN/O=OpenSSL 医院/CN=EC Root" -utf8 -out o-ec-root.pem
openssl req -x509 -new -key rsa1.pem -sha256 -days 30 -subj "/C=CN/CN=RSA Root" -out o-rsa-root.pem
openssl req -x509 -new -key sm21.pem -sm3 -sigopt distid:1234567812345678 -days 30 -subj "/C=CN/CN=SM2 Root" -out o-sm2-root.pem
openssl req -new -key ec2.pem -subj "/C=CN/CN=EC Leaf" -out o-ec-leaf.csr
printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\nsubjectAltName=email:a@b.example\\n' > ext.cnf
openssl x509 -req -in o-ec-leaf.csr -CA o-ec-root.pem -CAkey ec1.pem -CAcreateserial -days 10 -sha256 -extfile ext.cnf -out o-ec-leaf.pem 2>/dev/null
`)
  const signers = (alg: string) =>
    [1, 2, 3].map((n) => createSigner(read(`${alg}${n}.pem`))) as [Signer, Signer, Signer]
  const pss = [1, 2, 3].map((n) => createSigner(read(`rsa${n}.pem`), { algorithm: 'RSA-PSS-SHA256' }))
  for (const alg of ['ec', 'rsa', 'sm2', 'pss']) {
    const chain = await buildChain(alg === 'pss' ? (pss as [Signer, Signer, Signer]) : signers(alg), alg.toUpperCase())
    chains[alg] = chain
    write(`${alg}-root.pem`, certificateToPem(chain.root))
    write(`${alg}-inter.pem`, certificateToPem(chain.inter))
    write(`${alg}-leaf.pem`, certificateToPem(chain.leaf))
  }
  for (const name of ['o-ec-root', 'o-rsa-root', 'o-sm2-root', 'o-ec-leaf']) {
    opensslMade[name] = parseCertificate(certificateFromPem(read(`${name}.pem`)))
  }
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('certificates against OpenSSL', () => {
  it('our ECDSA and RSA chains pass openssl verify and show their extensions', () => {
    const out = sh(`for a in ec rsa pss; do
  openssl verify -CAfile $a-root.pem -untrusted $a-inter.pem $a-leaf.pem 2>&1
done
openssl x509 -in ec-leaf.pem -noout -text -nameopt utf8
openssl x509 -in ec-leaf.pem -noout -subject -nameopt utf8`)
    expect(out).toContain('ec-leaf.pem: OK')
    expect(out).toContain('rsa-leaf.pem: OK')
    expect(out).toContain('pss-leaf.pem: OK')
    for (const text of [
      'X509v3 Basic Constraints: critical',
      'CA:FALSE',
      'X509v3 Key Usage: critical',
      'Digital Signature, Non Repudiation',
      'E-mail Protection, TLS Web Client Authentication',
      'email:wang@hospital.example, DNS:sign.hospital.example, URI:urn:staff:1001',
      'URI:http://ca.hospital.example/ca.crl',
      'OCSP - URI:http://ocsp.hospital.example',
      'CA Issuers - URI:http://ca.hospital.example/ca.cer',
      'Policy: 1.2.156.112559.1.1.1',
      'CPS: http://ca.hospital.example/cps',
      'X509v3 Subject Key Identifier',
      'X509v3 Authority Key Identifier',
      '1.2.156.10260.4.1.1',
      '1.2.156.10260.4.1.2',
      '1.2.156.112559.9.1',
      'Not After : Jun  1 00:00:00 2051 GMT',
      'subject=C=CN, O=某某医院, OU=心内科, CN=王医生, serialNumber=S1001',
    ]) {
      expect(out).toContain(text)
    }
  })

  // OpenSSL 3.0 cannot check an SM2 self-signature (-check_ss_sig fails even for its own roots: the distid is not
  // passed on), so the root's own signature is checked in ours; every issued link is checked by OpenSSL.
  it('our SM2 chain passes openssl verify link by link with the default distid', () => {
    const out = sh(`openssl verify -vfyopt distid:1234567812345678 -CAfile sm2-root.pem sm2-root.pem 2>&1
openssl verify -vfyopt distid:1234567812345678 -CAfile sm2-root.pem sm2-inter.pem 2>&1
openssl verify -vfyopt distid:1234567812345678 -partial_chain -CAfile sm2-inter.pem sm2-leaf.pem 2>&1`)
    expect(out).toContain('sm2-root.pem: OK')
    expect(out).toContain('sm2-inter.pem: OK')
    expect(out).toContain('sm2-leaf.pem: OK')
  })

  it('OpenSSL-made certificates parse and verify in ours', async () => {
    const ecRoot = opensslMade['o-ec-root']!
    expect(ecRoot.subject).toEqual([{ C: 'CN' }, { O: 'OpenSSL 医院' }, { CN: 'EC Root' }])
    expect(ecRoot.extensions.basicConstraints).toMatchObject({ ca: true, critical: true })
    expect(await verifyCertificateSignature(ecRoot, ecRoot)).toBe(true)
    const rsaRoot = opensslMade['o-rsa-root']!
    expect(rsaRoot.signatureAlgorithm.name).toBe('RSA-SHA256')
    expect(await verifyCertificateSignature(rsaRoot, rsaRoot)).toBe(true)
    const sm2Root = opensslMade['o-sm2-root']!
    expect(sm2Root.signatureAlgorithm.name).toBe('SM2-SM3')
    expect(await verifyCertificateSignature(sm2Root, sm2Root)).toBe(true)
    const leaf = opensslMade['o-ec-leaf']!
    expect(leaf.extensions.subjectAltName?.names).toEqual([{ email: 'a@b.example' }])
    expect(leaf.extensions.keyUsage).toEqual({ critical: true, usages: ['digitalSignature'] })
    expect(await verifyCertificateSignature(leaf, ecRoot)).toBe(true)
    expect(await verifyCertificateSignature(leaf, rsaRoot.subjectPublicKeyInfo)).toBe(false)
  })
})

describe('our certificates read back', () => {
  it('parses every field and extension we set', async () => {
    const chain = chains.ec!
    const leaf = parseCertificate(chain.leaf)
    const inter = parseCertificate(chain.inter)
    expect(leaf.version).toBe(3)
    expect(leaf.serial.length).toBe(16)
    expect(leaf.serialHex).toMatch(/^[4-7][0-9a-f]{31}$/)
    expect(leaf.subject).toEqual([
      { C: 'CN' },
      { O: '某某医院' },
      { OU: '心内科' },
      { CN: '王医生' },
      { serialNumber: 'S1001' },
    ])
    expect(leaf.subjectString).toBe('C=CN, O=某某医院, OU=心内科, CN=王医生, serialNumber=S1001')
    expect(leaf.issuer).toEqual(inter.subject)
    expect(leaf.notBefore).toEqual(notBefore)
    expect(leaf.notAfter).toEqual(new Date('2051-06-01T00:00:00Z'))
    const e = leaf.extensions
    expect(e.basicConstraints).toEqual({ critical: true, ca: false })
    expect(inter.extensions.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 0 })
    expect(inter.extensions.keyUsage).toEqual({ critical: true, usages: ['keyCertSign', 'cRLSign'] })
    expect(e.keyUsage).toEqual({ critical: true, usages: ['digitalSignature', 'nonRepudiation'] })
    expect(e.extKeyUsage?.purposes).toEqual(['1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.2'])
    expect(e.subjectAltName?.names).toEqual(leafExtensions.subjectAltName)
    expect(e.crlDistributionPoints?.uris).toEqual(['http://ca.hospital.example/ca.crl'])
    expect(e.authorityInfoAccess).toEqual({
      critical: false,
      ocsp: ['http://ocsp.hospital.example'],
      caIssuers: ['http://ca.hospital.example/ca.cer'],
    })
    expect(e.certificatePolicies?.policies).toEqual([
      { oid: '1.2.156.112559.1.1.1', cps: 'http://ca.hospital.example/cps' },
    ])
    expect(e.idCardNumber).toEqual({ critical: false, value: '11010519491231002X' })
    expect(e.socialInsuranceNumber?.value).toBe('1234567890')
    expect(e.unknown).toEqual([leafExtensions.custom![0]])
    expect(e.authorityKeyIdentifier?.keyIdentifier).toEqual(inter.extensions.subjectKeyIdentifier?.keyIdentifier)
    expect(await verifyCertificateSignature(leaf, inter)).toBe(true)
    expect(await verifyCertificateSignature(leaf, parseCertificate(chain.root))).toBe(false)
  })

  it('our SM2 certificates verify in ours and PEM round-trips', async () => {
    const chain = chains.sm2!
    expect(certificateFromPem(certificateToPem(chain.leaf))).toEqual(chain.leaf)
    expect(await verifyCertificateSignature(chain.leaf, parseCertificate(chain.inter))).toBe(true)
    expect(await verifyCertificateSignature(chain.inter, parseCertificate(chain.root))).toBe(true)
  })

  it('rejects bad builder input', async () => {
    const signer = createSigner(read('ec1.pem'))
    const base = {
      issuer: hospital,
      subject: hospital,
      subjectPublicKey: await signer.publicKey(),
      notBefore,
      notAfter,
      signer,
    }
    for (const bad of [
      { serial: 0n },
      { serial: -5n },
      { serial: 2n ** 160n },
      { subject: [{ C: 'China' }] },
      { subject: [{ XX: 'a' }] },
      { notAfter: new Date('2020-01-01') },
      { extensions: { basicConstraints: { ca: false, pathLength: 1 } } },
      { extensions: { subjectAltName: [{ uri: 'no scheme' }] } },
      { subjectPublicKey: Uint8Array.of(0x30, 0x00) },
    ]) {
      await expect(buildCertificate({ ...base, ...bad } as never)).rejects.toSatisfy((e) => isPkiError(e))
    }
  })
})
