import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
} from '@peculiar/asn1-cms'
import { OctetString } from '@peculiar/asn1-schema'
import { Time } from '@peculiar/asn1-x509'
import { createSigner, type Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signStructure } from '../algorithms.js'
import { encodeDer } from '../der.js'
import { buildCertificate } from '../x509/certificate.js'
import type { ExtensionsInput } from '../x509/extensions.js'
import type { NameList } from '../x509/name.js'
import { compareDer, digest, digestAlgorithmIdentifier } from './digest.js'
import { AttributeSet, ObjectIdentifierValue } from './ess.js'
import {
  CMS_OID,
  createCmsWriter,
  decodeCertificate,
  digestForSignature,
  essCertIdV2,
  type SignCmsOptions,
  verifyCms,
} from './signed-data.js'
import { type Fixtures, makeFixtures } from './test-fixtures.js'

let fx: Fixtures
const content = new TextEncoder().encode('出院小结 discharge summary\n')

beforeAll(() => {
  fx = makeFixtures()
  writeFileSync(join(fx.dir, 'data'), content)
})
afterAll(() => fx?.cleanup())

/**
 * The schema-encoder signCms this module used before the direct writer (kept here as the oracle, as
 * x509/certificate.fast.test.ts keeps the old certificate encoder).
 */
async function schemaSignCms(options: SignCmsOptions): Promise<Uint8Array> {
  const { content, detached, signer } = options
  const certificate = decodeCertificate(options.certificate, 'signer certificate')
  const chain = (options.chain ?? []).map((der, i) => decodeCertificate(der, `chain certificate ${i}`))
  const hash = digestForSignature(signer.algorithm)
  const eContentType = options.contentType ?? (options.gmt0010 ? CMS_OID.gmData : CMS_OID.data)
  const signingTime = options.signingTime ?? new Date()
  const attribute = (type: string, value: object) =>
    new Attribute({ attrType: type, attrValues: [encodeDer(value).slice().buffer] })
  const sortedByDer = (attributes: Attribute[]) =>
    attributes
      .map((a) => ({ a, der: encodeDer(a) }))
      .sort((x, y) => compareDer(x.der, y.der))
      .map((x) => x.a)
  const signingTimeValue = (date: Date) => {
    const t = new Date(date.getTime())
    t.setUTCMilliseconds(0)
    const year = t.getUTCFullYear()
    return year >= 1950 && year <= 2049 ? new Time({ utcTime: t }) : new Time({ generalTime: t })
  }
  const signedAttrs = sortedByDer([
    attribute(CMS_OID.contentType, new ObjectIdentifierValue(eContentType)),
    attribute(CMS_OID.messageDigest, new OctetString(digest(hash, content))),
    attribute(CMS_OID.signingTime, signingTimeValue(signingTime)),
    attribute(CMS_OID.signingCertificateV2, essCertIdV2(options.certificate, hash)),
  ])
  const { algorithm, signature } = await signStructure(signer, encodeDer(new AttributeSet(signedAttrs)))

  const signerInfo = new SignerInfo({
    version: CMSVersion.v1,
    sid: new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({
        issuer: certificate.tbsCertificate.issuer,
        serialNumber: certificate.tbsCertificate.serialNumber,
      }),
    }),
    digestAlgorithm: digestAlgorithmIdentifier(hash),
    signedAttrs,
    signatureAlgorithm: algorithm,
    signature: new OctetString(signature),
  })
  const certificates = [certificate, ...chain].map((c) => ({ c, der: encodeDer(c) }))
  // CertificateSet is a SET OF: DER order.
  certificates.sort((x, y) => compareDer(x.der, y.der))
  const signedData = new SignedData({
    // RFC 5652 §5.1: v3 when eContentType is not id-data (GM/T 0010 data keeps v1 as that standard specifies).
    version: eContentType === CMS_OID.data || eContentType === CMS_OID.gmData ? CMSVersion.v1 : CMSVersion.v3,
    digestAlgorithms: new DigestAlgorithmIdentifiers([digestAlgorithmIdentifier(hash)]),
    encapContentInfo: new EncapsulatedContentInfo({
      eContentType,
      eContent: detached ? undefined : new EncapsulatedContent({ single: new OctetString(content) }),
    }),
    certificates: new CertificateSet(certificates.map(({ c }) => new CertificateChoices({ certificate: c }))),
    signerInfos: new SignerInfos([signerInfo]),
  })
  return encodeDer(
    new ContentInfo({
      contentType: options.gmt0010 ? CMS_OID.gmSignedData : CMS_OID.signedData,
      content: encodeDer(signedData).slice().buffer,
    }),
  )
}

/** The real key's algorithm and public key, a constant signature: two encoders' bytes can then be compared. */
function constantSignature(signer: Signer): Signer {
  const fixed = new Uint8Array(72).fill(0x5a)
  return { algorithm: signer.algorithm, publicKey: () => signer.publicKey(), sign: async () => fixed }
}

