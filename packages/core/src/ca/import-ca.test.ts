import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../audit/audit-record.js'
import type { KeyInfo, KeyStore } from '../keys/key-store.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import type { CertificateAuthority } from './certificate-authority.js'
import { createImportCa } from './import-ca.js'

const actor = { actor: 'user:admin', actorRole: 'sysadmin', source: 'test', requestId: 'r1' }

/** An in-memory unit of work and key store: just what the import touches. */
function fakes() {
  const cas: CertificateAuthority[] = []
  const events: AuditEvent[] = []
  const imported: { pkcs8: Uint8Array; meta: unknown }[] = []
  const tx = {
    certificateAuthorities: {
      list: async () => [...cas],
      insert: async (ca: CertificateAuthority) => void cas.push(ca),
    },
    audit: { append: async (event: AuditEvent) => void events.push(event) },
  } as unknown as Repositories
  const uow: UnitOfWork = { run: (fn) => fn(tx), read: (fn) => fn(tx) }
  const keyStore = {
    async importPrivateKey(pkcs8: Uint8Array, meta: { label: string; purpose: 'ca' }) {
      imported.push({ pkcs8: pkcs8.slice(), meta })
      return { uri: `soft:key-${imported.length}`, algorithm: 'ecdsa-p256', ...meta } as unknown as KeyInfo
    },
  } as unknown as KeyStore
  return { cas, events, imported, uow, keyStore }
}

describe('importing an OpenSSL-made ECDSA P-256 CA', () => {
  let dir: string
  const files: Record<string, string> = {}
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'yiqian-import-ca-'))
    writeFileSync(
      join(dir, 'ext.cnf'),
      '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' +
        '[nosign]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n',
    )
    const key = (name: string, ...spec: string[]) => openssl('genpkey', '-algorithm', ...spec, '-out', name)
    key('root.key', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256')
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'root.key',
      '-subj',
      '/CN=Province Root',
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'root.pem',
    )
    const issue = (keyFile: string, cn: string, ext: string, out: string) => {
      openssl('req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', `${out}.csr`)
      openssl(
        'x509',
        '-req',
        '-in',
        `${out}.csr`,
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        '-CAcreateserial',
        '-days',
        '365',
        '-extfile',
        'ext.cnf',
        '-extensions',
        ext,
        '-out',
        out,
      )
    }
    key('issuing.key', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256')
    issue('issuing.key', 'Hospital Issuing CA', 'ca', 'issuing.pem')
    issue('issuing.key', 'Hospital No KeyCertSign', 'nosign', 'nosign.pem')
    key('rsa.key', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048')
    issue('rsa.key', 'Hospital RSA-2048 CA', 'ca', 'rsa.pem')
    for (const name of ['root.pem', 'root.key', 'issuing.pem', 'issuing.key', 'nosign.pem', 'rsa.pem', 'rsa.key']) {
      files[name] = readFileSync(join(dir, name), 'utf8')
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const input = (overrides: Record<string, string> = {}) => ({
    certificate: files['issuing.pem'] as string,
    chain: files['root.pem'] as string,
    privateKey: files['issuing.key'] as string,
    name: '医院签发 CA',
    ...overrides,
  })

  it('stores the key for purpose ca and the CA with its chain, audited as ca.imported', async () => {
    const f = fakes()
    const clock = { now: () => new Date() }
    const ca = await createImportCa({ uow: f.uow, clock, keyStore: f.keyStore })(input(), actor)
    expect(f.imported).toHaveLength(1)
    expect(f.imported[0]?.meta).toEqual({ label: '医院签发 CA', purpose: 'ca', algorithm: 'ecdsa-p256' })
    expect(ca).toMatchObject({ name: '医院签发 CA', algorithm: 'ecdsa-p256', keyUri: 'soft:key-1', crlNumber: 0 })
    expect(ca.id).toMatch(/^ca-[0-9a-f]{16}$/)
    expect(ca.chain).toHaveLength(1)
    expect(Buffer.from(ca.chain[0] as Uint8Array).toString('base64')).toBe(
      files['root.pem']?.replace(/-----[^-]+-----|\s/g, ''),
    )
    expect(f.cas).toEqual([ca])
    expect(f.events).toEqual([
      expect.objectContaining({
        type: 'ca.imported',
        subject: ca.id,
        actor: 'user:admin',
        data: expect.objectContaining({ root: 'CN=Province Root', keyUri: 'soft:key-1' }),
      }),
    ])
  })

  it.each<[string, Record<string, string>, string]>([
    ['a certificate without keyCertSign', { certificate: 'nosign.pem' }, 'certificate'],
    ['an RSA-2048 CA (not a CA algorithm here)', { certificate: 'rsa.pem', privateKey: 'rsa.key' }, 'certificate'],
    ['the root’s key for the issuing certificate', { privateKey: 'root.key' }, 'privateKey'],
    ['a chain without its root', { chain: '' }, 'chain'],
    ['a key that is not PEM', { privateKey: '' }, 'privateKey'],
  ])('refuses %s before the key store sees anything', async (_, overrides, field) => {
    const f = fakes()
    // A file name stands for its content; '' for the chain is no chain, for the key text that is not PEM.
    const resolved = Object.fromEntries(
      Object.entries(overrides).map(([k, v]) => [
        k,
        v === '' ? (k === 'chain' ? '' : 'not pem') : (files[v] as string),
      ]),
    )
    await expect(
      createImportCa({ uow: f.uow, clock: { now: () => new Date() }, keyStore: f.keyStore })(input(resolved), actor),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { field } })
    expect(f.imported).toEqual([])
    expect(f.cas).toEqual([])
  })

  it('refuses every mutated certificate with a typed error naming a field (seeded mutation loop)', async () => {
    const der = Buffer.from((files['issuing.pem'] as string).replace(/-----[^-]+-----|\s/g, ''), 'base64')
    let seed = 0x5eed
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed
    }
    const f = fakes()
    const importCa = createImportCa({ uow: f.uow, clock: { now: () => new Date() }, keyStore: f.keyStore })
    for (let i = 0; i < 300; i++) {
      const mutated = Buffer.from(der)
      const at = next() % mutated.length
      mutated[at] = (mutated[at] as number) ^ (1 + (next() % 255))
      const pem = `-----BEGIN CERTIFICATE-----\n${mutated.toString('base64')}\n-----END CERTIFICATE-----\n`
      const outcome = await importCa(input({ certificate: pem }), actor).then(
        () => 'accepted',
        (error: { code?: string; details?: { field?: string } }) => `${error.code}:${error.details?.field}`,
      )
      expect(outcome, `byte ${at}`).toMatch(/^INVALID_INPUT:(certificate|chain|privateKey)$/)
    }
    expect(f.imported).toEqual([])
  })

  it('refuses a chain that no longer validates (the issuing certificate has expired)', async () => {
    const f = fakes()
    const later = { now: () => new Date(Date.now() + 400 * 86_400_000) }
    await expect(
      createImportCa({ uow: f.uow, clock: later, keyStore: f.keyStore })(input(), actor),
    ).rejects.toMatchObject({ details: { field: 'chain' } })
    expect(f.imported).toEqual([])
  })
})
