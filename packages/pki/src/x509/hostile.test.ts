import { generateKeyPairSync } from 'node:crypto'
import { OctetString } from '@peculiar/asn1-schema'
import { Certificate, Extension, Extensions, Version } from '@peculiar/asn1-x509'
import { createSigner, type Signer } from '@yiqian/gm'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeDer, encodeDer } from '../der.js'
import { isPkiError, type PkiErrorCode } from '../errors.js'
import { buildCertificate, parseCertificate, verifyCertificateSignature } from './certificate.js'
import { buildCrl, parseCrl, verifyCrlSignature } from './crl.js'
import { buildCsr, parseCsr, verifyCsr } from './csr.js'

/** Mutation cases per structure: 10,000 in the normal run, more under `npm run fuzz`. */
const CASES = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)
/** The loops' time budget grows with CASES (60 s per 10,000 cases). */
const TIMEOUT = Math.max(30_000, CASES * 6)

let signer: Signer
let spki: Uint8Array
let certDer: Uint8Array
let csrDer: Uint8Array
let crlDer: Uint8Array

/** Deterministic PRNG (mulberry32) so a failing mutation can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One random edit: flip a bit, set a byte, drop or insert a byte, or truncate. Always changes the input. */
function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n)
  const at = pick(input.length)
  switch (pick(5)) {
    case 0: {
      const out = input.slice()
      out[at] = out[at]! ^ (1 << pick(8))
      return out
    }
    case 1: {
      const out = input.slice()
      out[at] = (out[at]! + 1 + pick(255)) & 0xff
      return out
    }
    case 2:
      return Uint8Array.of(...input.subarray(0, at), ...input.subarray(at + 1))
    case 3:
      return Uint8Array.of(...input.subarray(0, at), pick(256), ...input.subarray(at))
    default:
      return input.slice(0, at)
  }
}

const expectCode = (f: () => unknown, code: PkiErrorCode) =>
  expect(f).toThrow(expect.objectContaining({ name: 'PkiError', code }))

/** Re-signs nothing: edits the parsed structure and re-encodes it, to reach the X.509 checks behind the DER ones. */
function edit(change: (cert: Certificate) => void): Uint8Array {
  const cert = decodeDer(certDer, Certificate, 'certificate')
  change(cert)
  return encodeDer(cert)
}

beforeAll(async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  signer = createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
  spki = await signer.publicKey()
  certDer = await buildCertificate({
    issuer: [{ C: 'CN' }, { CN: '测试' }],
    subject: [{ C: 'CN' }, { CN: '测试' }],
    subjectPublicKey: spki,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    extensions: { basicConstraints: { ca: true }, keyUsage: ['keyCertSign'] },
    signer,
  })
  csrDer = await buildCsr({
    subject: [{ C: 'CN' }, { CN: '王医生' }],
    signer,
    extensions: { subjectAltName: [{ email: 'wang@hospital.example' }] },
  })
  crlDer = await buildCrl({
    issuer: certDer,
    signer,
    thisUpdate: new Date('2026-11-01T00:00:00Z'),
    nextUpdate: new Date('2026-11-08T00:00:00Z'),
    crlNumber: 3,
    revoked: [
      { serial: 0x1001n, date: new Date('2026-10-01T00:00:00Z'), reason: 'keyCompromise' },
      { serial: 0x1002n, date: new Date('2026-10-02T00:00:00Z') },
    ],
  })
})

/**
 * Mutates `der` `rounds` times: every outcome must be a PkiError, or a parse whose signature verifies exactly when
 * the signed bytes and the signature came through unchanged.
 */
async function mutationLoop<T extends { tbsDer?: Uint8Array; infoDer?: Uint8Array; signature: Uint8Array }>(
  der: Uint8Array,
  rounds: number,
  seed: number,
  parse: (der: Uint8Array) => T,
  verify: (parsed: T) => Promise<boolean>,
): Promise<number> {
  const random = prng(seed)
  const original = parse(der)
  const signedBytes = (p: T) => p.tbsDer ?? p.infoDer!
  let parsedCount = 0
  for (let i = 0; i < rounds; i++) {
    const mutated = mutate(der, random)
    let parsed: T
    try {
      parsed = parse(mutated)
    } catch (error) {
      if (!isPkiError(error)) throw new Error(`mutation ${i} (seed ${seed}) threw a non-PkiError`, { cause: error })
      continue
    }
    parsedCount++
    const intact =
      Buffer.compare(signedBytes(parsed), signedBytes(original)) === 0 &&
      Buffer.compare(parsed.signature, original.signature) === 0
    let ok: boolean
    try {
      ok = await verify(parsed)
    } catch (error) {
      if (!isPkiError(error))
        throw new Error(`mutation ${i} (seed ${seed}) verify threw a non-PkiError`, { cause: error })
      continue
    }
    expect(ok, `mutation ${i} (seed ${seed})`).toBe(intact)
  }
  return parsedCount
}

