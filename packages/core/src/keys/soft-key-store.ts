import type * as NodeCrypto from 'node:crypto'
import { constants, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign } from 'node:crypto'
import {
  bytesToHex,
  createSm2Signer,
  equalBytes,
  generateSm2KeyPair,
  hmacSm3,
  openSm4Gcm,
  type Signer,
  type Sm2Signer,
  sealSm4Gcm,
  sm2PrivateKeyFromPkcs8,
  sm2PrivateKeyToPkcs8,
  sm2PublicKeyToSpki,
  sm3,
} from '@yiqian/gm'
import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { checkAlgorithm, checkLabel, checkPurpose, fieldInvalid } from './key-checks.js'
import type { KeyEncryptionKey } from './key-encryption-key.js'
import {
  type ImportKeyMeta,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyPurpose,
  type KeySpec,
  type KeyStore,
  PKCS8_MAX_BYTES,
  type SignerOptions,
  signatureAlgorithmOf,
} from './key-store.js'
import { parseKeyUri, softKeyUri } from './key-uri.js'

/**
 * A `soft:` key as stored: the private half is PKCS#8 DER sealed with SM4-GCM under a key derived from the KEK and
 * the key id, with the id, algorithm and KEK id as associated data (a row copied onto another id, or relabelled
 * with another algorithm or KEK id, does not open). `kekId` says which KEK sealed it, so rotation can resume.
 */
export interface StoredKey {
  readonly id: string
  readonly algorithm: KeyAlgorithm
  readonly label: string
  readonly purpose: KeyPurpose
  readonly origin: 'generated' | 'imported'
  /** SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array
  readonly sealedPrivateKey: Uint8Array
  readonly kekId: string
  readonly createdAt: Date
  readonly sealedAt: Date
  readonly retiredAt?: Date | undefined
}

export interface KeyRepository {
  insert(key: StoredKey): Promise<void>
  find(id: string): Promise<StoredKey | undefined>
  /** Oldest first. */
  list(): Promise<StoredKey[]>
  /** Keys sealed under any KEK other than `kekId`: what a rotation to `kekId` still has to do. */
  listSealedOtherThan(kekId: string): Promise<StoredKey[]>
  /** Replaces the sealed key only if it is still sealed under `fromKekId`; false otherwise. */
  reseal(id: string, fromKekId: string, sealed: Uint8Array, toKekId: string, at: Date): Promise<boolean>
  /** Sets `retired_at` once; false if the key is missing or already retired. */
  retire(id: string, at: Date): Promise<boolean>
}

export interface SoftKeyStore extends KeyStore {
  /** The KEK new keys are sealed under. */
  readonly currentKekId: string
  /**
   * Re-seals every key not yet under `next` in one transaction, audited, and makes `next` current. Keys are opened
   * with whichever loaded KEK their `kek_id` names, so a rotation that was interrupted (or keys made by an instance
   * that already used `next`) finishes when run again; a second run finds nothing to do.
   */
  rotateKek(next: KeyEncryptionKey, actor: ActorContext): Promise<KekRotation>
  /** Opens every stored key: what the composition root checks at start. */
  checkReadable(): Promise<{ readonly total: number; readonly unreadable: readonly string[] }>
}

export interface KekRotation {
  readonly to: string
  readonly from: readonly string[]
  readonly resealed: number
}

export interface SoftKeyStoreDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  /** Seals new keys. */
  readonly kek: KeyEncryptionKey
  /** Older KEKs still accepted for opening (during a rotation). */
  readonly previousKeks?: readonly KeyEncryptionKey[]
}

const SEAL_LABEL = 'yiqian/key-store/v1/sm4-gcm'

function wrappingKey(kek: KeyEncryptionKey, id: string): Uint8Array {
  return hmacSm3(kek.key, `${SEAL_LABEL}\u0000${id}`).slice(0, 16)
}

