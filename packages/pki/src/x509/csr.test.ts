import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPkiError } from '../errors.js'
import { buildCsr, csrFromPem, csrToPem, parseCsr, verifyCsr } from './csr.js'
import type { NameList } from './name.js'

let dir: string
const sh = (script: string): string => execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' })
const read = (file: string): string => readFileSync(join(dir, file), 'utf8')
const subject: NameList = [{ C: 'CN' }, { O: '某某医院' }, { OU: '心内科' }, { CN: '王医生' }]

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'yiqian-csr-'))
  sh(`set -e
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.pem 2>/dev/null
openssl req -new -key ec.pem -utf8 -subj "/C=CN/O=某某医院/CN=EC" -addext "subjectAltName=email:a@b.example" -out o-ec.csr
openssl req -new -key rsa.pem -subj "/C=CN/CN=RSA" -out o-rsa.csr
openssl req -new -key sm2.pem -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/CN=SM2" -out o-sm2.csr`)
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('PKCS #10 requests', () => {
  it('ours pass openssl req -verify (ECDSA, RSA, SM2) and read back', async () => {
    for (const alg of ['ec', 'rsa', 'sm2']) {
      const signer = createSigner(read(`${alg}.pem`))
      const der = await buildCsr({
        subject,
        signer,
        extensions: { keyUsage: ['digitalSignature'], subjectAltName: [{ email: 'wang@hospital.example' }] },
      })
      writeFileSync(join(dir, `${alg}.csr`), csrToPem(der))
      const parsed = parseCsr(der)
      expect(parsed.subject).toEqual(subject)
      expect(parsed.subjectPublicKeyInfo).toEqual(await signer.publicKey())
      expect(parsed.extensions.keyUsage).toEqual({ critical: true, usages: ['digitalSignature'] })
      expect(parsed.extensions.subjectAltName?.names).toEqual([{ email: 'wang@hospital.example' }])
      expect(await verifyCsr(parsed)).toBe(true)
    }
    const out = sh(`openssl req -verify -noout -in ec.csr 2>&1
openssl req -verify -noout -in rsa.csr 2>&1
openssl req -verify -noout -vfyopt distid:1234567812345678 -in sm2.csr 2>&1
openssl req -noout -text -nameopt utf8 -in ec.csr`)
    expect(out.match(/verify OK|Certificate request self-signature verify OK/g)?.length).toBe(3)
    expect(out).toContain('Subject: C=CN, O=某某医院, OU=心内科, CN=王医生')
    expect(out).toContain('email:wang@hospital.example')
  })

  it("OpenSSL's requests parse and verify in ours", async () => {
    const ec = parseCsr(csrFromPem(read('o-ec.csr')))
    expect(ec.subject).toEqual([{ C: 'CN' }, { O: '某某医院' }, { CN: 'EC' }])
    expect(ec.extensions.subjectAltName?.names).toEqual([{ email: 'a@b.example' }])
    expect(await verifyCsr(ec)).toBe(true)
    expect(await verifyCsr(csrFromPem(read('o-rsa.csr')))).toBe(true)
    const sm2 = parseCsr(csrFromPem(read('o-sm2.csr')))
    expect(sm2.signatureAlgorithm.name).toBe('SM2-SM3')
    expect(await verifyCsr(sm2)).toBe(true)
  })

  it('a request signed over different bytes fails proof of possession', async () => {
    const der = csrFromPem(read('o-ec.csr'))
    const parsed = parseCsr(der)
    const other = parseCsr(csrFromPem(read('o-rsa.csr')))
    expect(await verifyCsr({ ...parsed, signature: other.signature })).toBe(false)
    expect(() => parseCsr(der.subarray(0, 40))).toThrow(expect.objectContaining({ name: 'PkiError' }))
    expect(
      isPkiError(
        catchError(() => parseCsr(Uint8Array.of(...der, 0))),
        'NOT_STRICT_DER',
      ),
    ).toBe(true)
  })
})

function catchError(f: () => unknown): unknown {
  try {
    f()
  } catch (error) {
    return error
  }
  return undefined
}
