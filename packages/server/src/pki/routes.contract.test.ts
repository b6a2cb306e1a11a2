/**
 * The CA end to end over the real app and database, with OpenSSL as the independent checker for ECDSA (chain, CRL
 * signature, OCSP over HTTP) and sm-crypto-v2 plus our own validator for SM2.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ActorContext,
  type CaService,
  type CertificateAuthority,
  createCaService,
  type IssuedCertificate,
  isDomainError,
  OCSP_MALFORMED_REQUEST,
  OCSP_UNAUTHORIZED,
} from '@yiqian/core'
import { bytesToHex, generateSm2KeyPair, sm2PublicKeyFromSpki, sm2PublicKeyToSpki } from '@yiqian/gm'
import {
  buildOcspRequest,
  certificateToPem,
  parseCertificate,
  parseCrl,
  parseOcspResponse,
  validatePath,
  verifyCrlSignature,
  verifyOcspResponse,
} from '@yiqian/pki'
import { testDialects } from '@yiqian/storage/testing'
import { sm2 as smCrypto } from 'sm-crypto-v2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caOf, createTestApp, type TestApp } from '../testing.js'

const actor: ActorContext = {
  actor: 'user:ca-officer',
  actorRole: 'ra-officer',
  source: '10.0.0.7',
  requestId: 'req-ca',
}

function p256Spki(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }))
}

for (const dialect of testDialects()) {
  describe(`${dialect}: ECDSA P-256 hierarchy, checked by OpenSSL`, () => {
    let testApp: TestApp
    let ca: CaService
    let root: CertificateAuthority
    let issuing: CertificateAuthority
    let leaf: IssuedCertificate
    let good: IssuedCertificate
    let dir: string
    let url: string

    // Asynchronous: the responder runs in this process, so a synchronous child would block it.
    const openssl = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
          resolve({ code, out: `${stdout}${stderr}` })
        })
      })

    beforeAll(async () => {
      testApp = await createTestApp({ dialect, ca: true })
      ca = caOf(testApp)
      dir = mkdtempSync(join(tmpdir(), 'yiqian-ca-'))
      ;({ root, issuing } = await ca.createHierarchy(
        {
          algorithm: 'ecdsa-p256',
          names: {
            root: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian ECDSA Root' },
            issuing: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'Yiqian ECDSA Issuing CA' },
          },
        },
        actor,
      ))
      const issue = (cn: string) =>
        ca.issueCertificate(
          {
            caId: issuing.id,
            profileId: 'tls-server',
            subject: { CN: cn },
            subjectAltName: { dns: [cn] },
            publicKey: p256Spki(),
          },
          actor,
        )
      leaf = await issue('his.hospital.local')
      good = await issue('lis.hospital.local')
      writeFileSync(join(dir, 'root.pem'), certificateToPem(root.certificate))
      writeFileSync(join(dir, 'issuing.pem'), certificateToPem(issuing.certificate))
      writeFileSync(join(dir, 'leaf.pem'), certificateToPem(leaf.der))
      writeFileSync(join(dir, 'good.pem'), certificateToPem(good.der))
      await testApp.app.listen({ port: 0, host: '127.0.0.1' })
      const address = testApp.app.server.address()
      if (!address || typeof address === 'string') throw new Error('no port')
      url = `http://127.0.0.1:${address.port}/pki/ocsp`
    }, 60_000)

    afterAll(async () => {
      await testApp?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('OpenSSL verifies the leaf against the root through the issuing CA', async () => {
      const result = await openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'leaf.pem')
      expect(result.out).toContain('leaf.pem: OK')
      expect(result.code).toBe(0)
      // And without the issuing CA there is no path.
      expect((await openssl('verify', '-CAfile', 'root.pem', 'leaf.pem')).code).not.toBe(0)
    })

    it('the leaf carries the publication URLs and a 16-byte positive serial', () => {
      const cert = parseCertificate(leaf.der)
      expect(cert.serial.length).toBe(16)
      expect(cert.serial[0]! & 0x80).toBe(0)
      expect(cert.serialHex).toBe(leaf.serialHex)
      expect(cert.extensions.crlDistributionPoints?.uris).toEqual([`http://127.0.0.1/pki/crl/${issuing.id}.crl`])
      expect(cert.extensions.authorityInfoAccess?.ocsp).toEqual(['http://127.0.0.1/pki/ocsp'])
    })

    it('publishes the CA certificate (DER) and the chain (PEM) without signing in', async () => {
      const crt = await testApp.app.inject({ method: 'GET', url: `/pki/ca/${issuing.id}.crt` })
      expect(crt.statusCode).toBe(200)
      expect(crt.headers['content-type']).toBe('application/pkix-cert')
      expect(new Uint8Array(crt.rawPayload)).toEqual(issuing.certificate)
      const chain = await testApp.app.inject({ method: 'GET', url: `/pki/ca/${issuing.id}/chain.pem` })
      expect(chain.statusCode).toBe(200)
      expect(chain.body).toBe(certificateToPem(issuing.certificate) + certificateToPem(root.certificate))
      const missing = await testApp.app.inject({ method: 'GET', url: '/pki/ca/ca-0000000000000000.crt' })
      expect(missing.statusCode).toBe(404)
      expect(missing.headers['content-type']).toContain('application/problem+json')
      const bad = await testApp.app.inject({ method: 'GET', url: '/pki/ca/..%2Fetc.crt' })
      expect(bad.statusCode).toBe(400)
    })

    it('revoking regenerates the CRL at once; OpenSSL verifies it and lists the serial', async () => {
      const before = parseCrl((await ca.find(issuing.id)).crl!)
      const revoked = await ca.revoke({ serial: leaf.serialHex }, 'keyCompromise', actor)
      expect(revoked.status).toBe('revoked')
      expect(revoked.version).toBe(2)
      const response = await testApp.app.inject({ method: 'GET', url: `/pki/crl/${issuing.id}.crl` })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('application/pkix-crl')
      const der = new Uint8Array(response.rawPayload)
      const crl = parseCrl(der)
      expect(crl.crlNumber).toBe((before.crlNumber ?? 0) + 1)
      expect(crl.revoked.map((r) => [r.serialHex, r.reason])).toEqual([[leaf.serialHex, 'keyCompromise']])
      writeFileSync(join(dir, 'issuing.crl'), der)
      expect(await verifyCrlSignature(crl, parseCertificate(issuing.certificate))).toBe(true)
      const checked = await openssl('crl', '-in', 'issuing.crl', '-inform', 'DER', '-CAfile', 'issuing.pem', '-noout')
      expect(checked.out).toContain('verify OK')
      const text = (await openssl('crl', '-in', 'issuing.crl', '-inform', 'DER', '-noout', '-text')).out
      expect(text.toLowerCase()).toContain(leaf.serialHex)
      expect(text).toContain('Key Compromise')
      // A second revocation of the same certificate is refused and leaves the CRL alone.
      const error = await ca.revoke({ serial: leaf.serialHex }, 'superseded', actor).catch((e: unknown) => e)
      expect(isDomainError(error, 'INVALID_TRANSITION')).toBe(true)
      expect(parseCrl((await ca.find(issuing.id)).crl!).crlNumber).toBe(crl.crlNumber)
    })

    it('OpenSSL asks the OCSP responder over HTTP: revoked, good and unknown', async () => {
      const ask = (...args: string[]) =>
        openssl('ocsp', '-issuer', 'issuing.pem', ...args, '-url', url, '-CAfile', 'root.pem', '-resp_text')
      const revoked = await ask('-cert', 'leaf.pem')
      expect(revoked.out).toContain('Response verify OK')
      expect(revoked.out).toMatch(/leaf\.pem: revoked/)
      expect(revoked.out).toContain('Reason: keyCompromise')
      expect(revoked.out).toMatch(/Revocation Time:/)
      expect(revoked.out).toMatch(/WARNING: no nonce|Nonce/)
      const ok = await ask('-cert', 'good.pem')
      expect(ok.out).toContain('Response verify OK')
      expect(ok.out).toMatch(/good\.pem: good/)
      const unknown = await ask('-serial', '0x1234567890abcdef')
      expect(unknown.out).toContain('Response verify OK')
      expect(unknown.out).toMatch(/0x1234567890abcdef: unknown/i)
    })

    it('echoes the nonce; GET works; malformed or foreign requests get an OCSP status, never a 5xx', async () => {
      const nonce = new Uint8Array(randomBytes(16))
      const request = buildOcspRequest({ certificate: good.der, issuer: issuing.certificate, nonce })
      const post = await testApp.app.inject({
        method: 'POST',
        url: '/pki/ocsp',
        headers: { 'content-type': 'application/ocsp-request' },
        payload: Buffer.from(request),
      })
      expect(post.statusCode).toBe(200)
      expect(post.headers['content-type']).toBe('application/ocsp-response')
      const verified = await verifyOcspResponse(new Uint8Array(post.rawPayload), {
        issuer: issuing.certificate,
        certificate: good.der,
        nonce,
      })
      expect(verified.status).toBe('passed')
      expect(verified.certificateStatus?.certStatus).toEqual({ status: 'good' })
      // Signed by the delegated responder the issuing CA certified (OCSPSigning), which travels in the response.
      const responder = parseCertificate(issuing.ocspResponder!.certificate)
      expect(responder.extensions.extKeyUsage?.purposes).toEqual(['1.3.6.1.5.5.7.3.9'])
      expect(parseOcspResponse(new Uint8Array(post.rawPayload)).certs.map((c) => c.serialHex)).toEqual([
        responder.serialHex,
      ])
      expect(verified.checks.find((c) => c.check === 'responderAuthorization')?.status).toBe('passed')

      // The root answers for the issuing CA with its own key.
      const aboutIssuing = await ca.respondOcsp(
        buildOcspRequest({ certificate: issuing.certificate, issuer: root.certificate }),
      )
      const rootAnswer = await verifyOcspResponse(aboutIssuing, {
        issuer: root.certificate,
        certificate: issuing.certificate,
      })
      expect(rootAnswer.status).toBe('passed')
      expect(rootAnswer.certificateStatus?.certStatus).toEqual({ status: 'good' })
      expect(parseOcspResponse(aboutIssuing).certs).toEqual([])

      const get = await testApp.app.inject({
        method: 'GET',
        url: `/pki/ocsp/${encodeURIComponent(Buffer.from(request).toString('base64'))}`,
      })
      expect(get.statusCode).toBe(200)
      expect(parseOcspResponse(new Uint8Array(get.rawPayload)).responses[0]?.certStatus).toEqual({ status: 'good' })

      for (const payload of [Buffer.from('not DER'), Buffer.from([0x30, 0x82, 0xff, 0xff])]) {
        const bad = await testApp.app.inject({
          method: 'POST',
          url: '/pki/ocsp',
          headers: { 'content-type': 'application/ocsp-request' },
          payload,
        })
        expect(bad.statusCode).toBe(200)
        expect(new Uint8Array(bad.rawPayload)).toEqual(OCSP_MALFORMED_REQUEST)
      }
      const badGet = await testApp.app.inject({ method: 'GET', url: '/pki/ocsp/%25%25%25' })
      expect(new Uint8Array(badGet.rawPayload)).toEqual(OCSP_MALFORMED_REQUEST)
      expect(parseOcspResponse(OCSP_MALFORMED_REQUEST).responseStatus).toBe('malformedRequest')

      // A certificate of a CA we do not run: "unauthorized".
      const stranger = await ca.createHierarchy(
        {
          algorithm: 'ecdsa-p256',
          names: { root: { O: 'Other', CN: 'Other Root' }, issuing: { O: 'Other', CN: 'I' } },
        },
        actor,
      )
      const foreign = buildOcspRequest({ certificate: stranger.issuing.certificate, issuer: good.der })
      const answer = await ca.respondOcsp(foreign)
      expect(answer).toEqual(OCSP_UNAUTHORIZED)
    })

    it('suspend lists the certificate on hold; resume takes it off again', async () => {
      await ca.suspend({ serial: good.serialHex, caId: issuing.id }, actor, '休假')
      let crl = parseCrl(await ca.crl(issuing.id))
      expect(crl.revoked.find((r) => r.serialHex === good.serialHex)?.reason).toBe('certificateHold')
      const held = await ca.respondOcsp(buildOcspRequest({ certificate: good.der, issuer: issuing.certificate }))
      expect(parseOcspResponse(held).responses[0]?.certStatus).toMatchObject({
        status: 'revoked',
        reason: 'certificateHold',
      })
      const resumed = await ca.resume({ serial: good.serialHex }, actor)
      expect(resumed.status).toBe('active')
      crl = parseCrl(await ca.crl(issuing.id))
      expect(crl.revoked.map((r) => r.serialHex)).toEqual([leaf.serialHex])
    })

    it('concurrent revocations under one CA both land on the CRL', async () => {
      const [a, b] = await Promise.all(
        ['a', 'b'].map((cn) =>
          ca.issueCertificate(
            { caId: issuing.id, profileId: 'event', subject: { CN: `并发 ${cn}` }, publicKey: p256Spki() },
            actor,
          ),
        ),
      )
      await Promise.all([
        ca.revoke({ serial: a!.serialHex }, 'cessationOfOperation', actor),
        ca.revoke({ serial: b!.serialHex }, 'superseded', actor),
      ])
      const listed = parseCrl(await ca.crl(issuing.id)).revoked.map((r) => r.serialHex)
      expect(listed).toEqual(expect.arrayContaining([a!.serialHex, b!.serialHex, leaf.serialHex]))
    })

    it('refuses what it must: unknown serials, CA profiles, a key algorithm the profile does not allow', async () => {
      const unknown = await ca.revoke({ serial: 'abcdef' }, 'keyCompromise', actor).catch((e: unknown) => e)
      expect(isDomainError(unknown, 'CERTIFICATE_NOT_FOUND')).toBe(true)
      const badSerial = await ca.revoke({ serial: 'xyz' }, 'keyCompromise', actor).catch((e: unknown) => e)
      expect(isDomainError(badSerial, 'INVALID_INPUT')).toBe(true)
      const caProfile = await ca
        .issueCertificate(
          { caId: issuing.id, profileId: 'issuing-ca', subject: { CN: 'x', O: 'y' }, publicKey: p256Spki() },
          actor,
        )
        .catch((e: unknown) => e)
      expect(isDomainError(caProfile, 'INVALID_INPUT')).toBe(true)
      // staff-sign allows SM2 only; the key algorithm comes from the SPKI.
      const wrongKey = await ca
        .issueCertificate(
          {
            caId: issuing.id,
            profileId: 'staff-sign',
            subject: { CN: '王医生', O: '医院', serialNumber: 'E1' },
            publicKey: p256Spki(),
          },
          actor,
        )
        .catch((e: unknown) => e)
      expect(isDomainError(wrongKey, 'CERTIFICATE_REQUEST_INVALID')).toBe(true)
      const garbage = await ca
        .issueCertificate(
          { caId: issuing.id, profileId: 'event', subject: { CN: 'x' }, publicKey: new Uint8Array([1, 2, 3]) },
          actor,
        )
        .catch((e: unknown) => e)
      expect(isDomainError(garbage, 'INVALID_INPUT')).toBe(true)
    })

    it('audits issuance, revocation and each CRL in the same units of work', async () => {
      const types = await testApp.services.uow.run(async (tx) => (await tx.audit.range(1, 10_000)).map((r) => r.type))
      for (const type of [
        'key.generated',
        'ca.created',
        'certificate.issued',
        'certificate.revoked',
        'ca.crl-published',
      ]) {
        expect(types).toContain(type)
      }
    })
  })

  describe(`${dialect}: SM2 hierarchy, checked by our validator and sm-crypto-v2`, () => {
    let testApp: TestApp
    let ca: CaService

    beforeAll(async () => {
      testApp = await createTestApp({ dialect, ca: true })
      ca = caOf(testApp)
    }, 60_000)
    afterAll(async () => {
      await testApp?.close()
    })

    it('root → issuing → staff certificate validates; OCSP answers come from its delegated responder', async () => {
      const { root, issuing } = await ca.createHierarchy(
        {
          algorithm: 'sm2',
          names: {
            root: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 根 CA' },
            issuing: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 签发 CA' },
          },
        },
        actor,
      )
      const leaf = await ca.issueCertificate(
        {
          caId: issuing.id,
          profileId: 'staff-sign',
          subject: { C: 'CN', O: '某某省人民医院', OU: '心内科', CN: '王医生', serialNumber: 'E0123' },
          publicKey: sm2PublicKeyToSpki(generateSm2KeyPair().publicKey),
          staffId: 'staff-0123',
        },
        actor,
      )
      expect(leaf.staffId).toBe('staff-0123')
      const cert = parseCertificate(leaf.der)
      expect(cert.signatureAlgorithm.name).toBe('SM2-SM3')

      const report = await validatePath({
        target: leaf.der,
        intermediates: [issuing.certificate],
        trustAnchors: [root.certificate],
        at: new Date(),
        revocation: { crls: [await ca.crl(issuing.id), await ca.crl(root.id)] },
      })
      expect(report.status, report.reason).toBe('passed')

      // The raw SM2 signature over the TBS, checked by an independent implementation with the default signer ID.
      const issuerKey = bytesToHex(sm2PublicKeyFromSpki(parseCertificate(issuing.certificate).subjectPublicKeyInfo))
      const verify = (tbs: Uint8Array) =>
        smCrypto.doVerifySignature(tbs, bytesToHex(cert.signature), issuerKey, {
          der: true,
          hash: true,
          userId: '1234567812345678',
        })
      expect(verify(cert.tbsDer)).toBe(true)
      const tampered = cert.tbsDer.slice()
      tampered[tampered.length - 1]! ^= 1
      expect(verify(tampered)).toBe(false)

      await ca.revoke({ serial: leaf.serialHex }, 'affiliationChanged', actor)
      const nonce = new Uint8Array(randomBytes(8))
      const response = await ca.respondOcsp(
        buildOcspRequest({ certificate: leaf.der, issuer: issuing.certificate, nonce }),
      )
      const verified = await verifyOcspResponse(response, { issuer: issuing.certificate, certificate: leaf.der, nonce })
      expect(verified.status).toBe('passed')
      expect(verified.certificateStatus?.certStatus).toMatchObject({ status: 'revoked', reason: 'affiliationChanged' })

      const revokedReport = await validatePath({
        target: leaf.der,
        intermediates: [issuing.certificate],
        trustAnchors: [root.certificate],
        at: new Date(),
        revocation: { crls: [await ca.crl(issuing.id), await ca.crl(root.id)] },
      })
      expect(revokedReport.status).toBe('failed')
    })
  })

  describe(`${dialect}: RSA-3072 hierarchy and failure atomicity`, () => {
    let testApp: TestApp
    let ca: CaService

    beforeAll(async () => {
      testApp = await createTestApp({ dialect, ca: true })
      ca = caOf(testApp)
    }, 60_000)
    afterAll(async () => {
      await testApp?.close()
    })

    it('OpenSSL verifies an RSA leaf under an RSA-3072 hierarchy', async () => {
      const { root, issuing } = await ca.createHierarchy(
        {
          algorithm: 'rsa-3072',
          names: { root: { O: 'Yiqian', CN: 'RSA Root' }, issuing: { O: 'Yiqian', CN: 'RSA CA' } },
        },
        actor,
      )
      expect(parseCertificate(issuing.certificate).signatureAlgorithm.name).toBe('RSA-SHA256')
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const leaf = await ca.issueCertificate(
        {
          caId: issuing.id,
          profileId: 'tsa',
          subject: { CN: 'Yiqian TSA' },
          publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
        },
        actor,
      )
      const dir = mkdtempSync(join(tmpdir(), 'yiqian-ca-rsa-'))
      try {
        writeFileSync(join(dir, 'root.pem'), certificateToPem(root.certificate))
        writeFileSync(join(dir, 'issuing.pem'), certificateToPem(issuing.certificate))
        writeFileSync(join(dir, 'leaf.pem'), certificateToPem(leaf.der))
        const out = await new Promise<string>((resolve) =>
          execFile(
            'openssl',
            ['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-purpose', 'timestampsign', 'leaf.pem'],
            { cwd: dir, encoding: 'utf8' },
            (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
          ),
        )
        expect(out).toContain('leaf.pem: OK')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }, 60_000)

    it('a revocation whose CRL cannot be signed is not saved at all', async () => {
      const { issuing } = await ca.createHierarchy(
        { algorithm: 'ecdsa-p256', names: { root: { O: 'Y', CN: 'R' }, issuing: { O: 'Y', CN: 'I' } } },
        actor,
      )
      const leaf = await ca.issueCertificate(
        { caId: issuing.id, profileId: 'event', subject: { CN: '李患者' }, publicKey: p256Spki() },
        actor,
      )
      const keyStore = testApp.services.keyStore
      if (!keyStore) throw new Error('no key store')
      const broken = createCaService({
        uow: testApp.services.uow,
        clock: testApp.services.clock,
        keyStore: {
          ...keyStore,
          async signer(uri) {
            const real = await keyStore.signer(uri)
            return {
              algorithm: real.algorithm,
              publicKey: () => real.publicKey(),
              sign: async () => {
                throw new Error('HSM offline')
              },
            }
          },
        },
      })
      await expect(broken.revoke({ serial: leaf.serialHex }, 'keyCompromise', actor)).rejects.toThrow('HSM offline')
      const after = await testApp.services.uow.run((tx) => tx.certificates.find(leaf.id))
      expect(after?.status).toBe('active')
      expect(after?.version).toBe(1)
      expect(parseCrl((await ca.find(issuing.id)).crl!).crlNumber).toBe(1)
      const revokedEvents = await testApp.services.uow.run(async (tx) =>
        (await tx.audit.range(1, 10_000)).filter((r) => r.type === 'certificate.revoked' && r.subject === leaf.id),
      )
      expect(revokedEvents).toEqual([])
      // The OCSP responder turns the same failure into an OCSP internalError, not an exception.
      const answer = await broken.respondOcsp(buildOcspRequest({ certificate: leaf.der, issuer: issuing.certificate }))
      expect(parseOcspResponse(answer).responseStatus).toBe('internalError')
    })
  })
}
