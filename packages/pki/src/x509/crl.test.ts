import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner, type Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPkiError } from '../errors.js'
import { buildCertificate, certificateFromPem, certificateToPem, parseCertificate } from './certificate.js'
import { buildCrl, crlFromPem, crlToPem, isRevoked, parseCrl, verifyCrlSignature } from './crl.js'

let dir: string
const sh = (script: string): string => execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' })
const read = (file: string): string => readFileSync(join(dir, file), 'utf8')
const write = (file: string, text: string): void => writeFileSync(join(dir, file), text)

const thisUpdate = new Date('2026-11-01T00:00:00Z')
const nextUpdate = new Date('2026-11-08T00:00:00Z')

async function caOf(signer: Signer, cn: string): Promise<Uint8Array> {
  return buildCertificate({
    issuer: [{ C: 'CN' }, { O: '某某医院' }, { CN: cn }],
    subject: [{ C: 'CN' }, { O: '某某医院' }, { CN: cn }],
    subjectPublicKey: await signer.publicKey(),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2036-01-01T00:00:00Z'),
    extensions: { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] },
    signer,
  })
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'yiqian-crl-'))
  // A tiny `openssl ca` directory: a root, one issued and revoked leaf, and the CRL it generates.
  write(
    'ca.cnf',
    `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
crlnumber = crlnumber
certificate = o-ca.pem
private_key = o-ca.key
new_certs_dir = .
serial = serial
default_md = sha256
default_crl_days = 7
policy = loose
[ loose ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`,
  )
  sh(`set -e
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out o-ca.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out o-leaf.key 2>/dev/null
: > index.txt; echo 1000 > serial; echo 01 > crlnumber
openssl req -x509 -new -key o-ca.key -sha256 -days 30 -subj "/C=CN/CN=OpenSSL CA" -out o-ca.pem
openssl req -new -key o-leaf.key -subj "/CN=leaf" -out o-leaf.csr
openssl ca -batch -config ca.cnf -in o-leaf.csr -out o-leaf.pem -days 10 -notext 2>/dev/null
openssl ca -config ca.cnf -revoke o-leaf.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -gencrl -config ca.cnf -crlexts crl_ext -out o-ca.crl 2>/dev/null`)
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('v2 CRLs', () => {
  it('ours pass openssl crl -verify and list serials and reasons (ECDSA, RSA)', async () => {
    for (const alg of ['ec', 'rsa']) {
      const signer = createSigner(read(`${alg}.pem`))
      const ca = await caOf(signer, `${alg} CA`)
      write(`${alg}-ca.pem`, certificateToPem(ca))
      const der = await buildCrl({
        issuer: ca,
        signer,
        thisUpdate,
        nextUpdate,
        crlNumber: 42,
        revoked: [
          { serial: 0x1001n, date: new Date('2026-10-01T08:00:00Z'), reason: 'keyCompromise' },
          { serial: '7fabcdef0123456789', date: new Date('2026-10-02T08:00:00Z'), reason: 'superseded' },
          { serial: 0x80n, date: new Date('2026-10-03T08:00:00Z') },
        ],
      })
      write(`${alg}.crl`, crlToPem(der))
      const crl = parseCrl(der)
      expect(crl.version).toBe(2)
      expect(crl.crlNumber).toBe(42)
      expect(crl.thisUpdate).toEqual(thisUpdate)
      expect(crl.nextUpdate).toEqual(nextUpdate)
      expect(crl.authorityKeyIdentifier).toEqual(parseCertificate(ca).extensions.subjectKeyIdentifier?.keyIdentifier)
      expect(await verifyCrlSignature(crl, parseCertificate(ca))).toBe(true)
      expect(isRevoked(crl, 0x1001n)).toMatchObject({ reason: 'keyCompromise', date: new Date('2026-10-01T08:00:00Z') })
      expect(isRevoked(crl, '7FABCDEF0123456789')?.reason).toBe('superseded')
      expect(isRevoked(crl, Uint8Array.of(0x00, 0x80))).toMatchObject({ serialHex: '80' })
      expect(isRevoked(crl, 0x80n)?.reason).toBeUndefined()
      expect(isRevoked(crl, 0x1002n)).toBeUndefined()
    }
    const out = sh(`openssl crl -verify -CAfile ec-ca.pem -in ec.crl -noout 2>&1
openssl crl -verify -CAfile rsa-ca.pem -in rsa.crl -noout 2>&1
openssl crl -text -noout -in ec.crl`)
    expect(out.match(/verify OK/g)?.length).toBe(2)
    for (const text of [
      'Serial Number: 1001',
      'Key Compromise',
      'Serial Number: 7FABCDEF0123456789',
      'Superseded',
      'Serial Number: 80',
      'X509v3 CRL Number: \n                42',
      'Next Update: Nov  8 00:00:00 2026 GMT',
    ]) {
      expect(out).toContain(text)
    }
  })

  it('an SM2 CRL and a delta CRL verify in ours', async () => {
    const signer = createSigner(read('sm2.pem'))
    const ca = parseCertificate(await caOf(signer, 'SM2 CA'))
    const der = await buildCrl({
      issuer: ca,
      signer,
      thisUpdate,
      nextUpdate,
      crlNumber: 7,
      deltaCrlIndicator: 6,
      revoked: [{ serial: 5n, date: thisUpdate, reason: 'certificateHold' }],
    })
    const crl = parseCrl(crlFromPem(crlToPem(der)))
    expect(crl.deltaCrlIndicator).toBe(6)
    expect(crl.signatureAlgorithm.name).toBe('SM2-SM3')
    expect(isRevoked(crl, 5n)?.reason).toBe('certificateHold')
    expect(await verifyCrlSignature(crl, ca)).toBe(true)
    expect(await verifyCrlSignature(crl, await createSigner(read('ec.pem')).publicKey())).toBe(false)
    const empty = parseCrl(await buildCrl({ issuer: ca, signer, thisUpdate, nextUpdate, crlNumber: 8, revoked: [] }))
    expect(empty.revoked).toEqual([])
    expect(await verifyCrlSignature(empty, ca)).toBe(true)
  })

  it("OpenSSL's CRL parses and verifies in ours", async () => {
    const crl = parseCrl(crlFromPem(read('o-ca.crl')))
    const ca = parseCertificate(certificateFromPem(read('o-ca.pem')))
    const leaf = parseCertificate(certificateFromPem(read('o-leaf.pem')))
    expect(crl.issuer).toEqual(ca.subject)
    expect(crl.crlNumber).toBe(1)
    expect(isRevoked(crl, leaf.serial)?.reason).toBe('keyCompromise')
    expect(await verifyCrlSignature(crl, ca)).toBe(true)
  })

  it('rejects bad input with typed errors', async () => {
    const der = crlFromPem(read('o-ca.crl'))
    for (const bad of [
      der.subarray(0, der.length - 2),
      Uint8Array.of(...der, 0),
      Uint8Array.of(0x31, ...der.subarray(1)),
    ]) {
      expect(() => parseCrl(bad)).toThrow(expect.objectContaining({ name: 'PkiError' }))
    }
    const signer = createSigner(read('ec.pem'))
    const base = { issuer: [{ CN: 'x' }], signer, thisUpdate, nextUpdate, crlNumber: 1 }
    for (const revoked of [[{ serial: 0n, date: thisUpdate }], [{ serial: 1n, date: thisUpdate, reason: 'nope' }]]) {
      await expect(buildCrl({ ...base, revoked } as never)).rejects.toSatisfy((e) => isPkiError(e, 'INVALID_ARGUMENT'))
    }
  })
})