function associatedData(id: string, algorithm: KeyAlgorithm, kekId: string): string {
  return `keys.private_key:${id}:${algorithm}:${kekId}`
}

/** Seals PKCS#8 DER for the row `id`. */
export function sealPrivateKey(
  pkcs8: Uint8Array,
  kek: KeyEncryptionKey,
  key: { readonly id: string; readonly algorithm: KeyAlgorithm },
): Uint8Array {
  const wrap = wrappingKey(kek, key.id)
  try {
    return sealSm4Gcm(wrap, pkcs8, associatedData(key.id, key.algorithm, kek.id))
  } finally {
    wrap.fill(0)
  }
}

/** Opens what `sealPrivateKey` made; a wrong KEK, a moved or altered row gives KEY_UNREADABLE. */
export function openPrivateKey(
  sealed: Uint8Array,
  kek: KeyEncryptionKey,
  key: { readonly id: string; readonly algorithm: KeyAlgorithm },
): Uint8Array {
  const wrap = wrappingKey(kek, key.id)
  try {
    return openSm4Gcm(wrap, sealed, associatedData(key.id, key.algorithm, kek.id))
  } catch (error) {
    throw unreadable(key.id, `the sealed key does not open under ${kek.id}`, error)
  } finally {
    wrap.fill(0)
  }
}

function unreadable(id: string, reason: string, cause?: unknown): DomainError {
  return new DomainError(
    'KEY_UNREADABLE',
    `密钥无法解封 / key soft:${id} cannot be unsealed: ${reason}`,
    { uri: softKeyUri(id), reason },
    cause === undefined ? undefined : { cause },
  )
}

/** A decrypted private key, as the signing code needs it. */
type Unsealed =
  | { readonly kind: 'sm2'; readonly signer: Sm2Signer }
  | { readonly kind: 'node'; readonly key: NodeCrypto.KeyObject }

interface DecodedKey {
  readonly algorithm: KeyAlgorithm
  readonly publicKey: Uint8Array
  readonly unsealed: Unsealed
  /** Normalised PKCS#8 DER (the caller zeroises it). */
  readonly pkcs8: Uint8Array
}

/** Reads a PKCS#8 PrivateKeyInfo of one of the supported types; undefined for anything else. */
function decodePkcs8(pkcs8: Uint8Array): DecodedKey | undefined {
  try {
    const pair = sm2PrivateKeyFromPkcs8(pkcs8)
    try {
      return {
        algorithm: 'sm2',
        publicKey: sm2PublicKeyToSpki(pair.publicKey),
        unsealed: { kind: 'sm2', signer: createSm2Signer(pair.privateKey) },
        pkcs8: sm2PrivateKeyToPkcs8(pair.privateKey),
      }
    } finally {
      pair.privateKey.fill(0)
    }
  } catch {
    // Not SM2: let OpenSSL read it.
  }
  let key: NodeCrypto.KeyObject
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
  } catch {
    return undefined
  }
  const details = key.asymmetricKeyDetails
  const algorithm: KeyAlgorithm | undefined =
    key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
      ? 'ecdsa-p256'
      : key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048
        ? 'rsa-2048'
        : key.asymmetricKeyType === 'rsa' && details?.modulusLength === 3072
          ? 'rsa-3072'
          : undefined
  if (!algorithm) return undefined
  const exported = key.export({ type: 'pkcs8', format: 'der' })
  const normalised = new Uint8Array(exported)
  exported.fill(0)
  return {
    algorithm,
    publicKey: new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })),
    unsealed: { kind: 'node', key },
    pkcs8: normalised,
  }
}

