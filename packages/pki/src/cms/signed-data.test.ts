import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { concatBytes as concat, createSigner, equalBytes as equal } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPkiError } from '../errors.js'
import { CMS_OID, parseCms, signCms, signedAttributesBytes, verifyCms } from './signed-data.js'
import { type Fixtures, makeFixtures, mutate } from './test-fixtures.js'

/** Mutation cases per structure: 10,000 in the normal run, more under `npm run fuzz`. */
const CASES = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)
/** The loop's time budget grows with CASES (60 s per 10,000 cases). */
const TIMEOUT = Math.max(30_000, CASES * 6)

let fx: Fixtures
const content = new TextEncoder().encode('出院小结 discharge summary\n')

beforeAll(() => {
  fx = makeFixtures()
  writeFileSync(join(fx.dir, 'data'), content)
})
afterAll(() => fx?.cleanup())

describe('CMS SignedData with OpenSSL (ECDSA P-256, RSA)', () => {
  it('ours verifies in openssl cms and openssl-made CMS verifies in ours', async () => {
    const script: string[] = []
    for (const name of ['ec', 'rsa'] as const) {
      const f = fx[name]
      const signer = createSigner(f.keyPem)
      const detached = await signCms({ content, detached: true, signer, certificate: f.certDer })
      const attached = await signCms({ content, detached: false, signer, certificate: f.certDer })
      writeFileSync(join(fx.dir, `${name}-ours-det.der`), detached)
      writeFileSync(join(fx.dir, `${name}-ours-att.der`), attached)
      script.push(
        `openssl cms -verify -binary -inform DER -in ${name}-ours-det.der -content data -CAfile ${name}.pem -purpose any -out /dev/null`,
        `openssl cms -verify -inform DER -in ${name}-ours-att.der -CAfile ${name}.pem -purpose any -out ${name}-att.out`,
        `openssl cms -sign -binary -outform DER -md sha256 -signer ${name}.pem -inkey ${name}.key -in data -out ${name}-ossl-det.der`,
        `openssl cms -sign -binary -nodetach -outform DER -md sha256 -signer ${name}.pem -inkey ${name}.key -in data -out ${name}-ossl-att.der`,
      )
    }
    fx.run(script.join('\n'))
    for (const name of ['ec', 'rsa'] as const) {
      expect(new Uint8Array(readFileSync(join(fx.dir, `${name}-att.out`)))).toEqual(content)
      const det = new Uint8Array(readFileSync(join(fx.dir, `${name}-ossl-det.der`)))
      const att = new Uint8Array(readFileSync(join(fx.dir, `${name}-ossl-att.der`)))
      const trusted = [fx[name].certDer]
      const r1 = await verifyCms(det, { content, trusted })
      expect(r1.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(r1.valid).toBe(true)
      const r2 = await verifyCms(att, { trusted })
      expect(r2.valid).toBe(true)
      expect(r2.content).toEqual(content)
    }
  })

  it('verifies its own signatures with every check named', async () => {
    const signer = createSigner(fx.ec.keyPem)
    const signingTime = new Date('2026-03-01T08:00:00.250Z')
    const der = await signCms({ content, detached: false, signer, certificate: fx.ec.certDer, signingTime })
    const result = await verifyCms(der, { trusted: [fx.ec.certDer] })
    expect(result.valid).toBe(true)
    expect(result.checks.map((c) => [c.name, c.status])).toEqual([
      ['structure', 'passed'],
      ['content-digest', 'passed'],
      ['signature', 'passed'],
      ['signing-certificate', 'passed'],
      ['trust', 'passed'],
    ])
    expect(result.signingTime?.toISOString()).toBe('2026-03-01T08:00:00.000Z')
    expect(result.signatureAlgorithm).toBe('ECDSA-P256-SHA256')
  })

  it('refuses a certificate that does not hold the signer key', async () => {
    const signer = createSigner(fx.ec.keyPem)
    await expect(signCms({ content, detached: true, signer, certificate: fx.rsa.certDer })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})

describe('CMS SignedData with SM2', () => {
  it('signs with SM3/SM2, verifies in ours, and the raw signature checks out in sm-crypto-v2 and OpenSSL', async () => {
    const { sm2 } = await import('sm-crypto-v2')
    const signer = createSigner(fx.sm2.keyPem)
    for (const gmt0010 of [false, true]) {
      const der = await signCms({ content, detached: gmt0010, signer, certificate: fx.sm2.certDer, gmt0010 })
      const result = await verifyCms(der, gmt0010 ? { content } : {})
      expect(result.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(result.valid).toBe(true)
      expect(result.signatureAlgorithm).toBe('SM2-SM3')
      const { contentInfo, signedData } = parseCms(der)
      expect(contentInfo.contentType).toBe(gmt0010 ? CMS_OID.gmSignedData : CMS_OID.signedData)
      const signerInfo = signedData.signerInfos[0]!
      expect(signerInfo.digestAlgorithm.algorithm).toBe('1.2.156.10197.1.401')
      expect(signerInfo.signatureAlgorithm.algorithm).toBe('1.2.156.10197.1.501')
      const signed = signedAttributesBytes(signerInfo)
      expect(signed[0]).toBe(0x31)
      const sig = new Uint8Array(signerInfo.signature.buffer)
      const pubHex = sm2PublicHex(fx.sm2.certPem)
      expect(
        sm2.doVerifySignature(signed, Buffer.from(sig).toString('hex'), pubHex, {
          der: true,
          hash: true,
          userId: '1234567812345678',
        }),
      ).toBe(true)
      writeFileSync(join(fx.dir, `sm2-attrs-${gmt0010}.der`), signed)
      writeFileSync(join(fx.dir, `sm2-sig-${gmt0010}.der`), sig)
    }
    const out = fx.run(
      [false, true]
        .map(
          (g) =>
            `openssl x509 -in sm2.pem -pubkey -noout > sm2.pub && openssl pkeyutl -verify -pubin -inkey sm2.pub -rawin -digest sm3 -pkeyopt distid:1234567812345678 -in sm2-attrs-${g}.der -sigfile sm2-sig-${g}.der`,
        )
        .join('\n'),
    )
    expect(out.match(/Signature Verified Successfully/g)).toHaveLength(2)
  })
})

/** 04‖X‖Y hex of the SM2 key in a certificate, as sm-crypto-v2 wants it. */
function sm2PublicHex(certPem: string): string {
  const crypto = globalThis.process.getBuiltinModule('node:crypto')
  const spki = crypto.createPublicKey(certPem).export({ format: 'der', type: 'spki' })
  // The SPKI of an SM2 key ends with the BIT STRING contents 04‖X‖Y.
  return Buffer.from(spki.subarray(-65)).toString('hex')
}

describe('CMS tampering and hostile input', () => {
  it('names the failing check', async () => {
    const signer = createSigner(fx.ec.keyPem)
    const detached = await signCms({ content, detached: true, signer, certificate: fx.ec.certDer })
    const changed = content.slice()
    changed[0]! ^= 1
    const r1 = await verifyCms(detached, { content: changed })
    expect(r1.valid).toBe(false)
    expect(r1.checks.find((c) => c.status === 'failed')?.name).toBe('content-digest')

    // Flip a byte inside the signing-time value (a signed attribute): the signature fails.
    const signingTime = new Date('2026-03-01T08:00:00Z')
    const der = await signCms({ content, detached: true, signer, certificate: fx.ec.certDer, signingTime })
    const marker = new TextEncoder().encode('260301080000Z')
    const at = indexOf(der, marker)
    expect(at).toBeGreaterThan(0)
    const tampered = der.slice()
    tampered[at + 1] = 0x37 // 2026 → 2076 is still a valid UTCTime digit
    const r2 = await verifyCms(tampered, { content })
    expect(r2.checks.find((c) => c.status === 'failed')?.name).toBe('signature')

    // Flip the last byte of the signature value.
    const { signedData } = parseCms(der)
    const sig = new Uint8Array(signedData.signerInfos[0]!.signature.buffer)
    const sigAt = indexOf(der, sig)
    const badSig = der.slice()
    badSig[sigAt + sig.length - 1]! ^= 0x01
    const r3 = await verifyCms(badSig, { content })
    expect(r3.valid).toBe(false)
    expect(r3.checks.find((c) => c.status === 'failed')?.name).toBe('signature')

    // Untrusted anchor.
    const r4 = await verifyCms(der, { content, trusted: [fx.rsa.certDer] })
    expect(r4.checks.find((c) => c.status === 'failed')?.name).toBe('trust')
  })

  it('rejects hostile DER with typed errors', async () => {
    const signer = createSigner(fx.ec.keyPem)
    const der = await signCms({ content, detached: false, signer, certificate: fx.ec.certDer })
    const cases: Array<[Uint8Array, string]> = [
      [der.subarray(0, der.length - 1), 'MALFORMED_DER'],
      [concat(der, new Uint8Array([0])), 'NOT_STRICT_DER'],
      [berLength(der), 'NOT_STRICT_DER'],
      [deep(40), 'TOO_DEEP'],
      [new Uint8Array(0), 'MALFORMED_DER'],
    ]
    for (const [input, code] of cases) {
      await expect(verifyCms(input, { content })).rejects.toMatchObject({ name: 'PkiError', code })
    }
  })

  it(`never accepts a mutated CMS blob (seeded, ${CASES.toLocaleString('en-US')} mutations)`, {
    timeout: TIMEOUT,
  }, async () => {
    const { seededRandom } = await import('./test-fixtures.js')
    const signer = createSigner(fx.ec.keyPem)
    const der = await signCms({ content, detached: false, signer, certificate: fx.ec.certDer })
    const random = seededRandom(0x5eed)
    let typed = 0
    let failed = 0
    for (let i = 0; i < CASES; i++) {
      const m = mutate(der, random)
      if (equal(m, der)) continue
      try {
        const r = await verifyCms(m)
        expect(r.valid, `mutation ${i} accepted`).toBe(false)
        failed++
      } catch (error) {
        if (!isPkiError(error)) throw error
        typed++
      }
    }
    // At most 5 % of the mutations may leave the blob unchanged (and be skipped).
    expect(typed + failed).toBeGreaterThan(CASES * 0.95)
  })
})

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle))
}

/** The outer SEQUENCE re-encoded with a non-minimal (BER) length: one length byte more than needed. */
function berLength(der: Uint8Array): Uint8Array {
  const count = der[1]! & 0x7f
  const header = 2 + count
  const len = der.subarray(2, header)
  return concat(new Uint8Array([0x30, 0x80 | (count + 1), 0]), len, der.subarray(header))
}

function deep(levels: number): Uint8Array {
  let v: Uint8Array = new Uint8Array([0x05, 0x00])
  for (let i = 0; i < levels; i++) v = concat(new Uint8Array([0x30, v.length]), v)
  return v
}
