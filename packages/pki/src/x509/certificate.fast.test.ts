/**
 * Differential test of the direct-DER buildCertificate against the schema encoding it replaced (kept here as the
 * oracle): the TBSCertificate must be byte for byte the same, and with a deterministic signature (RSA PKCS#1 v1.5)
 * the whole certificate too. OpenSSL must read every variant.
 */
import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Certificate,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509'
import { createSigner, generateSm2KeyPair, type Signer, sm2PrivateKeyToPem, sm2PublicKeyToSpki } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signStructure } from '../algorithms.js'
import { decodeDer, encodeDer } from '../der.js'
import { isPkiError } from '../errors.js'
import {
  type BuildCertificateOptions,
  bufferOf,
  buildCertificate,
  certificateToPem,
  type ParsedCertificate,
  parseCertificate,
  timeOf,
  verifyCertificateSignature,
} from './certificate.js'
import { derGeneralizedTime, derLength, derOid, derSmallInteger, spkiParts } from './der-build.js'
import { buildExtensions, type ExtensionsInput, encodeExtensions, KEY_USAGES, keyIdentifierOf } from './extensions.js'
import { buildName, encodeName, type NameList, nameToString } from './name.js'

/** The previous buildCertificate, verbatim but for the key identifier (computed the old way, by strict decode). */
async function referenceCertificate(options: BuildCertificateOptions): Promise<Uint8Array> {
  const { subject, subjectPublicKey, notBefore, notAfter, signer, extensions = {} } = options
  const issuerCert =
    options.issuer instanceof Uint8Array
      ? parseCertificate(options.issuer)
      : Array.isArray(options.issuer)
        ? undefined
        : (options.issuer as ParsedCertificate)
  const issuerName: Name = issuerCert
    ? decodeDer(issuerCert.subjectDer, Name, 'issuer name')
    : buildName(options.issuer as NameList)
  const validity = new Validity()
  validity.notBefore = timeOf(notBefore, 'notBefore')
  validity.notAfter = timeOf(notAfter, 'notAfter')
  const spki = decodeDer(subjectPublicKey, SubjectPublicKeyInfo, 'subject public key')
  const oldKeyId = (der: Uint8Array) =>
    new Uint8Array(
      createHash('sha1')
        .update(new Uint8Array(decodeDer(der, SubjectPublicKeyInfo, 'spki').subjectPublicKey))
        .digest(),
    )
  const withIds: ExtensionsInput = options.omitKeyIdentifiers
    ? extensions
    : {
        ...extensions,
        subjectKeyIdentifier: extensions.subjectKeyIdentifier ?? oldKeyId(subjectPublicKey),
        authorityKeyIdentifier:
          extensions.authorityKeyIdentifier ??
          issuerCert?.extensions.subjectKeyIdentifier?.keyIdentifier ??
          oldKeyId(await signer.publicKey()),
      }
  const list = buildExtensions(withIds)
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: bufferOf(options.serial as Uint8Array),
    signature: (await signStructure(signer, new Uint8Array(1))).algorithm,
    issuer: issuerName,
    validity,
    subject: buildName(subject),
    subjectPublicKeyInfo: spki,
  })
  if (list.length > 0) tbs.extensions = new Extensions(list)
  const signed = await signStructure(signer, encodeDer(tbs))
  return encodeDer(
    new Certificate({
      tbsCertificate: tbs,
      signatureAlgorithm: signed.algorithm,
      signatureValue: bufferOf(signed.signature),
    }),
  )
}

let dir: string
const sh = (script: string): string => execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' })

const pem = (key: { export(o: object): string | Buffer }) => key.export({ type: 'pkcs8', format: 'pem' }) as string
const spkiOf = (key: { export(o: object): string | Buffer }) =>
  new Uint8Array(key.export({ type: 'spki', format: 'der' }) as Buffer)

