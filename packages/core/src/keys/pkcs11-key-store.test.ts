import { spawnSync } from 'node:child_process'
import { constants, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { certificateToPem } from '@yiqian/pki'
import { createUnitOfWork, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import type * as Pkcs11js from 'pkcs11js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActorContext } from '../access/principal.js'
import type { AuditEvent } from '../audit/audit-record.js'
import { createCaService } from '../ca/ca-service.js'
import type { Clock } from '../clock.js'
import { isDomainError } from '../errors.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import { kekFromKeyFile } from './key-encryption-key.js'
import type { KeySpec, KeyStore } from './key-store.js'
import { createKeyStore } from './key-store-router.js'
import { type Pkcs11KeyUri, parseKeyUri } from './key-uri.js'
import { createPkcs11KeyStore, ecdsaRawToDer, PKCS11_NOT_CONFIGURED } from './pkcs11-key-store.js'
import { createSoftKeyStore } from './soft-key-store.js'
import { createSoftHsmToken, type SoftHsmToken, softHsmMissing } from './softhsm-testing.js'

const actor: ActorContext = { actor: 'user:keyadmin', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-1' }
const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }
const data = new TextEncoder().encode('TBSCertificate 待签名数据')

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; details: object }> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return { code: error.code, message: error.message, details: error.details }
    throw error
  }
  throw new Error('expected a DomainError')
}

/** A unit of work that only records audit events; `failAudit` makes every append throw. */
function auditLog() {
  const events: AuditEvent[] = []
  const state = { failAudit: false }
  const uow: UnitOfWork = {
    read(fn) {
      return this.run(fn)
    },
    async run(fn) {
      const kept = events.length
      const audit = {
        async append(event: AuditEvent) {
          if (state.failAudit) throw new Error('audit log unavailable')
          events.push(event)
        },
      }
      try {
        return await fn({ audit } as unknown as Repositories)
      } catch (error) {
        events.length = kept
        throw error
      }
    },
  }
  return { uow, events, state }
}

/** Runs the openssl CLI in `dir`; returns its exit code and everything it printed (OpenSSL says "verify OK" on stderr). */
function openssl(dir: string, ...args: string[]): { code: number; out: string } {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 })
  return { code: run.status ?? 1, out: `${run.stdout}${run.stderr}` }
}

function publicPem(spki: Uint8Array): string {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
}

describe('ecdsaRawToDer', () => {
  it('encodes r‖s as the DER ECDSA-Sig-Value node verifies, with sign bytes and without leading zeros', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const { sign } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
    for (let i = 0; i < 32; i++) {
      const message = randomBytes(20)
      const raw = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })
      const der = ecdsaRawToDer(raw)
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true)
    }
    // r with its high bit set gets a 00; s with leading zero bytes loses them.
    const raw = Buffer.concat([Buffer.alloc(32, 0x80), Buffer.concat([Buffer.alloc(2), Buffer.alloc(30, 0x11)])])
    expect(Buffer.from(ecdsaRawToDer(raw)).toString('hex')).toBe(`3043022100${'80'.repeat(32)}021e${'11'.repeat(30)}`)
  })
})

describe('the key-store router without an HSM', () => {
  it('says that no HSM is configured, for pkcs11: keys and for keys placed in the HSM', async () => {
    const soft = createPkcs11KeyStore() // any KeyStore will do as the soft half here
    const router = createKeyStore({ soft, placeKey: () => 'pkcs11' })
    const signing = await failure(router.signer('pkcs11:token=hsm;object=ca-1'))
    expect(signing).toMatchObject({ code: 'KEY_STORE_UNAVAILABLE', message: PKCS11_NOT_CONFIGURED })
    expect(signing.message).toMatch(/no HSM/)
    const making = await failure(router.generate({ algorithm: 'ecdsa-p256', label: 'CA', purpose: 'ca' }, actor))
    expect(making).toMatchObject({ code: 'KEY_STORE_UNAVAILABLE', details: { store: 'pkcs11', operation: 'generate' } })
  })
})

const missing = softHsmMissing()

if (missing && process.env.CI) {
  describe('SoftHSM2', () => {
    it('is installed (CI installs softhsm2)', () => {
      throw new Error(`SoftHSM2 is required in CI: ${missing}`)
    })
  })
}