async function generatePkcs8(algorithm: KeyAlgorithm): Promise<Uint8Array> {
  if (algorithm === 'sm2') {
    const pair = generateSm2KeyPair()
    try {
      return sm2PrivateKeyToPkcs8(pair.privateKey)
    } finally {
      pair.privateKey.fill(0)
    }
  }
  const exported = await new Promise<Buffer>((resolve, reject) => {
    const done = (error: Error | null, _publicKey: Buffer, privateKey: Buffer) =>
      error ? reject(error) : resolve(privateKey)
    const encoding = {
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    } as const
    if (algorithm === 'ecdsa-p256') generateKeyPair('ec', { namedCurve: 'prime256v1', ...encoding }, done)
    else generateKeyPair('rsa', { modulusLength: algorithm === 'rsa-2048' ? 2048 : 3072, ...encoding }, done)
  })
  const pkcs8 = new Uint8Array(exported)
  exported.fill(0)
  return pkcs8
}

function infoOf(key: StoredKey): KeyInfo {
  return {
    uri: softKeyUri(key.id),
    algorithm: key.algorithm,
    label: key.label,
    purpose: key.purpose,
    origin: key.origin,
    publicKey: key.publicKey.slice(),
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
  }
}

/** SM3 of the SubjectPublicKeyInfo, hex: how the audit trail names a key's public half. */
export function publicKeyFingerprint(spki: Uint8Array): string {
  return bytesToHex(sm3(spki))
}

function softIdOf(uri: string): string {
  const parsed = parseKeyUri(uri)
  if (parsed.scheme !== 'soft') {
    throw new DomainError('KEY_URI_INVALID', `the soft key store does not hold ${parsed.scheme}: keys`, {
      field: 'uri',
      uri,
    })
  }
  return parsed.id
}

function signerOf(
  algorithm: KeyAlgorithm,
  publicKey: Uint8Array,
  options: SignerOptions,
  load: () => Promise<Unsealed>,
): Signer {
  const signatureAlgorithm = signatureAlgorithmOf(algorithm, options)
  const spki = publicKey.slice()
  return {
    algorithm: signatureAlgorithm,
    publicKey: () => spki.slice(),
    async sign(data) {
      const unsealed = await load()
      if (unsealed.kind === 'sm2') return unsealed.signer.sign(data, { encoding: 'der' })
      const key = unsealed.key
      const input: NodeCrypto.SignKeyObjectInput =
        signatureAlgorithm === 'ECDSA-P256-SHA256'
          ? { key, dsaEncoding: 'der' }
          : signatureAlgorithm === 'RSA-PSS-SHA256'
            ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
            : { key, padding: constants.RSA_PKCS1_PADDING }
      return new Uint8Array(sign('sha256', data, input))
    },
  }
}

/**
 * The software key store over the `keys` table. Decrypted keys are held in memory only, as a node KeyObject
 * (ECDSA, RSA) or gm's SM2 signing context, after the PKCS#8 bytes they came from are zeroised.
 */