interface KeyCase {
  readonly name: string
  readonly signer: Signer
  readonly spki: Uint8Array
}
let keys: KeyCase[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'yiqian-x509-fast-'))
  const sm2 = generateSm2KeyPair()
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const rsa4096 = generateKeyPairSync('rsa', { modulusLength: 4096 })
  keys = [
    { name: 'sm2', signer: createSigner(sm2PrivateKeyToPem(sm2.privateKey)), spki: sm2PublicKeyToSpki(sm2.publicKey) },
    { name: 'ec', signer: createSigner(pem(ec.privateKey)), spki: spkiOf(ec.publicKey) },
    { name: 'rsa', signer: createSigner(pem(rsa.privateKey)), spki: spkiOf(rsa.publicKey) },
    {
      name: 'pss',
      signer: createSigner(pem(rsa.privateKey), { algorithm: 'RSA-PSS-SHA256' }),
      spki: spkiOf(rsa.publicKey),
    },
    { name: 'rsa4096', signer: createSigner(pem(rsa4096.privateKey)), spki: spkiOf(rsa4096.publicKey) },
  ]
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const hospital: NameList = [{ C: 'CN' }, { ST: '北京' }, { L: '海淀' }, { O: '某某省人民医院' }]
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
}

/** Builds with both encoders and checks they agree; returns the fast one's DER. */
async function agree(options: BuildCertificateOptions, deterministic: boolean): Promise<Uint8Array> {
  const fast = await buildCertificate(options)
  const reference = await referenceCertificate(options)
  const a = parseCertificate(fast)
  const b = parseCertificate(reference)
  expect(Buffer.from(a.tbsDer).toString('hex')).toBe(Buffer.from(b.tbsDer).toString('hex'))
  expect(a.signatureAlgorithm.der).toEqual(b.signatureAlgorithm.der)
  if (deterministic) expect(Buffer.from(fast).toString('hex')).toBe(Buffer.from(reference).toString('hex'))
  else expect(fast.length - a.signature.length).toBe(reference.length - b.signature.length)
  return fast
}

