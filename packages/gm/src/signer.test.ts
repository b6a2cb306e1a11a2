import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isGmError } from './errors.js'
import { createSigner, createVerifier, type SignatureAlgorithm } from './signer.js'

// One interface over four algorithms, each checked against the OpenSSL command line in both directions.
const dir = mkdtempSync(join(tmpdir(), 'yiqian-signer-'))
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })

function keyFile(name: string, ...genpkey: string[]): string {
  openssl('genpkey', ...genpkey, '-out', `${name}.pem`)
  openssl('pkey', '-in', `${name}.pem`, '-pubout', '-out', `${name}.pub.pem`)
  return readFileSync(join(dir, `${name}.pem`), 'utf8')
}

const ID = 'doctor-0042@hospital'
const cases: Array<{ algorithm: SignatureAlgorithm; name: string; genpkey: string[]; opt: string[] }> = [
  {
    algorithm: 'SM2-SM3',
    name: 'sm2',
    genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'],
    opt: ['-digest', 'sm3', '-pkeyopt', `distid:${ID}`],
  },
  {
    algorithm: 'ECDSA-P256-SHA256',
    name: 'p256',
    genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    opt: ['-digest', 'sha256'],
  },
  {
    algorithm: 'RSA-SHA256',
    name: 'rsa',
    genpkey: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    opt: ['-digest', 'sha256', '-pkeyopt', 'rsa_padding_mode:pkcs1'],
  },
  {
    algorithm: 'RSA-PSS-SHA256',
    name: 'rsa',
    genpkey: [],
    opt: ['-digest', 'sha256', '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:32'],
  },
]

describe.each(cases)('$algorithm', ({ algorithm, name, genpkey, opt }) => {
  const pem = genpkey.length > 0 ? keyFile(name, ...genpkey) : readFileSync(join(dir, `${name}.pem`), 'utf8')
  const data = new TextEncoder().encode(`出院小结 discharge summary ${algorithm}`)

  it('signs so that OpenSSL verifies, and verifies what OpenSSL signs', async () => {
    writeFileSync(join(dir, 'data'), data)
    const signer = createSigner(pem, { algorithm, id: ID })
    expect(signer.algorithm).toBe(algorithm)
    writeFileSync(join(dir, 'sig'), await signer.sign(data))
    const out = openssl(
      'pkeyutl',
      '-verify',
      '-rawin',
      '-pubin',
      '-inkey',
      `${name}.pub.pem`,
      '-in',
      'data',
      '-sigfile',
      'sig',
      ...opt,
    )
    expect(out.toString()).toMatch(/Signature Verified Successfully/)

    openssl('pkeyutl', '-sign', '-rawin', '-inkey', `${name}.pem`, '-in', 'data', '-out', 'theirs', ...opt)
    const verifier = createVerifier(signer.publicKey(), { algorithm, id: ID })
    expect(await verifier.verify(data, readFileSync(join(dir, 'theirs')))).toBe(true)
    const fromPem = createVerifier(readFileSync(join(dir, `${name}.pub.pem`), 'utf8'), { algorithm, id: ID })
    expect(await fromPem.verify(data, readFileSync(join(dir, 'theirs')))).toBe(true)
  })

  it('rejects changed data', async () => {
    const signer = createSigner(pem, { algorithm, id: ID })
    const signature = await signer.sign(data)
    const changed = data.slice()
    changed[0]! ^= 1
    expect(await createVerifier(signer.publicKey(), { algorithm, id: ID }).verify(changed, signature)).toBe(false)
  })
})

/** A PEM block around a body that is not a key at all. */
const pemArmor = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`

describe('key and algorithm checks', () => {
  it('defaults SM2 to the standard signer ID, and an ID mismatch does not verify', async () => {
    const pem = readFileSync(join(dir, 'sm2.pem'), 'utf8')
    const signer = createSigner(pem)
    const data = new Uint8Array([1, 2, 3])
    const signature = await signer.sign(data)
    expect(await createVerifier(signer.publicKey()).verify(data, signature)).toBe(true)
    expect(await createVerifier(signer.publicKey(), { id: 'other' }).verify(data, signature)).toBe(false)
  })

  it('refuses a key for another algorithm and unreadable keys with typed errors', () => {
    const pem = readFileSync(join(dir, 'p256.pem'), 'utf8')
    const codeOf = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        return isGmError(error) ? error.code : 'untyped'
      }
      return 'none'
    }
    expect(codeOf(() => createSigner(pem, { algorithm: 'SM2-SM3' }))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => createSigner(pemArmor('PRIVATE KEY', 'AAAA')))).toBe('INVALID_KEY')
    expect(codeOf(() => createVerifier(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])))).toBe('INVALID_KEY')
  })
})