export function createSoftKeyStore(deps: SoftKeyStoreDeps): SoftKeyStore {
  const { uow, clock } = deps
  let current = deps.kek
  const keyring = new Map<string, KeyEncryptionKey>()
  for (const kek of [...(deps.previousKeks ?? []), deps.kek]) keyring.set(kek.id, kek)
  const cache = new Map<string, Unsealed>()

  function unseal(stored: StoredKey): Unsealed {
    const kek = keyring.get(stored.kekId)
    if (!kek) throw unreadable(stored.id, `it is sealed under ${stored.kekId}, which is not loaded`)
    const pkcs8 = openPrivateKey(stored.sealedPrivateKey, kek, stored)
    try {
      const decoded = decodePkcs8(pkcs8)
      try {
        if (!decoded || decoded.algorithm !== stored.algorithm)
          throw unreadable(stored.id, 'not a key of its algorithm')
        if (!equalBytes(decoded.publicKey, stored.publicKey)) {
          throw unreadable(stored.id, 'the private key does not match the stored public key')
        }
        return decoded.unsealed
      } finally {
        decoded?.pkcs8.fill(0)
      }
    } finally {
      pkcs8.fill(0)
    }
  }

  async function find(id: string): Promise<StoredKey> {
    const stored = await uow.run((tx) => tx.keys.find(id))
    if (!stored) throw new DomainError('KEY_NOT_FOUND', `key soft:${id} does not exist`, { uri: softKeyUri(id) })
    return stored
  }

  async function load(id: string): Promise<Unsealed> {
    const cached = cache.get(id)
    if (cached) return cached
    const stored = await find(id)
    if (stored.retiredAt) throw retired(id)
    const unsealed = unseal(stored)
    cache.set(id, unsealed)
    return unsealed
  }

  function retired(id: string): DomainError {
    return new DomainError('KEY_RETIRED', `key soft:${id} is retired`, { uri: softKeyUri(id) })
  }

  async function store(
    decoded: DecodedKey,
    meta: { label: string; purpose: KeyPurpose; origin: StoredKey['origin'] },
    actor: ActorContext,
  ): Promise<KeyInfo> {
    const id = `${meta.purpose}-${randomBytes(8).toString('hex')}`
    const now = clock.now()
    const kek = current
    const stored: StoredKey = {
      id,
      algorithm: decoded.algorithm,
      label: meta.label,
      purpose: meta.purpose,
      origin: meta.origin,
      publicKey: decoded.publicKey,
      sealedPrivateKey: sealPrivateKey(decoded.pkcs8, kek, { id, algorithm: decoded.algorithm }),
      kekId: kek.id,
      createdAt: now,
      sealedAt: now,
    }
    decoded.pkcs8.fill(0)
    await uow.run(async (tx) => {
      await tx.keys.insert(stored)
      await tx.audit.append({
        ...actor,
        type: meta.origin === 'generated' ? 'key.generated' : 'key.imported',
        subject: softKeyUri(id),
        data: {
          algorithm: stored.algorithm,
          purpose: stored.purpose,
          label: stored.label,
          publicKeySm3: publicKeyFingerprint(stored.publicKey),
          kekId: kek.id,
        },
        outcome: 'success',
      })
    })
    return infoOf(stored)
  }

  return {
    get currentKekId() {
      return current.id
    },

    async generate(spec: KeySpec, actor) {
      const algorithm = checkAlgorithm(spec?.algorithm)
      const label = checkLabel(spec.label)
      const purpose = checkPurpose(spec.purpose)
      const pkcs8 = await generatePkcs8(algorithm)
      const decoded = decodePkcs8(pkcs8)
      pkcs8.fill(0)
      if (!decoded) throw new Error(`a generated ${algorithm} key could not be read back`)
      return store(decoded, { label, purpose, origin: 'generated' }, actor)
    },

    async importPrivateKey(pkcs8: Uint8Array, meta: ImportKeyMeta, actor) {
      const label = checkLabel(meta?.label)
      const purpose = checkPurpose(meta.purpose)
      const expected = meta.algorithm === undefined ? undefined : checkAlgorithm(meta.algorithm)
      if (!(pkcs8 instanceof Uint8Array) || pkcs8.length === 0 || pkcs8.length > PKCS8_MAX_BYTES) {
        throw fieldInvalid('pkcs8', `the private key must be PKCS#8 DER of at most ${PKCS8_MAX_BYTES} bytes`)
      }
      const decoded = decodePkcs8(pkcs8)
      if (!decoded) {
        throw fieldInvalid(
          'pkcs8',
          `不是受支持的未加密 PKCS#8 私钥 / not an unencrypted PKCS#8 key of type ${KEY_ALGORITHMS.join(', ')}`,
        )
      }
      if (expected && decoded.algorithm !== expected) {
        decoded.pkcs8.fill(0)
        throw fieldInvalid('algorithm', `the key is ${decoded.algorithm}, not ${expected}`)
      }
      return store(decoded, { label, purpose, origin: 'imported' }, actor)
    },

    async publicKey(uri) {
      return (await find(softIdOf(uri))).publicKey.slice()
    },

    async info(uri) {
      return infoOf(await find(softIdOf(uri)))
    },

    async signer(uri, options = {}) {
      const id = softIdOf(uri)
      const stored = await find(id)
      if (stored.retiredAt) throw retired(id)
      if (options.rsaPadding === 'pss' && !stored.algorithm.startsWith('rsa')) {
        throw fieldInvalid('rsaPadding', `${stored.algorithm} keys have no RSA padding`)
      }
      if (!cache.has(id)) cache.set(id, unseal(stored))
      return signerOf(stored.algorithm, stored.publicKey, options, () => load(id))
    },

    async list() {
      return (await uow.run((tx) => tx.keys.list())).map(infoOf)
    },

    async retire(uri, actor) {
      const id = softIdOf(uri)
      const at = clock.now()
      const stored = await uow.run(async (tx) => {
        const found = await tx.keys.find(id)
        if (!found) throw new DomainError('KEY_NOT_FOUND', `key soft:${id} does not exist`, { uri })
        if (found.retiredAt || !(await tx.keys.retire(id, at))) throw retired(id)
        await tx.audit.append({
          ...actor,
          type: 'key.retired',
          subject: softKeyUri(id),
          data: {
            algorithm: found.algorithm,
            purpose: found.purpose,
            publicKeySm3: publicKeyFingerprint(found.publicKey),
          },
          outcome: 'success',
        })
        return { ...found, retiredAt: at }
      })
      cache.delete(id)
      return infoOf(stored)
    },

    async rotateKek(next, actor) {
      if (!next || !(next.key instanceof Uint8Array) || next.key.length !== 32) {
        throw fieldInvalid('kek', 'the new key-encryption key must be 32 bytes')
      }
      keyring.set(next.id, next)
      const result = await uow.run(async (tx) => {
        const pending = await tx.keys.listSealedOtherThan(next.id)
        const from = new Set<string>()
        const at = clock.now()
        for (const stored of pending) {
          const kek = keyring.get(stored.kekId)
          if (!kek) throw unreadable(stored.id, `it is sealed under ${stored.kekId}, which is not loaded`)
          const pkcs8 = openPrivateKey(stored.sealedPrivateKey, kek, stored)
          let sealed: Uint8Array
          try {
            const decoded = decodePkcs8(pkcs8)
            decoded?.pkcs8.fill(0)
            if (!decoded || !equalBytes(decoded.publicKey, stored.publicKey)) {
              throw unreadable(stored.id, 'the private key does not match the stored public key')
            }
            sealed = sealPrivateKey(pkcs8, next, stored)
          } finally {
            pkcs8.fill(0)
          }
          if (!(await tx.keys.reseal(stored.id, stored.kekId, sealed, next.id, at))) {
            throw new DomainError('VERSION_CONFLICT', `key soft:${stored.id} was re-sealed by someone else`, {
              uri: softKeyUri(stored.id),
            })
          }
          from.add(stored.kekId)
        }
        const rotation: KekRotation = { to: next.id, from: [...from].sort(), resealed: pending.length }
        await tx.audit.append({
          ...actor,
          type: 'key.kek-rotated',
          subject: next.id,
          data: { ...rotation },
          outcome: 'success',
        })
        return rotation
      })
      current = next
      return result
    },

    async checkReadable() {
      const all = await uow.run((tx) => tx.keys.list())
      const unreadableUris: string[] = []
      for (const stored of all) {
        try {
          unseal(stored)
        } catch (error) {
          if (error instanceof DomainError && error.code === 'KEY_UNREADABLE')
            unreadableUris.push(softKeyUri(stored.id))
          else throw error
        }
      }
      return { total: all.length, unreadable: unreadableUris }
    },

    async close() {
      // KeyObjects and SM2 contexts hold their secrets internally (OpenSSL memory, bigints) where JavaScript cannot
      // overwrite them; dropping the last reference is as far as zeroising reaches for them.
      cache.clear()
    },
  }
}