describe('buildCertificate writes the DER the schema encoder wrote', () => {
  it('for every key type, self-signed and issued, UTCTime and GeneralizedTime, and OpenSSL reads them', async () => {
    let n = 0
    for (const { name, signer, spki } of keys) {
      const deterministic = name.startsWith('rsa')
      const rootName: NameList = [...hospital, { CN: `${name} 根CA ${'长'.repeat(60)}` }]
      const root = await agree(
        {
          issuer: rootName,
          subject: rootName,
          subjectPublicKey: spki,
          serial: Uint8Array.of(0x01, 0x23, 0x45),
          notBefore: new Date('2026-01-01T00:00:00.999Z'),
          notAfter: new Date('2050-01-01T00:00:00Z'),
          extensions: { basicConstraints: { ca: true, pathLength: 0 }, keyUsage: ['keyCertSign', 'cRLSign'] },
          signer,
        },
        deterministic,
      )
      for (const issuer of [root, parseCertificate(root)]) {
        const leaf = await agree(
          {
            issuer,
            subject: [
              ...hospital,
              { OU: '心内科' },
              { CN: '王医生' },
              { serialNumber: 'E000123' },
              { emailAddress: 'wang@hospital.example' },
              { '2.5.4.12': '主任医师' },
            ],
            subjectPublicKey: keys[(n + 1) % keys.length]!.spki,
            serial: Uint8Array.of(0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
            notBefore: new Date('1950-01-01T00:00:00Z'),
            notAfter: new Date('2051-06-30T23:59:59.5Z'),
            extensions: leafExtensions,
            signer,
          },
          deterministic,
        )
        expect(await verifyCertificateSignature(leaf, parseCertificate(root)), name).toBe(true)
        writeFileSync(join(dir, `leaf${n}.pem`), certificateToPem(leaf))
        n++
      }
      const bare = await agree(
        {
          issuer: root,
          subject: [{ CN: 'x' }],
          subjectPublicKey: spki,
          serial: Uint8Array.of(0x7f),
          notBefore: new Date('2049-12-31T23:59:59Z'),
          notAfter: new Date('2050-01-01T00:00:00Z'),
          omitKeyIdentifiers: true,
          signer,
        },
        deterministic,
      )
      expect(parseCertificate(bare).extensions.all).toEqual([])
      writeFileSync(join(dir, `root-${name}.pem`), certificateToPem(root))
      writeFileSync(join(dir, `bare-${name}.pem`), certificateToPem(bare))
    }
    const out = sh('for f in *.pem; do openssl x509 -in $f -noout -text -nameopt utf8 >/dev/null && echo "ok $f"; done')
    expect(out.trim().split('\n')).toHaveLength(keys.length * 4)
    expect(sh('openssl x509 -in leaf0.pem -noout -subject -dates -nameopt utf8')).toContain('王医生')
  })

  it('refuses a malformed subject public key as the schema decoder did', async () => {
    const { signer, spki } = keys[0]!
    const base = {
      issuer: [{ CN: 'r' }],
      subject: [{ CN: 's' }],
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      signer,
    }
    const trailing = new Uint8Array([...spki, 0x00])
    const truncated = spki.subarray(0, spki.length - 1)
    const notSequence = Uint8Array.of(0x04, 0x01, 0x00)
    const unusedBits = spki.slice()
    unusedBits[spki.indexOf(0x03, 20) + 2] = 1
    for (const bad of [trailing, truncated, notSequence, new Uint8Array(0)]) {
      const error = await buildCertificate({ ...base, subjectPublicKey: bad }).catch((e: unknown) => e)
      expect(isPkiError(error), String(error)).toBe(true)
    }
    const wrongTime = await buildCertificate({
      ...base,
      subjectPublicKey: spki,
      notBefore: new Date('1949-12-31T23:59:59Z'),
    }).catch((e: unknown) => e)
    expect(isPkiError(wrongTime, 'INVALID_ARGUMENT')).toBe(true)
  })
})

describe('DER helpers match the schema encoder', () => {
  it('names, OIDs, integers, lengths, times and SubjectPublicKeyInfo parts', () => {
    const names: NameList[] = [
      [{ C: 'CN' }, { O: '医院' }, { CN: 'a'.repeat(300) }],
      [{ emailAddress: 'a@b.example' }, { serialNumber: "A-1 (2)'+,./:=?" }, { '1.2.840.113549.1.9.2': 'x' }],
    ]
    for (const name of names) expect(encodeName(name)).toEqual(encodeDer(buildName(name)))
    expect(() => encodeName([{ C: 'cn' }])).toThrow(/country/)
    expect(() => encodeName([{ XX: 'a' }])).toThrow(/unknown name attribute/)
    expect(derOid('1.2.156.10197.1.501')).toEqual(
      Uint8Array.of(0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75),
    )
    expect(derOid('2.999.1')).toEqual(Uint8Array.of(0x06, 0x03, 0x88, 0x37, 0x01))
    expect(derSmallInteger(0)).toEqual(Uint8Array.of(2, 1, 0))
    expect(derSmallInteger(128)).toEqual(Uint8Array.of(2, 2, 0, 0x80))
    expect(derLength(127)).toEqual(Uint8Array.of(127))
    expect(derLength(128)).toEqual(Uint8Array.of(0x81, 0x80))
    expect(derLength(65536)).toEqual(Uint8Array.of(0x83, 1, 0, 0))
    expect(derGeneralizedTime(new Date('2026-03-04T05:06:07Z'))).toEqual(
      Uint8Array.of(0x18, 15, ...Buffer.from('20260304050607Z')),
    )
    for (const { spki } of keys) {
      const parts = spkiParts(spki)
      expect(parts.key).toEqual(new Uint8Array(decodeDer(spki, SubjectPublicKeyInfo, 'spki').subjectPublicKey))
      expect(keyIdentifierOf(spki)).toEqual(new Uint8Array(createHash('sha1').update(parts.key).digest()))
    }
    expect(spkiParts(keys[0]!.spki)).toMatchObject({
      algorithm: '1.2.840.10045.2.1',
      parameterOid: '1.2.156.10197.1.301',
    })
    expect(spkiParts(keys[1]!.spki)).toMatchObject({
      algorithm: '1.2.840.10045.2.1',
      parameterOid: '1.2.840.10045.3.1.7',
    })
    expect(spkiParts(keys[2]!.spki).algorithm).toBe('1.2.840.113549.1.1.1')
  })
})

describe('encodeExtensions writes what buildExtensions and the schema encoder write', () => {
  const same = (input: ExtensionsInput) =>
    expect(encodeExtensions(input).map((d) => Buffer.from(d).toString('hex'))).toEqual(
      buildExtensions(input).map((e) => Buffer.from(encodeDer(e)).toString('hex')),
    )
  it('for every key usage set, basic constraints and the other extensions', () => {
    for (let flags = 1; flags < 1 << KEY_USAGES.length; flags++) {
      same({ keyUsage: KEY_USAGES.filter((_, bit) => flags & (1 << bit)) })
    }
    for (const basicConstraints of [
      { ca: false },
      { ca: true },
      { ca: true, pathLength: 0 },
      { ca: true, pathLength: 127 },
      { ca: true, pathLength: 128 },
      { ca: true, pathLength: 70_000, critical: false },
    ]) {
      same({ basicConstraints })
    }
    same(leafExtensions)
    same({
      ...leafExtensions,
      subjectKeyIdentifier: new Uint8Array(20).fill(7),
      authorityKeyIdentifier: new Uint8Array(32).fill(9),
      extKeyUsage: ['serverAuth', 'OCSPSigning', '1.2.3.4.5.6.7.8'],
      subjectAltName: Array.from({ length: 20 }, (_, i) => ({ email: `doctor${i}@hospital.example` })),
      crlDistributionPoints: ['http://a.example/1.crl', 'ldap://b.example/cn=x'],
      authorityInfoAccess: { ocsp: ['http://o.example'] },
      certificatePolicies: [{ oid: '2.5.29.32.0' }, { oid: '1.2.3', cps: 'https://cps.example/x' }],
      idCardNumber: '身份证号',
      custom: [
        { oid: '1.2.3.4', critical: true, value: Uint8Array.of(0x05, 0x00) },
        { oid: '1.2.3.5', critical: false, value: new Uint8Array(300).fill(0x41) },
      ],
    })
    same({ authorityInfoAccess: { caIssuers: ['http://c.example/ca.crt'] } })
    same({})
  })
  it('refuses what buildExtensions refuses', () => {
    const bad: ExtensionsInput[] = [
      { basicConstraints: { ca: false, pathLength: 1 } },
      { keyUsage: [] },
      { keyUsage: ['nope' as never] },
      { extKeyUsage: ['not an oid'] },
      { subjectAltName: [] },
      { subjectAltName: [{ email: 'wang 医生@x' }] },
      { crlDistributionPoints: ['no uri'] },
      { certificatePolicies: [{ oid: '1.2', cps: `http://${'x'.repeat(130)}` }] },
      { idCardNumber: '' },
      { extKeyUsage: ['clientAuth'], custom: [{ oid: '2.5.29.37', critical: false, value: Uint8Array.of(5, 0) }] },
    ]
    for (const input of bad) {
      const old = (() => {
        try {
          buildExtensions(input)
          return 'accepted'
        } catch (error) {
          return isPkiError(error) ? error.code : 'untyped'
        }
      })()
      expect(old).not.toBe('accepted')
      expect(() => encodeExtensions(input)).toThrow()
      try {
        encodeExtensions(input)
      } catch (error) {
        expect(isPkiError(error) ? error.code : 'untyped').toBe(old)
      }
    }
  })
})

describe('the subject string of an issued certificate is nameToString of the list it was built from', () => {
  it('with characters that need escaping, Chinese, and every attribute a profile uses', async () => {
    const { signer, spki } = keys[0]!
    const subjects: NameList[] = [
      [{ C: 'CN' }, { ST: '北京' }, { L: '海淀, 中关村' }, { O: 'A+B "医院" <x>; y=z \\ w' }, { OU: '心内科' }],
      [{ CN: '王医生 #1' }, { serialNumber: 'E000001' }, { emailAddress: 'wang@hospital.example' }],
      [{ O: '某某省人民医院' }, { CN: `${'长'.repeat(100)}` }],
    ]
    for (const subject of subjects) {
      const der = await buildCertificate({
        issuer: [{ CN: 'r' }],
        subject,
        subjectPublicKey: spki,
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2027-01-01T00:00:00Z'),
        signer,
      })
      expect(nameToString(subject)).toBe(parseCertificate(der).subjectString)
    }
  })
})
