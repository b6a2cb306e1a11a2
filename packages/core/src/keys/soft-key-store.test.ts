import { constants, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto'
import {
  bytesToHex,
  createVerifier,
  generateSm2KeyPair,
  sm2PrivateKeyToPkcs8,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToSpki,
} from '@yiqian/gm'
import { sm2 as smCrypto } from 'sm-crypto-v2'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ActorContext } from '../access/principal.js'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import { isDomainError } from '../errors.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import { kekFromKeyFile } from './key-encryption-key.js'
import type { KeyAlgorithm, KeySpec } from './key-store.js'
import { createKeyStore } from './key-store-router.js'
import { createSoftKeyStore, type KeyRepository, openPrivateKey, type StoredKey } from './soft-key-store.js'

const actor: ActorContext = { actor: 'user:keyadmin', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-1' }
const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }
const data = new TextEncoder().encode('TBSCertificate 待签名数据')

/** An in-memory unit of work over the keys table and the audit log, rolled back when `fn` throws. */
function memoryDatabase() {
  const rows = new Map<string, StoredKey>()
  const events: AuditEvent[] = []
  const faults: { reseal?: (call: number) => void; audit?: () => void } = {}
  let resealCalls = 0
  const keys: KeyRepository = {
    async insert(key) {
      if (rows.has(key.id)) throw new Error('duplicate id')
      rows.set(key.id, key)
    },
    find: async (id) => rows.get(id),
    list: async () => [...rows.values()],
    listSealedOtherThan: async (kekId) => [...rows.values()].filter((r) => r.kekId !== kekId),
    async reseal(id, from, sealed, to, at) {
      faults.reseal?.(++resealCalls)
      const row = rows.get(id)
      if (!row || row.kekId !== from) return false
      rows.set(id, { ...row, sealedPrivateKey: sealed, kekId: to, sealedAt: at })
      return true
    },
    async retire(id, at) {
      const row = rows.get(id)
      if (!row || row.retiredAt) return false
      rows.set(id, { ...row, retiredAt: at })
      return true
    },
  }
  const audit = {
    async append(event: AuditEvent) {
      faults.audit?.()
      events.push(event)
    },
  }
  const uow: UnitOfWork = {
    read(fn) {
      return this.run(fn)
    },
    async run(fn) {
      const savedRows = new Map(rows)
      const savedEvents = events.length
      try {
        return await fn({ keys, audit } as unknown as Repositories)
      } catch (error) {
        rows.clear()
        for (const [k, v] of savedRows) rows.set(k, v)
        events.length = savedEvents
        throw error
      }
    },
  }
  return { uow, rows, events, faults }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return error.code
    throw error
  }
  throw new Error('expected a DomainError')
}

function nodeVerify(algorithm: KeyAlgorithm, spki: Uint8Array, signature: Uint8Array, pss = false): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
  if (algorithm === 'ecdsa-p256') return verify('sha256', data, { key, dsaEncoding: 'der' }, signature)
  return verify(
    'sha256',
    data,
    pss
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key, padding: constants.RSA_PKCS1_PADDING },
    signature,
  )
}

