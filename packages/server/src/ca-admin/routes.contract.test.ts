/**
 * CA management over the real app: overview, a new hierarchy, OCSP responder renewal, and import of an externally
 * made CA — an ECDSA P-256 hierarchy made by the OpenSSL CLI (and the imported CA's certificates and CRL checked by
 * OpenSSL again), and an SM2 hierarchy made by our own createHierarchy in another installation.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ActorContext,
  type CaService,
  createCaService,
  createSoftKeyStore,
  type KeyStore,
  kekFromKeyFile,
} from '@yiqian/core'
import { generateSm2KeyPair, sm2PrivateKeyToPem, sm2PrivateKeyToPkcs8, sm2PublicKeyToSpki } from '@yiqian/gm'
import { certificateToPem, parseCertificate, parseCrl, validatePath, verifyCrlSignature } from '@yiqian/pki'
import type { DialectName } from '@yiqian/storage'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'

const actor: ActorContext = { actor: 'user:seed', actorRole: 'sysadmin', source: '127.0.0.1', requestId: 'seed' }

/** A key store that makes SM2 keys itself and remembers them (PEM), so that a test can export what createHierarchy made. */
function rememberingKeyStore(inner: KeyStore, remembered: Map<string, string>): KeyStore {
  return {
    ...inner,
    async generate(spec, who) {
      if (spec.algorithm !== 'sm2') return inner.generate(spec, who)
      const pair = generateSm2KeyPair()
      const info = await inner.importPrivateKey(
        sm2PrivateKeyToPkcs8(pair.privateKey),
        { label: spec.label, purpose: spec.purpose, algorithm: 'sm2' },
        who,
      )
      remembered.set(info.uri, sm2PrivateKeyToPem(pair.privateKey))
      return info
    },
  }
}

/** An app whose CA keeps its SM2 keys in `remembered` as well (see rememberingKeyStore). */
async function appWithRememberingCa(
  dialect: DialectName,
  remembered: Map<string, string>,
): Promise<{ testApp: TestApp; ca: CaService }> {
  let ca: CaService | undefined
  const testApp = await createTestApp({
    dialect,
    services: (base) => {
      const soft = createSoftKeyStore({ uow: base.uow, clock: base.clock, kek: kekFromKeyFile(randomBytes(32)) })
      const keyStore = rememberingKeyStore(soft, remembered)
      ca = createCaService({ uow: base.uow, clock: base.clock, keyStore })
      return { ...base, keyStore, ca }
    },
  })
  if (!ca) throw new Error('no CA service')
  return { testApp, ca }
}

/** An ECDSA P-256 root and issuing CA (and a non-CA leaf, an unrelated root, an encrypted key) made by OpenSSL. */
function opensslHierarchy(dir: string) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const key = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name)
  writeFileSync(
    join(dir, 'ext.cnf'),
    '[ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' +
      '[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
  )
  const selfSigned = (keyFile: string, subject: string, out: string) =>
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      subject,
      '-days',
      '3650',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      out,
    )
  const signed = (keyFile: string, subject: string, extensions: string, out: string) => {
    openssl('req', '-new', '-key', keyFile, '-subj', subject, '-out', `${out}.csr`)
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
      '1825',
      '-sha256',
      '-extfile',
      'ext.cnf',
      '-extensions',
      extensions,
      '-out',
      out,
    )
  }
  key('root.key')
  selfSigned('root.key', '/C=CN/O=Provincial CA/CN=Provincial ECDSA Root', 'root.pem')
  key('issuing.key')
  signed('issuing.key', '/C=CN/O=First Hospital/CN=First Hospital Issuing CA', 'ca', 'issuing.pem')
  key('leaf.key')
  signed('leaf.key', '/C=CN/CN=not a ca', 'leaf', 'leaf.pem')
  key('other.key')
  selfSigned('other.key', '/C=CN/CN=Some Other Root', 'other.pem')
  openssl(
    'pkcs8',
    '-topk8',
    '-in',
    'issuing.key',
    '-v2',
    'aes-256-cbc',
    '-passout',
    'pass:secret',
    '-out',
    'issuing.enc',
  )
  const read = (name: string) => readFileSync(join(dir, name), 'utf8')
  return {
    openssl,
    root: read('root.pem'),
    issuing: read('issuing.pem'),
    issuingKey: read('issuing.key'),
    rootKey: read('root.key'),
    leaf: read('leaf.pem'),
    leafKey: read('leaf.key'),
    other: read('other.pem'),
    encryptedKey: read('issuing.enc'),
  }
}