describe('createCmsWriter', () => {
  const times = [new Date('2026-03-01T08:00:00.250Z'), new Date('2051-01-01T00:00:00Z')]
  for (const name of ['sm2', 'ec', 'rsa'] as const) {
    it(`writes the bytes the schema encoder writes (${name}; attached and detached, id-data, GM/T 0010, TSTInfo)`, () => {
      const signer = constantSignature(createSigner(fx[name].keyPem))
      const chain = [fx.ec.certDer, fx.rsa.certDer]
      const cases = [
        { contentType: undefined, gmt0010: false },
        { contentType: undefined, gmt0010: true },
        { contentType: CMS_OID.tstInfo, gmt0010: false },
      ]
      return Promise.all(
        cases.flatMap(({ contentType, gmt0010 }) =>
          times.flatMap((signingTime) =>
            [true, false].map(async (detached) => {
              const writer = createCmsWriter({
                signer,
                certificate: fx[name].certDer,
                chain,
                contentType,
                gmt0010,
                signingCertificateV2: true,
              })
              const fast = await writer.sign({
                content,
                encapsulate: !detached,
                signingTime,
                includeCertificates: true,
              })
              const schema = await schemaSignCms({
                content,
                detached,
                signer,
                certificate: fx[name].certDer,
                chain,
                signingTime,
                contentType,
                gmt0010,
              })
              expect(Buffer.from(fast).toString('hex')).toBe(Buffer.from(schema).toString('hex'))
            }),
          ),
        ),
      )
    })
  }

  it('signs SM2 CMS that our verifier passes, and ECDSA/RSA CMS that openssl cms -verify accepts', async () => {
    const sm2 = createCmsWriter({
      signer: createSigner(fx.sm2.keyPem),
      certificate: fx.sm2.certDer,
      signingCertificateV2: true,
    })
    const der = await sm2.sign({ content, encapsulate: false, signingTime: new Date(), includeCertificates: true })
    const result = await verifyCms(der, { content, trusted: [fx.sm2.certDer], requireSigningCertificate: true })
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([])
    expect(result.valid).toBe(true)
    const tampered = await verifyCms(der, { content: new TextEncoder().encode('changed'), trusted: [fx.sm2.certDer] })
    expect(tampered.valid).toBe(false)

    const script: string[] = []
    for (const name of ['ec', 'rsa'] as const) {
      const writer = createCmsWriter({ signer: createSigner(fx[name].keyPem), certificate: fx[name].certDer })
      writeFileSync(
        join(fx.dir, `${name}-fast-att.der`),
        await writer.sign({ content, encapsulate: true, signingTime: new Date(), includeCertificates: true }),
      )
      script.push(
        `openssl cms -verify -inform DER -in ${name}-fast-att.der -CAfile ${name}.pem -purpose any -out ${name}-fast.out`,
      )
    }
    fx.run(script.join('\n'))
    for (const name of ['ec', 'rsa'] as const) {
      expect(new Uint8Array(readFileSync(join(fx.dir, `${name}-fast.out`)))).toEqual(content)
    }
  })
})

describe('verifyCms trust through carried CA certificates', () => {
  const notBefore = new Date('2026-01-01T00:00:00Z')
  const notAfter = new Date('2036-01-01T00:00:00Z')
  const key = () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const signer = createSigner(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())
    return signer
  }
  const ca: ExtensionsInput = { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] }
  const leaf: ExtensionsInput = { basicConstraints: { ca: false }, keyUsage: ['digitalSignature'] }
  const issue = (
    issuer: NameList | Uint8Array,
    subject: NameList,
    signer: Signer,
    issuerSigner: Signer,
    extensions: ExtensionsInput,
  ) =>
    buildCertificate({
      issuer,
      subject,
      subjectPublicKey: signer.publicKey(),
      notBefore,
      notAfter,
      extensions,
      signer: issuerSigner,
    })

  it('passes root → intermediate → signer with the intermediate carried, fails without it or through a non-CA', async () => {
    const rootKey = key()
    const midKey = key()
    const leafKey = key()
    const rootName: NameList = [{ C: 'CN' }, { O: '某某医院' }, { CN: 'Root' }]
    const root = await issue(rootName, rootName, rootKey, rootKey, ca)
    const mid = await issue(root, [{ C: 'CN' }, { CN: 'Issuing' }], midKey, rootKey, ca)
    const notCa = await issue(root, [{ C: 'CN' }, { CN: 'Issuing' }], midKey, rootKey, leaf)
    const signerCert = await issue(mid, [{ C: 'CN' }, { CN: '王医生' }], leafKey, midKey, leaf)
    const signed = (chain: Uint8Array[]) =>
      createCmsWriter({ signer: leafKey, certificate: signerCert, chain }).sign({
        content,
        encapsulate: false,
        signingTime: notBefore,
        includeCertificates: true,
      })
    const trust = async (der: Uint8Array, trusted: Uint8Array[]) =>
      (await verifyCms(der, { content, trusted })).checks.find((c) => c.name === 'trust')
    expect(await trust(await signed([mid]), [root])).toMatchObject({
      status: 'passed',
      reason: expect.stringContaining('1 CA'),
    })
    expect(await trust(await signed([mid]), [mid])).toMatchObject({ status: 'passed' })
    expect(await trust(await signed([]), [root])).toMatchObject({ status: 'failed' })
    expect(await trust(await signed([notCa]), [root])).toMatchObject({ status: 'failed' })
  })
})
