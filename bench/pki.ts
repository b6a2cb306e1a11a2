import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner, type Signer } from '@yiqian/gm'
import { buildCertificate, signCms, verifyCms } from '@yiqian/pki'
import { opensslEcdsaP256Speed, opensslSm2Speed } from './openssl.js'
import { median, type Row } from './table.js'

/** Operations per second of the asynchronous `fn` (wall clock), run for about `seconds`; see `rate` in table.ts. */
async function rateAsync(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    for (let i = 0; i < 16; i++) await fn()
    n += 16
    now = performance.now()
  }
  return n / ((now - start) / 1000)
}

interface Key {
  readonly label: string
  readonly signer: Signer
  readonly spki: Uint8Array
  readonly reference: (seconds: number) => { sign: number; verify: number }
  readonly referenceLabel: string
}

/** Keys made once by `openssl genpkey`, as an operator would make them. */
async function keys(): Promise<Key[]> {
  const dir = mkdtempSync(join(tmpdir(), 'yiqian-bench-pki-'))
  try {
    const make = (file: string, args: string[]) => {
      execFileSync('openssl', ['genpkey', ...args, '-out', join(dir, file)], { stdio: 'ignore' })
      return createSigner(readFileSync(join(dir, file), 'utf8'))
    }
    const sm2 = make('sm2.pem', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'])
    const p256 = make('p256.pem', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    return [
      {
        label: 'SM2-SM3',
        signer: sm2,
        spki: await sm2.publicKey(),
        reference: opensslSm2Speed,
        referenceLabel: 'openssl speed sm2',
      },
      {
        label: 'ECDSA-P256',
        signer: p256,
        spki: await p256.publicKey(),
        reference: opensslEcdsaP256Speed,
        referenceLabel: 'openssl speed ecdsap256',
      },
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * PKI figures beside `openssl speed` from the same run: issuing a leaf certificate (build + sign) against OpenSSL's
 * bare signature rate, and verifying a detached CMS signature against its bare verification rate. The references do
 * less work (no DER, no digest of the content), so the ratio shows what the structure costs on top of the signature.
 */
export async function pkiRows(runs: number, seconds: number): Promise<Row[]> {
  const rows: Row[] = []
  const content = new TextEncoder().encode('出院小结 discharge summary\n'.repeat(40))
  for (const key of await keys()) {
    const issuer = await buildCertificate({
      issuer: [{ C: 'CN' }, { O: '医签 Bench' }, { CN: '医签 Bench CA' }],
      subject: [{ C: 'CN' }, { O: '医签 Bench' }, { CN: '医签 Bench CA' }],
      subjectPublicKey: key.spki,
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2036-01-01T00:00:00Z'),
      extensions: { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] },
      signer: key.signer,
    })
    // A doctor's signing certificate with the usual extensions; the doctor's key is the CA's, to measure the CA only.
    const issue = () =>
      buildCertificate({
        issuer,
        subject: [{ C: 'CN' }, { O: '医签 Bench' }, { CN: '王医生' }],
        subjectPublicKey: key.spki,
        notBefore: new Date('2026-11-01T00:00:00Z'),
        notAfter: new Date('2027-11-01T00:00:00Z'),
        extensions: {
          basicConstraints: { ca: false },
          keyUsage: ['digitalSignature', 'nonRepudiation'],
          extKeyUsage: ['emailProtection'],
          subjectAltName: [{ email: 'wang@hospital.example' }],
          crlDistributionPoints: ['http://ca.hospital.example/crl'],
          authorityInfoAccess: { ocsp: ['http://ca.hospital.example/ocsp'] },
          certificatePolicies: [{ oid: '1.2.156.112559.1.1.1' }],
        },
        signer: key.signer,
      })
    const cms = await signCms({ content, detached: true, signer: key.signer, certificate: await issue() })
    const verify = async () => {
      if (!(await verifyCms(cms, { content })).valid) throw new Error('benchmark CMS did not verify')
    }
    // Warm up the JIT, then alternate our runs and OpenSSL's so that both see the same machine conditions.
    await rateAsync(issue, 0.3)
    await rateAsync(verify, 0.3)
    const samples: { issue: number; verify: number; reference: { sign: number; verify: number } }[] = []
    for (let run = 0; run < runs; run++) {
      samples.push({
        issue: await rateAsync(issue, seconds),
        verify: await rateAsync(verify, seconds),
        reference: key.reference(seconds),
      })
    }
    rows.push({
      operation: `certificate issuance, ${key.label} (build + sign leaf)`,
      opsPerSecond: median(samples.map((x) => x.issue)),
      reference: { label: `${key.referenceLabel} (sign)`, opsPerSecond: median(samples.map((x) => x.reference.sign)) },
    })
    rows.push({
      operation: `CMS detached verify, ${key.label}, ${content.length} B`,
      opsPerSecond: median(samples.map((x) => x.verify)),
      reference: {
        label: `${key.referenceLabel} (verify)`,
        opsPerSecond: median(samples.map((x) => x.reference.verify)),
      },
    })
  }
  return rows
}