describe('CA routes without a key store', () => {
  it('answer 503 CA_UNAVAILABLE', async () => {
    const t = await createTestApp()
    try {
      const admin = await signInAs(t, ['sysadmin'])
      for (const [method, url, payload] of [
        ['GET', '/api/v1/ca', undefined],
        ['POST', '/api/v1/ca/hierarchies', { algorithm: 'sm2', rootName: 'R', issuingName: 'I' }],
        ['POST', '/api/v1/ca/ca-0123456789abcdef/ocsp-responder', undefined],
        ['POST', '/api/v1/ca/imports', { certificate: 'x', privateKey: 'y', name: 'n' }],
      ] as const) {
        const response = await t.app.inject({ method, url, headers: admin.headers, ...(payload && { payload }) })
        expect(response.statusCode, url).toBe(503)
        expect(response.json().code).toBe('CA_UNAVAILABLE')
      }
    } finally {
      await t.close()
    }
  })
})

for (const dialect of testDialects()) {
  describe(`${dialect}: CA management API`, () => {
    let t: TestApp
    let admin: SignedIn
    let officer: SignedIn
    let dir: string
    let fx: ReturnType<typeof opensslHierarchy>

    const post = (url: string, payload?: object, who: SignedIn = admin) =>
      t.app.inject({ method: 'POST', url, headers: who.headers, ...(payload && { payload }) })

    beforeAll(async () => {
      t = await createTestApp({ dialect, ca: true })
      admin = await signInAs(t, ['sysadmin'])
      officer = await signInAs(t, ['ra-officer'])
      dir = mkdtempSync(join(tmpdir(), 'yiqian-ca-import-'))
      fx = opensslHierarchy(dir)
    }, 60_000)
    afterAll(async () => {
      await t?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('creates a hierarchy and lists it with CRL, responder and counts', async () => {
      const bad = await post('/api/v1/ca/hierarchies', { algorithm: 'dsa', rootName: 'R', issuingName: 'I' })
      expect(bad.statusCode).toBe(400)
      expect(JSON.stringify(bad.json().errors)).toContain('algorithm')
      const long = await post('/api/v1/ca/hierarchies', {
        algorithm: 'sm2',
        rootName: 'R'.repeat(65),
        issuingName: 'I',
      })
      expect(JSON.stringify(long.json().errors)).toContain('rootName')

      const created = await post('/api/v1/ca/hierarchies', {
        algorithm: 'ecdsa-p256',
        rootName: '医签测试根 CA',
        issuingName: '医签测试签发 CA',
        organization: '第一人民医院',
      })
      expect(created.statusCode).toBe(201)
      const { root, issuing } = created.json()
      expect(root).toMatchObject({
        name: '医签测试根 CA',
        algorithm: 'ecdsa-p256',
        status: 'active',
        parentId: null,
        crl: { number: 1 },
        ocspResponder: null,
        issuedCount: 1,
      })
      expect(root.subject).toContain('CN=医签测试根 CA')
      expect(issuing).toMatchObject({ parentId: root.id, issuedCount: 1, crl: { number: 1 } })
      expect(issuing.ocspResponder.serial).toMatch(/^[0-9a-f]+$/)
      expect(Date.parse(issuing.ocspResponder.notAfter)).toBeGreaterThan(Date.now())

      const list = await t.app.inject({ method: 'GET', url: '/api/v1/ca', headers: officer.headers })
      expect(list.statusCode).toBe(200)
      expect(list.json().map((c: { id: string }) => c.id)).toEqual([root.id, issuing.id])

      const renewed = await post(`/api/v1/ca/${issuing.id}/ocsp-responder`)
      expect(renewed.statusCode).toBe(200)
      expect(renewed.json().ocspResponder.serial).not.toBe(issuing.ocspResponder.serial)
      expect(renewed.json().issuedCount).toBe(2)
      const missing = await post('/api/v1/ca/ca-0000000000000000/ocsp-responder')
      expect(missing.statusCode).toBe(404)
      expect(missing.json().code).toBe('CA_NOT_FOUND')
      const badId = await post('/api/v1/ca/nope/ocsp-responder')
      expect(badId.statusCode).toBe(400)
      // RA officers read; only the system administrator changes.
      expect((await post(`/api/v1/ca/${issuing.id}/ocsp-responder`, undefined, officer)).statusCode).toBe(403)
    }, 60_000)

    it('refuses imports that are not a CA, not its key, or not chained to a root, naming the field', async () => {
      const cases: [string, object, string][] = [
        ['garbage certificate', { certificate: 'hello', chain: fx.root, privateKey: fx.issuingKey }, 'certificate'],
        ['not a CA', { certificate: fx.leaf, chain: fx.root, privateKey: fx.leafKey }, 'certificate'],
        ['the wrong key', { certificate: fx.issuing, chain: fx.root, privateKey: fx.rootKey }, 'privateKey'],
        ['an encrypted key', { certificate: fx.issuing, chain: fx.root, privateKey: fx.encryptedKey }, 'privateKey'],
        ['no root', { certificate: fx.issuing, chain: '', privateKey: fx.issuingKey }, 'chain'],
        ['another root', { certificate: fx.issuing, chain: fx.other, privateKey: fx.issuingKey }, 'chain'],
        ['no name', { certificate: fx.issuing, chain: fx.root, privateKey: fx.issuingKey, name: '' }, 'name'],
        ['too large', { certificate: 'x'.repeat(17_000), chain: fx.root, privateKey: fx.issuingKey }, 'certificate'],
      ]
      for (const [label, body, field] of cases) {
        const response = await post('/api/v1/ca/imports', { name: '省 CA 签发的医院 CA', ...body })
        expect(response.statusCode, label).toBe(400)
        const fields = response.json().errors.map((e: { field: string }) => e.field)
        expect(new Set(fields), label).toEqual(new Set([`body.${field}`]))
      }
      const keys = await t.services.uow.run((tx) => tx.keys.list())
      expect(keys.filter((k) => k.label === '省 CA 签发的医院 CA')).toEqual([])
    })

    it('imports an OpenSSL-made ECDSA issuing CA, issues from it, and OpenSSL accepts the result', async () => {
      const response = await post('/api/v1/ca/imports', {
        certificate: fx.issuing,
        chain: fx.root,
        privateKey: fx.issuingKey,
        name: '省 CA 签发的医院 CA',
      })
      expect(response.statusCode, response.body).toBe(201)
      const imported = response.json()
      expect(imported).toMatchObject({
        name: '省 CA 签发的医院 CA',
        algorithm: 'ecdsa-p256',
        parentId: null,
        crl: null,
        ocspResponder: null,
        issuedCount: 0,
      })
      expect(imported.subject).toContain('CN=First Hospital Issuing CA')
      expect(imported.keyUri).toMatch(/^soft:/)
      const audit = await t.services.uow.run((tx) =>
        tx.audit.query({ subject: imported.id }, { limit: 10, order: 'asc' }),
      )
      expect(audit.map((r) => r.type)).toEqual(['ca.imported'])
      expect(JSON.stringify(audit)).not.toContain(fx.issuingKey.split('\n')[1])

      const ca = t.services.ca as CaService
      const leaf = await ca.issueCertificate(
        {
          caId: imported.id,
          profileId: 'tls-server',
          subject: { CN: 'pacs.hospital.local' },
          subjectAltName: { dns: ['pacs.hospital.local'] },
          publicKey: parseCertificate(Buffer.from(fx.leaf.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
            .subjectPublicKeyInfo,
        },
        actor,
      )
      writeFileSync(join(dir, 'issued.pem'), certificateToPem(leaf.der))
      expect(
        fx.openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'issued.pem').toString(),
      ).toContain('issued.pem: OK')
      // The first CRL is made on demand, signed by the imported key.
      const crl = await t.app.inject({ method: 'GET', url: `/pki/crl/${imported.id}.crl` })
      expect(crl.statusCode).toBe(200)
      writeFileSync(join(dir, 'imported.crl'), crl.rawPayload)
      const checked = execFileSync(
        'openssl',
        ['crl', '-inform', 'DER', '-in', 'imported.crl', '-CAfile', 'issuing.pem', '-noout'],
        { cwd: dir, stdio: 'pipe', encoding: 'utf8' },
      )
      expect(`${checked}`).toBe('')
      const again = await post('/api/v1/ca/imports', {
        certificate: fx.issuing,
        chain: fx.root,
        privateKey: fx.issuingKey,
        name: '再次导入',
      })
      expect(again.statusCode).toBe(400)
      expect(again.json().errors).toEqual([expect.objectContaining({ field: 'body.certificate' })])
    }, 60_000)

    it('imports an SM2 issuing CA made by another installation’s createHierarchy', async () => {
      const remembered = new Map<string, string>()
      const source = await appWithRememberingCa(dialect, remembered)
      try {
        const made = await source.ca.createHierarchy(
          {
            algorithm: 'sm2',
            names: {
              root: { C: 'CN', O: '省卫健委', CN: '省 SM2 根 CA' },
              issuing: { C: 'CN', O: '第二医院', CN: '第二医院 SM2 CA' },
            },
          },
          actor,
        )
        const key = remembered.get(made.issuing.keyUri)
        if (!key) throw new Error('the issuing key was not remembered')
        const response = await post('/api/v1/ca/imports', {
          certificate: certificateToPem(made.issuing.certificate),
          chain: certificateToPem(made.root.certificate),
          privateKey: key,
          name: '第二医院 SM2 CA',
        })
        expect(response.statusCode, response.body).toBe(201)
        const imported = response.json()
        expect(imported).toMatchObject({ algorithm: 'sm2', subject: expect.stringContaining('第二医院 SM2 CA') })
        const wrongKey = remembered.get(made.root.keyUri) as string
        const mismatch = await post('/api/v1/ca/imports', {
          certificate: certificateToPem(made.issuing.certificate),
          chain: certificateToPem(made.root.certificate),
          privateKey: wrongKey,
          name: 'x',
        })
        expect(mismatch.json().errors).toEqual([expect.objectContaining({ field: 'body.privateKey' })])

        const ca = t.services.ca as CaService
        const staff = await ca.issueCertificate(
          {
            caId: imported.id,
            profileId: 'staff-sign',
            subject: { C: 'CN', O: '第二医院', CN: '李医生', serialNumber: 'E0042' },
            publicKey: sm2PublicKeyToSpki(generateSm2KeyPair().publicKey),
          },
          actor,
        )
        const report = await validatePath({
          target: staff.der,
          intermediates: [made.issuing.certificate],
          trustAnchors: [made.root.certificate],
          at: new Date(),
        })
        expect(report.status, report.reason).toBe('passed')
        const crl = parseCrl(await ca.crl(imported.id))
        expect(await verifyCrlSignature(crl, parseCertificate(made.issuing.certificate))).toBe(true)
      } finally {
        await source.testApp.close()
      }
    }, 60_000)
  })
}