describe('hostile certificates', () => {
  it('rejects truncation, trailing bytes and BER lengths', () => {
    expectCode(() => parseCertificate(certDer.subarray(0, certDer.length - 1)), 'MALFORMED_DER')
    expectCode(() => parseCertificate(Uint8Array.of(...certDer, 0)), 'NOT_STRICT_DER')
    // Re-write the outer length in long form with an extra byte (0x82 → 0x83 00 ..).
    const ber = Uint8Array.of(0x30, 0x83, 0x00, ...certDer.subarray(2))
    expectCode(() => parseCertificate(ber), 'NOT_STRICT_DER')
    expectCode(() => parseCertificate(new Uint8Array(0)), 'MALFORMED_DER')
    expectCode(() => parseCertificate(Uint8Array.of(0x04, 0x01, 0x00)), 'MALFORMED_DER')
  })

  it('rejects X.509 rule breaks as INVALID_CERTIFICATE', () => {
    const cases: ((cert: Certificate) => void)[] = [
      (c) => {
        c.tbsCertificate.serialNumber = Uint8Array.of(0).buffer
      },
      (c) => {
        c.tbsCertificate.serialNumber = Uint8Array.of(0xff, 0x01).buffer
      },
      (c) => {
        c.tbsCertificate.serialNumber = new Uint8Array(21).fill(1).buffer
      },
      (c) => {
        c.tbsCertificate.version = Version.v2
      },
      (c) => {
        c.tbsCertificate.version = 5 as Version
      },
      (c) => {
        const first = c.tbsCertificate.extensions![0]!
        c.tbsCertificate.extensions = new Extensions([...c.tbsCertificate.extensions!, first])
      },
      (c) => {
        c.signatureAlgorithm.algorithm = '1.2.840.113549.1.1.11'
      },
      (c) => {
        c.tbsCertificate.extensions!.push(
          new Extension({
            extnID: '1.2.156.10260.4.1.1',
            critical: false,
            extnValue: new OctetString(Uint8Array.of(2, 1, 1)),
          }),
        )
      },
    ]
    for (const change of cases) {
      const der = edit(change)
      expect(() => parseCertificate(der)).toThrow(
        expect.objectContaining({ name: 'PkiError', code: expect.stringMatching(/INVALID_CERTIFICATE|MALFORMED_DER/) }),
      )
    }
  })

  it('reports a wrong algorithm OID as UNSUPPORTED_ALGORITHM when verifying', async () => {
    const der = edit((c) => {
      c.signatureAlgorithm.algorithm = '1.2.3.4'
      c.tbsCertificate.signature.algorithm = '1.2.3.4'
    })
    const parsed = parseCertificate(der)
    expect(parsed.signatureAlgorithm).toMatchObject({ oid: '1.2.3.4' })
    await expect(verifyCertificateSignature(parsed, spki)).rejects.toSatisfy((e) =>
      isPkiError(e, 'UNSUPPORTED_ALGORITHM'),
    )
  })

  it(`survives ${CASES.toLocaleString('en-US')} seeded certificate mutations`, { timeout: TIMEOUT }, async () => {
    const parsed = await mutationLoop(certDer, CASES, 20261128, parseCertificate, (c) =>
      verifyCertificateSignature(c, spki),
    )
    // Some mutations (inside strings, keys, signatures) must get through parsing to exercise verification.
    expect(parsed).toBeGreaterThan(CASES / 100)
  })

  it(`survives ${CASES.toLocaleString('en-US')} seeded CSR mutations`, { timeout: TIMEOUT }, async () => {
    expect(await mutationLoop(csrDer, CASES, 1128, parseCsr, verifyCsr)).toBeGreaterThan(CASES / 100)
  })

  it(`survives ${CASES.toLocaleString('en-US')} seeded CRL mutations`, { timeout: TIMEOUT }, async () => {
    const parsed = await mutationLoop(crlDer, CASES, 2026, parseCrl, (c) => verifyCrlSignature(c, spki))
    expect(parsed).toBeGreaterThan(CASES / 100)
  })
})