describe('soft key store', () => {
  let db: ReturnType<typeof memoryDatabase>
  const kek = kekFromKeyFile(randomBytes(32))

  beforeEach(() => {
    db = memoryDatabase()
  })

  const store = (k = kek, previousKeks = [] as ReturnType<typeof kekFromKeyFile>[]) =>
    createSoftKeyStore({ uow: db.uow, clock, kek: k, previousKeks })

  it('SM2: signs with the default signer ID, DER, verified by gm and by sm-crypto-v2', async () => {
    const keys = store()
    const key = await keys.generate({ algorithm: 'sm2', label: '医院 SM2 根 CA', purpose: 'ca' }, actor)
    expect(key.uri).toMatch(/^soft:ca-[0-9a-f]{16}$/)
    const signer = await keys.signer(key.uri)
    expect(signer.algorithm).toBe('SM2-SM3')
    expect(signer.publicKey()).toEqual(key.publicKey)
    expect(await keys.publicKey(key.uri)).toEqual(key.publicKey)
    const signature = await signer.sign(data)
    expect(signature[0]).toBe(0x30)
    expect(await createVerifier(key.publicKey).verify(data, signature)).toBe(true)
    const publicHex = bytesToHex(sm2PublicKeyFromSpki(key.publicKey))
    expect(
      smCrypto.doVerifySignature(data, bytesToHex(signature), publicHex, {
        der: true,
        hash: true,
        userId: '1234567812345678',
      }),
    ).toBe(true)
    expect(
      smCrypto.doVerifySignature(data, bytesToHex(signature), publicHex, { der: true, hash: true, userId: 'x' }),
    ).toBe(false)
  })

  it.each([
    ['ecdsa-p256', 'ECDSA-P256-SHA256'],
    ['rsa-2048', 'RSA-SHA256'],
    ['rsa-3072', 'RSA-SHA256'],
  ] as const)('%s: signs what node:crypto (OpenSSL) verifies', async (algorithm, signatureAlgorithm) => {
    const keys = store()
    const key = await keys.generate({ algorithm, label: `TSA ${algorithm}`, purpose: 'tsa' }, actor)
    expect(key.algorithm).toBe(algorithm)
    const signer = await keys.signer(key.uri)
    expect(signer.algorithm).toBe(signatureAlgorithm)
    const signature = await signer.sign(data)
    expect(nodeVerify(algorithm, key.publicKey, signature)).toBe(true)
    expect(await createVerifier(key.publicKey).verify(data, signature)).toBe(true)
    if (algorithm !== 'ecdsa-p256') {
      const modulus = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' })
      expect(modulus.asymmetricKeyDetails?.modulusLength).toBe(algorithm === 'rsa-2048' ? 2048 : 3072)
      const pss = await keys.signer(key.uri, { rsaPadding: 'pss' })
      expect(pss.algorithm).toBe('RSA-PSS-SHA256')
      const pssSignature = await pss.sign(data)
      expect(nodeVerify(algorithm, key.publicKey, pssSignature, true)).toBe(true)
      expect(nodeVerify(algorithm, key.publicKey, pssSignature, false)).toBe(false)
    }
  })

  it('audits generate, import and retire in the same unit of work, with no key material', async () => {
    const keys = store()
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const pkcs8 = new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }))
    const generated = await keys.generate({ algorithm: 'sm2', label: 'audit', purpose: 'audit-checkpoint' }, actor)
    const imported = await keys.importPrivateKey(pkcs8, { label: '省 CA 签发的机构密钥', purpose: 'ca' }, actor)
    await keys.retire(generated.uri, actor)
    expect(db.events.map((e) => [e.type, e.subject, e.actor, e.requestId])).toEqual([
      ['key.generated', generated.uri, 'user:keyadmin', 'req-1'],
      ['key.imported', imported.uri, 'user:keyadmin', 'req-1'],
      ['key.retired', generated.uri, 'user:keyadmin', 'req-1'],
    ])
    expect(db.events[1]?.data).toMatchObject({ algorithm: 'ecdsa-p256', purpose: 'ca', kekId: kek.id })
    const text = JSON.stringify(db.events)
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(text).not.toContain(Buffer.from(pkcs8).toString(encoding))
    }
    const jwk = privateKey.export({ format: 'jwk' })
    expect(text).not.toContain(String(jwk.d))

    db.faults.audit = () => {
      throw new Error('audit log unavailable')
    }
    await expect(keys.generate({ algorithm: 'sm2', label: 'x', purpose: 'ca' }, actor)).rejects.toThrow('audit')
    expect(db.rows.size).toBe(2)
  })

  it('imports SM2, ECDSA and RSA PKCS#8 and signs with the imported key', async () => {
    const keys = store()
    const sm2 = generateSm2KeyPair()
    const importedSm2 = await keys.importPrivateKey(
      sm2PrivateKeyToPkcs8(sm2.privateKey),
      { label: 'SM2 issuing', purpose: 'ca', algorithm: 'sm2' },
      actor,
    )
    expect(importedSm2.publicKey).toEqual(sm2PublicKeyToSpki(sm2.publicKey))
    expect(importedSm2.origin).toBe('imported')
    const sm2Signature = await (await keys.signer(importedSm2.uri)).sign(data)
    expect(await createVerifier(sm2PublicKeyToSpki(sm2.publicKey)).verify(data, sm2Signature)).toBe(true)

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const importedRsa = await keys.importPrivateKey(
      new Uint8Array(rsa.privateKey.export({ type: 'pkcs8', format: 'der' })),
      { label: 'RSA issuing', purpose: 'ca' },
      actor,
    )
    expect(importedRsa.algorithm).toBe('rsa-2048')
    const rsaSignature = await (await keys.signer(importedRsa.uri)).sign(data)
    expect(verify('sha256', data, rsa.publicKey, rsaSignature)).toBe(true)
  })

  it.each([
    ['garbage', () => new Uint8Array(randomBytes(100)), {}, 'pkcs8'],
    ['empty', () => new Uint8Array(0), {}, 'pkcs8'],
    ['too large', () => new Uint8Array(8193), {}, 'pkcs8'],
    [
      'Ed25519',
      () => new Uint8Array(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' })),
      {},
      'pkcs8',
    ],
    [
      'P-384',
      () =>
        new Uint8Array(
          generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'der' }),
        ),
      {},
      'pkcs8',
    ],
    [
      'an SM2 key declared as RSA',
      () => sm2PrivateKeyToPkcs8(generateSm2KeyPair().privateKey),
      { algorithm: 'rsa-2048' as const },
      'algorithm',
    ],
  ])('refuses to import %s, naming the field', async (_, make, extra, field) => {
    const error = await store()
      .importPrivateKey(make(), { label: 'x', purpose: 'ca', ...extra }, actor)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KEY_FIELD_INVALID', details: { field } })
    expect(db.rows.size).toBe(0)
  })

  it.each([
    ['an empty label', { algorithm: 'sm2', label: '  ', purpose: 'ca' }, 'label'],
    ['a long label', { algorithm: 'sm2', label: '长'.repeat(201), purpose: 'ca' }, 'label'],
    ['a control character', { algorithm: 'sm2', label: 'a\u0000b', purpose: 'ca' }, 'label'],
    ['an unknown purpose', { algorithm: 'sm2', label: 'a', purpose: 'everything' }, 'purpose'],
    ['an unknown algorithm', { algorithm: 'rsa-1024', label: 'a', purpose: 'ca' }, 'algorithm'],
  ])('refuses to generate with %s', async (_, spec, field) => {
    // Deliberately ill-typed input, as it would arrive from outside.
    const error = await store()
      .generate(spec as unknown as KeySpec, actor)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KEY_FIELD_INVALID', details: { field } })
  })

  it('answers KEY_NOT_FOUND, KEY_URI_INVALID, and KEY_STORE_UNAVAILABLE for pkcs11: keys', async () => {
    const keys = store()
    expect(await codeOf(keys.signer('soft:missing'))).toBe('KEY_NOT_FOUND')
    expect(await codeOf(keys.signer('soft:../etc'))).toBe('KEY_URI_INVALID')
    expect(await codeOf(keys.signer('pkcs11:token=t;object=o'))).toBe('KEY_URI_INVALID')
    const router = createKeyStore({ soft: keys })
    expect(await codeOf(router.signer('pkcs11:token=t;object=o'))).toBe('KEY_STORE_UNAVAILABLE')
    expect(await codeOf(router.signer('soft:missing'))).toBe('KEY_NOT_FOUND')
    const soft = await router.generate({ algorithm: 'sm2', label: 'via router', purpose: 'ocsp' }, actor)
    expect((await router.list()).map((k) => k.uri)).toEqual([soft.uri])
  })

  it('retires a key: it signs no more (even through a signer made before), its public key stays', async () => {
    const keys = store()
    const key = await keys.generate({ algorithm: 'ecdsa-p256', label: 'old TSA', purpose: 'tsa' }, actor)
    const signer = await keys.signer(key.uri)
    const retired = await keys.retire(key.uri, actor)
    expect(retired.retiredAt).toEqual(clock.now())
    expect(await codeOf(signer.sign(data))).toBe('KEY_RETIRED')
    expect(await codeOf(keys.signer(key.uri))).toBe('KEY_RETIRED')
    expect(await codeOf(keys.retire(key.uri, actor))).toBe('KEY_RETIRED')
    expect(await keys.publicKey(key.uri)).toEqual(key.publicKey)
    expect((await keys.list()).map((k) => [k.uri, k.retiredAt])).toEqual([[key.uri, clock.now()]])
    expect(db.rows.get(key.uri.slice(5))?.sealedPrivateKey.length).toBeGreaterThan(0)
  })

  it('a wrong KEK cannot open the keys: KEY_UNREADABLE, also when the row is relabelled with its id', async () => {
    const key = await store().generate({ algorithm: 'sm2', label: 'ca', purpose: 'ca' }, actor)
    const wrong = kekFromKeyFile(randomBytes(32))
    expect(await codeOf(store(wrong).signer(key.uri))).toBe('KEY_UNREADABLE')
    const id = key.uri.slice(5)
    const row = db.rows.get(id) as StoredKey
    db.rows.set(id, { ...row, kekId: wrong.id })
    expect(await codeOf(store(wrong).signer(key.uri))).toBe('KEY_UNREADABLE')
    expect(await store(wrong).checkReadable()).toEqual({ total: 1, unreadable: [key.uri] })
  })

  it.each([
    [
      'a flipped ciphertext bit',
      (r: StoredKey, _o: StoredKey) => ({ ...r, sealedPrivateKey: flip(r.sealedPrivateKey) }),
    ],
    ['the sealed key of another row', (r: StoredKey, o: StoredKey) => ({ ...r, sealedPrivateKey: o.sealedPrivateKey })],
    ['another public key', (r: StoredKey, o: StoredKey) => ({ ...r, publicKey: o.publicKey })],
    ['another algorithm', (r: StoredKey, _o: StoredKey) => ({ ...r, algorithm: 'ecdsa-p256' as const })],
    [
      'a truncated blob',
      (r: StoredKey, _o: StoredKey) => ({ ...r, sealedPrivateKey: r.sealedPrivateKey.slice(0, 20) }),
    ],
  ])('a row altered with %s is KEY_UNREADABLE', async (_, alter) => {
    const keys = store()
    const a = await keys.generate({ algorithm: 'sm2', label: 'a', purpose: 'ca' }, actor)
    const b = await keys.generate({ algorithm: 'sm2', label: 'b', purpose: 'ca' }, actor)
    const rowA = db.rows.get(a.uri.slice(5)) as StoredKey
    const rowB = db.rows.get(b.uri.slice(5)) as StoredKey
    db.rows.set(rowA.id, alter(rowA, rowB))
    expect(await codeOf(store().signer(a.uri))).toBe('KEY_UNREADABLE')
    // The other row is untouched and still signs.
    const signature = await (await store().signer(b.uri)).sign(data)
    expect(await createVerifier(b.publicKey).verify(data, signature)).toBe(true)
  })

  describe('KEK rotation', () => {
    it('re-seals every key under the new KEK; the old KEK opens none of them; a second run does nothing', async () => {
      const keys = store()
      const made = [
        await keys.generate({ algorithm: 'sm2', label: 'a', purpose: 'ca' }, actor),
        await keys.generate({ algorithm: 'ecdsa-p256', label: 'b', purpose: 'tsa' }, actor),
        await keys.generate({ algorithm: 'rsa-2048', label: 'c', purpose: 'ocsp' }, actor),
      ]
      const before = new Map([...db.rows].map(([id, r]) => [id, r.sealedPrivateKey]))
      const next = kekFromKeyFile(randomBytes(32))
      expect(await keys.rotateKek(next, actor)).toEqual({ to: next.id, from: [kek.id], resealed: 3 })
      expect(keys.currentKekId).toBe(next.id)
      for (const row of db.rows.values()) {
        expect(row.kekId).toBe(next.id)
        expect(row.sealedPrivateKey).not.toEqual(before.get(row.id))
        expect(() => openPrivateKey(row.sealedPrivateKey, kek, row)).toThrowError(
          expect.objectContaining({ code: 'KEY_UNREADABLE' }),
        )
      }
      const onlyOld = store(kek)
      const onlyNew = store(next)
      for (const key of made) {
        expect(await codeOf(onlyOld.signer(key.uri))).toBe('KEY_UNREADABLE')
        const signature = await (await onlyNew.signer(key.uri)).sign(data)
        expect(await createVerifier(key.publicKey).verify(data, signature)).toBe(true)
      }
      // New keys go under the new KEK.
      const later = await keys.generate({ algorithm: 'sm2', label: 'd', purpose: 'ca' }, actor)
      expect(db.rows.get(later.uri.slice(5))?.kekId).toBe(next.id)
      expect(await keys.rotateKek(next, actor)).toEqual({ to: next.id, from: [], resealed: 0 })
      expect(db.events.filter((e) => e.type === 'key.kek-rotated').map((e) => e.data)).toEqual([
        { to: next.id, from: [kek.id], resealed: 3 },
        { to: next.id, from: [], resealed: 0 },
      ])
    })

    it('an interrupted rotation changes nothing, and running it again finishes it', async () => {
      const keys = store()
      for (const label of ['a', 'b', 'c']) await keys.generate({ algorithm: 'sm2', label, purpose: 'ca' }, actor)
      const next = kekFromKeyFile(randomBytes(32))
      db.faults.reseal = (call) => {
        if (call === 2) throw new Error('power cut')
      }
      await expect(keys.rotateKek(next, actor)).rejects.toThrow('power cut')
      expect([...db.rows.values()].map((r) => r.kekId)).toEqual([kek.id, kek.id, kek.id])
      expect(keys.currentKekId).toBe(kek.id)
      expect(await store(kek).checkReadable()).toEqual({ total: 3, unreadable: [] })
      db.faults.reseal = undefined
      expect((await keys.rotateKek(next, actor)).resealed).toBe(3)
      expect(await store(next).checkReadable()).toEqual({ total: 3, unreadable: [] })
    })

    it('resumes from a mixed state: keys already under the new KEK are left alone', async () => {
      const next = kekFromKeyFile(randomBytes(32))
      await store(kek).generate({ algorithm: 'sm2', label: 'old', purpose: 'ca' }, actor)
      // An instance restarted with the new KEK (and the old one still loaded) made a key before the rotation ran.
      const both = store(next, [kek])
      await both.generate({ algorithm: 'ecdsa-p256', label: 'new', purpose: 'tsa' }, actor)
      expect(new Set([...db.rows.values()].map((r) => r.kekId))).toEqual(new Set([kek.id, next.id]))
      expect(await both.checkReadable()).toEqual({ total: 2, unreadable: [] })
      expect(await both.rotateKek(next, actor)).toEqual({ to: next.id, from: [kek.id], resealed: 1 })
      expect(await store(next).checkReadable()).toEqual({ total: 2, unreadable: [] })
    })

    it('stops, changing nothing, when a key is sealed under a KEK it was not given', async () => {
      const stranger = kekFromKeyFile(randomBytes(32))
      await store(stranger).generate({ algorithm: 'sm2', label: 'x', purpose: 'ca' }, actor)
      await store(kek).generate({ algorithm: 'sm2', label: 'y', purpose: 'ca' }, actor)
      const next = kekFromKeyFile(randomBytes(32))
      expect(await codeOf(store(kek).rotateKek(next, actor))).toBe('KEY_UNREADABLE')
      expect(new Set([...db.rows.values()].map((r) => r.kekId))).toEqual(new Set([stranger.id, kek.id]))
    })
  })

  it('close() forgets the decrypted keys; a later signature opens the key again', async () => {
    const keys = store()
    const key = await keys.generate({ algorithm: 'sm2', label: 'a', purpose: 'ca' }, actor)
    const signer = await keys.signer(key.uri)
    await keys.close()
    const id = key.uri.slice(5)
    const row = db.rows.get(id) as StoredKey
    db.rows.set(id, { ...row, sealedPrivateKey: flip(row.sealedPrivateKey) })
    // The cache is gone, so the altered row is read again, and refused.
    expect(await codeOf(signer.sign(data))).toBe('KEY_UNREADABLE')
  })
})

function flip(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice()
  copy[copy.length - 20] = (copy[copy.length - 20] ?? 0) ^ 0x01
  return copy
}
