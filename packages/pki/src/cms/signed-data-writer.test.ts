import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSigner, type Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCertificate } from '../x509/certificate.js'
import type { ExtensionsInput } from '../x509/extensions.js'
import type { NameList } from '../x509/name.js'
import { CMS_OID, signCms, verifyCms } from './signed-data.js'
import { createCmsWriter } from './signed-data-writer.js'
import { type Fixtures, makeFixtures } from './test-fixtures.js'

let fx: Fixtures
const content = new TextEncoder().encode('出院小结 discharge summary\n')

beforeAll(() => {
  fx = makeFixtures()
  writeFileSync(join(fx.dir, 'data'), content)
})
afterAll(() => fx?.cleanup())

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
              const schema = await signCms({
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