describe.skipIf(missing !== undefined)(
  `PKCS#11 key store on a throw-away SoftHSM2 token${missing ? ` — skipped: ${missing}` : ''}`,
  () => {
    let token: SoftHsmToken
    let keys: KeyStore
    let audit: ReturnType<typeof auditLog>
    let dir: string

    beforeAll(async () => {
      token = await createSoftHsmToken()
      dir = token.dir
      audit = auditLog()
      keys = createPkcs11KeyStore({ ...token.config, uow: audit.uow, clock })
    })
    afterAll(async () => {
      await keys?.close()
      await token?.cleanup()
    })

    // First, while no store of this process is logged in: the token itself refuses the PIN.
    it('a wrong PIN is a clear KEY_STORE_UNAVAILABLE, not a stack, and is not offered to the token twice', async () => {
      const wrong = createPkcs11KeyStore({ ...token.config, pinSource: await token.writePinFile('00000000') })
      try {
        const first = await failure(wrong.list())
        expect(first.code).toBe('KEY_STORE_UNAVAILABLE')
        expect(first.details).toMatchObject({ store: 'pkcs11', ckr: 'CKR_PIN_INCORRECT' })
        expect(first.message).toMatch(/PIN/)
        expect(first.message).not.toMatch(/\bat \w|\.js:\d/)
        const second = await failure(wrong.list())
        expect(second.message).toMatch(/not offered again/)
      } finally {
        await wrong.close()
      }
      const noFile = createPkcs11KeyStore({ ...token.config, pinSource: join(dir, 'no-such-pin') })
      expect(await failure(noFile.list())).toMatchObject({
        code: 'KEY_STORE_UNAVAILABLE',
        message: expect.stringMatching(/PIN file/),
      })
      await noFile.close()
      const noToken = createPkcs11KeyStore({ ...token.config, token: 'no-such-token' })
      expect(await failure(noToken.list())).toMatchObject({
        code: 'KEY_STORE_UNAVAILABLE',
        message: expect.stringMatching(/no token labelled no-such-token/),
      })
      await noToken.close()
    })

    it('generates an ECDSA P-256 key in the token, audited; its signatures verify with node and OpenSSL', async () => {
      const key = await keys.generate({ algorithm: 'ecdsa-p256', label: '医院 ECDSA 根 CA', purpose: 'ca' }, actor)
      expect(key.uri).toMatch(new RegExp(`^pkcs11:token=${token.label};object=ca-[0-9a-f]{32}$`))
      expect(parseKeyUri(key.uri)).toMatchObject({ scheme: 'pkcs11', token: token.label })
      expect(key).toMatchObject({
        algorithm: 'ecdsa-p256',
        label: '医院 ECDSA 根 CA',
        purpose: 'ca',
        origin: 'generated',
      })
      expect(key.createdAt).toEqual(clock.now())
      const publicKey = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' })
      expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
      expect(audit.events.at(-1)).toMatchObject({
        type: 'key.generated',
        subject: key.uri,
        actor: actor.actor,
        data: { algorithm: 'ecdsa-p256', purpose: 'ca', store: 'pkcs11', token: token.label },
      })

      const signer = await keys.signer(key.uri)
      expect(signer.algorithm).toBe('ECDSA-P256-SHA256')
      expect(signer.publicKey()).toEqual(key.publicKey)
      const signature = await signer.sign(data)
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true)
      expect(verify('sha256', Buffer.from('other'), { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(false)

      writeFileSync(join(dir, 'ec.pub.pem'), publicPem(key.publicKey))
      writeFileSync(join(dir, 'ec.data'), data)
      writeFileSync(join(dir, 'ec.sig'), signature)
      const checked = openssl(dir, 'dgst', '-sha256', '-verify', 'ec.pub.pem', '-signature', 'ec.sig', 'ec.data')
      expect(checked.out).toContain('Verified OK')
      expect(checked.code).toBe(0)

      // Read back from the token, by a store that did not make it.
      expect(await keys.info(key.uri)).toEqual(key)
      expect(await keys.publicKey(key.uri)).toEqual(key.publicKey)
    })

    it('the private key is sensitive and not extractable: the token will not hand it out', async () => {
      const key = await keys.generate({ algorithm: 'ecdsa-p256', label: 'TSA', purpose: 'tsa' }, actor)
      const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js
      // The store's module is initialised in this process already; a second handle on the library shares it.
      const pkcs11 = new lib.PKCS11()
      pkcs11.load(token.config.modulePath)
      try {
        pkcs11.C_Initialize()
      } catch (error) {
        expect((error as Error).message).toBe('CKR_CRYPTOKI_ALREADY_INITIALIZED')
      }
      const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === token.label)
      if (!slot) throw new Error('token not found')
      const session = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION)
      try {
        pkcs11.C_FindObjectsInit(session, [
          { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
          { type: lib.CKA_LABEL, value: (parseKeyUri(key.uri) as Pkcs11KeyUri).object },
        ])
        const [handle] = pkcs11.C_FindObjects(session, 2)
        pkcs11.C_FindObjectsFinal(session)
        if (!handle) throw new Error('private key not found')
        const [sensitive, extractable, tokenObject] = pkcs11.C_GetAttributeValue(session, handle, [
          { type: lib.CKA_SENSITIVE },
          { type: lib.CKA_EXTRACTABLE },
          { type: lib.CKA_TOKEN },
        ])
        expect([sensitive?.value[0], extractable?.value[0], tokenObject?.value[0]]).toEqual([1, 0, 1])
        expect(() => pkcs11.C_GetAttributeValue(session, handle, [{ type: lib.CKA_VALUE }])).toThrow(
          /CKR_ATTRIBUTE_SENSITIVE/,
        )
      } finally {
        pkcs11.C_CloseSession(session)
      }
    })

    it('a store with another PIN does not ride on the login of the process', async () => {
      await keys.list() // logs the process in, with the right PIN
      const wrong = createPkcs11KeyStore({ ...token.config, pinSource: await token.writePinFile('11111111') })
      try {
        expect(await failure(wrong.list())).toMatchObject({
          code: 'KEY_STORE_UNAVAILABLE',
          message: expect.stringMatching(/PIN differs/),
        })
      } finally {
        await wrong.close()
      }
      const right = createPkcs11KeyStore({ ...token.config, pinSource: await token.writePinFile(token.pin) })
      try {
        expect(await right.list()).toEqual(await keys.list())
      } finally {
        await right.close()
      }
    })

    it('generates RSA-3072; PKCS#1 v1.5 and PSS signatures verify with node and OpenSSL', async () => {
      const key = await keys.generate({ algorithm: 'rsa-3072', label: 'seal RSA', purpose: 'seal' }, actor)
      const publicKey = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' })
      expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072)
      writeFileSync(join(dir, 'rsa.pub.pem'), publicPem(key.publicKey))
      writeFileSync(join(dir, 'rsa.data'), data)

      const pkcs1 = await keys.signer(key.uri)
      expect(pkcs1.algorithm).toBe('RSA-SHA256')
      const signature = await pkcs1.sign(data)
      expect(signature.length).toBe(384)
      expect(verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)).toBe(true)
      writeFileSync(join(dir, 'rsa.sig'), signature)
      const checked = openssl(dir, 'dgst', '-sha256', '-verify', 'rsa.pub.pem', '-signature', 'rsa.sig', 'rsa.data')
      expect(checked.out).toContain('Verified OK')

      const pss = await keys.signer(key.uri, { rsaPadding: 'pss' })
      expect(pss.algorithm).toBe('RSA-PSS-SHA256')
      const pssSignature = await pss.sign(data)
      const pssOptions = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      expect(verify('sha256', data, pssOptions, pssSignature)).toBe(true)
      // Not PKCS#1 v1.5, and not PSS with another salt length.
      expect(verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, pssSignature)).toBe(false)
      expect(verify('sha256', data, { ...pssOptions, saltLength: 20 }, pssSignature)).toBe(false)
      writeFileSync(join(dir, 'rsa-pss.sig'), pssSignature)
      const pssChecked = openssl(
        dir,
        ...['dgst', '-sha256', '-verify', 'rsa.pub.pem', '-sigopt', 'rsa_padding_mode:pss'],
        ...['-sigopt', 'rsa_pss_saltlen:32', '-signature', 'rsa-pss.sig', 'rsa.data'],
      )
      expect(pssChecked.out).toContain('Verified OK')
    }, 120_000)

    it('signs concurrently through one session, every signature valid', async () => {
      const key = await keys.generate({ algorithm: 'ecdsa-p256', label: 'OCSP', purpose: 'ocsp' }, actor)
      const signer = await keys.signer(key.uri)
      const publicKey = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' })
      const messages = Array.from({ length: 24 }, (_, i) => Buffer.from(`message ${i}`))
      const signatures = await Promise.all(messages.map((m) => signer.sign(m)))
      messages.forEach((m, i) => {
        expect(verify('sha256', m, { key: publicKey, dsaEncoding: 'der' }, signatures[i] as Uint8Array)).toBe(true)
      })
    })

    it('a retired key signs no more (even through a signer made before), audited; its public key stays', async () => {
      const key = await keys.generate({ algorithm: 'ecdsa-p256', label: 'old TSA', purpose: 'tsa' }, actor)
      const signer = await keys.signer(key.uri)
      const retired = await keys.retire(key.uri, actor)
      expect(retired.retiredAt).toEqual(clock.now())
      expect(audit.events.at(-1)).toMatchObject({ type: 'key.retired', subject: key.uri })
      expect((await failure(signer.sign(data))).code).toBe('KEY_RETIRED')
      expect((await failure(keys.signer(key.uri))).code).toBe('KEY_RETIRED')
      expect((await failure(keys.retire(key.uri, actor))).code).toBe('KEY_RETIRED')
      expect(await keys.publicKey(key.uri)).toEqual(key.publicKey)
      expect((await keys.info(key.uri)).retiredAt).toEqual(clock.now())
      expect((await keys.list()).find((k) => k.uri === key.uri)?.retiredAt).toEqual(clock.now())
    })

    it('a key retired by another store (another server) is refused by the token to a signer made before', async () => {
      const key = await keys.generate({ algorithm: 'rsa-2048', label: 'seal 2025', purpose: 'seal' }, actor)
      const signer = await keys.signer(key.uri)
      expect((await signer.sign(data)).length).toBe(256)
      const other = createPkcs11KeyStore({ ...token.config, clock })
      try {
        await other.retire(key.uri, actor)
      } finally {
        await other.close()
      }
      expect((await failure(signer.sign(data))).code).toBe('KEY_RETIRED')
      expect(await failure(other.list())).toMatchObject({
        code: 'KEY_STORE_UNAVAILABLE',
        message: expect.stringMatching(/closed/),
      })
    }, 60_000)

    it('answers KEY_NOT_FOUND for an unknown object or another token, KEY_URI_INVALID for soft: URIs', async () => {
      const unknown = await failure(keys.signer(`pkcs11:token=${token.label};object=ca-0000`))
      expect(unknown).toMatchObject({ code: 'KEY_NOT_FOUND', details: { store: 'pkcs11' } })
      expect((await failure(keys.info('pkcs11:token=another;object=ca-1'))).code).toBe('KEY_NOT_FOUND')
      expect((await failure(keys.publicKey('soft:ca-1'))).code).toBe('KEY_URI_INVALID')
    })

    it.each([
      [{ algorithm: 'sm2', label: 'SM2 CA', purpose: 'ca' }, 'algorithm'],
      [{ algorithm: 'ed25519', label: 'x', purpose: 'ca' }, 'algorithm'],
      [{ algorithm: 'ecdsa-p256', label: '', purpose: 'ca' }, 'label'],
      [{ algorithm: 'ecdsa-p256', label: 'x', purpose: 'everything' }, 'purpose'],
    ])('refuses %j naming field %s; SM2 is not a PKCS#11 mechanism', async (spec, field) => {
      const refused = await failure(keys.generate(spec as unknown as KeySpec, actor))
      expect(refused).toMatchObject({ code: 'KEY_FIELD_INVALID', details: { field } })
      if (spec.algorithm === 'sm2') expect(refused.message).toMatch(/SM2/)
    })

    it('refuses importing a private key: HSM keys are made inside the HSM', async () => {
      const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'der',
      })
      const refused = await failure(keys.importPrivateKey(new Uint8Array(pkcs8), { label: 'x', purpose: 'ca' }, actor))
      expect(refused).toMatchObject({ code: 'KEY_FIELD_INVALID', details: { field: 'pkcs8' } })
      expect(refused.message).toMatch(/vendor/)
    })

    it('fails closed: when the audit cannot be written, the key is not left on the token', async () => {
      const before = (await keys.list()).length
      audit.state.failAudit = true
      try {
        await expect(
          keys.generate({ algorithm: 'ecdsa-p256', label: 'unaudited', purpose: 'seal' }, actor),
        ).rejects.toThrow(/audit log unavailable/)
      } finally {
        audit.state.failAudit = false
      }
      expect((await keys.list()).length).toBe(before)
    })

    it('the token is the record: a new store lists the same keys, with label and purpose', async () => {
      const listed = await keys.list()
      const again = createPkcs11KeyStore({ ...token.config, clock })
      try {
        expect(await again.list()).toEqual(listed)
        expect(listed.map((k) => k.purpose).sort()).toEqual(['ca', 'ocsp', 'seal', 'seal', 'tsa', 'tsa'])
      } finally {
        await again.close()
      }
      // The first store still works after the second one closed (shared module and login).
      const first = listed[0]
      if (!first) throw new Error('no key')
      expect((await (await keys.signer(first.uri)).sign(data)).length).toBeGreaterThan(60)
    })

    describe('a CA whose keys are in the HSM', () => {
      let storage: Storage
      let ca: ReturnType<typeof createCaService>
      let router: KeyStore

      beforeAll(async () => {
        storage = openStorage({ dataDir: join(dir, 'data') })
        await migrateToLatest(storage.db)
        const uow = createUnitOfWork(storage.db, clock)
        const soft = createSoftKeyStore({ uow, clock, kek: kekFromKeyFile(randomBytes(32)) })
        const pkcs11 = createPkcs11KeyStore({ ...token.config, uow, clock })
        router = createKeyStore({ soft, pkcs11, placeKey: (spec) => (spec.purpose === 'ca' ? 'pkcs11' : 'soft') })
        ca = createCaService({ uow, clock, keyStore: router, publicBaseUrl: 'http://ca.hospital.local' })
      })
      afterAll(async () => {
        await router?.close()
        await storage?.close()
      })

      it('issues certificates and a CRL that OpenSSL verifies', async () => {
        const { root, issuing } = await ca.createHierarchy(
          {
            algorithm: 'ecdsa-p256',
            names: {
              root: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'HSM Root' },
              issuing: { C: 'CN', O: 'Yiqian Test Hospital', CN: 'HSM Issuing' },
            },
          },
          actor,
        )
        expect(root.keyUri).toMatch(/^pkcs11:/)
        expect(issuing.keyUri).toMatch(/^pkcs11:/)
        // The OCSP responder key is not a CA key: it stays in the soft store.
        if (issuing.ocspResponder) expect(issuing.ocspResponder.keyUri).toMatch(/^soft:/)
        const holder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
          type: 'spki',
          format: 'der',
        })
        const leaf = await ca.issueCertificate(
          {
            caId: issuing.id,
            profileId: 'tls-server',
            subject: { CN: 'his.hospital.local' },
            subjectAltName: { dns: ['his.hospital.local'] },
            publicKey: new Uint8Array(holder),
          },
          actor,
        )
        writeFileSync(join(dir, 'root.pem'), certificateToPem(root.certificate))
        writeFileSync(join(dir, 'issuing.pem'), certificateToPem(issuing.certificate))
        writeFileSync(join(dir, 'leaf.pem'), certificateToPem(leaf.der))
        const chain = openssl(dir, 'verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'leaf.pem')
        expect(chain.out).toContain('leaf.pem: OK')
        expect(chain.code).toBe(0)
        // Without the issuing CA there is no path: the check is not vacuous.
        expect(openssl(dir, 'verify', '-CAfile', 'root.pem', 'leaf.pem').code).not.toBe(0)

        writeFileSync(join(dir, 'issuing.crl'), await ca.crl(issuing.id, actor))
        const crl = openssl(dir, 'crl', '-in', 'issuing.crl', '-inform', 'DER', '-CAfile', 'issuing.pem', '-noout')
        expect(crl.out).toContain('verify OK')
        expect(crl.code).toBe(0)
        const wrongIssuer = openssl(dir, 'crl', '-in', 'issuing.crl', '-inform', 'DER', '-CAfile', 'root.pem', '-noout')
        expect(wrongIssuer.out).not.toContain('verify OK')
      }, 120_000)
    })
  },
)
