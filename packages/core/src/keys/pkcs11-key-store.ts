import { createHash, createPublicKey, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Signer } from '@yiqian/gm'
import type * as Pkcs11js from 'pkcs11js'
import type { ActorContext } from '../access/principal.js'
import { type Clock, systemClock } from '../clock.js'
import { DomainError, isDomainError } from '../errors.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { checkAlgorithm, checkLabel, checkPurpose, fieldInvalid } from './key-checks.js'
import {
  KEY_ALGORITHMS,
  KEY_PURPOSES,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyPurpose,
  type KeySpec,
  type KeyStore,
  type SignerOptions,
  signatureAlgorithmOf,
} from './key-store.js'
import { formatKeyUri, parseKeyUri } from './key-uri.js'
import { publicKeyFingerprint } from './soft-key-store.js'

/** Where a PKCS#11 key store finds its HSM. */
export interface Pkcs11Config {
  /** The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly modulePath: string
  /** The label of the token keys are generated on and signed with. */
  readonly token: string
  /**
   * Where the user PIN is read from: a file readable by the server only (a path, or a `file:` URI as RFC 7512's
   * `pin-source`), holding the PIN on its first line. Never the PIN itself.
   */
  readonly pinSource: string
}

/** What every operation answers when no HSM is configured. */
export const PKCS11_NOT_CONFIGURED =
  '未配置 HSM（PKCS#11），无法使用 pkcs11: 密钥 / no HSM (PKCS#11) is configured, so pkcs11: keys cannot be used'

export interface Pkcs11KeyStoreDeps extends Pkcs11Config {
  /** When given, `generate` and `retire` are audited in it (`key.generated`, `key.retired`) and fail closed. */
  readonly uow?: UnitOfWork | undefined
  readonly clock?: Clock | undefined
}

/** What this store writes into CKA_SUBJECT of the private keys it makes (see docs/en/hsm.md). */
interface KeyMetadata {
  readonly yiqian: 1
  readonly label: string
  readonly purpose: KeyPurpose
  readonly algorithm: KeyAlgorithm
  readonly createdAt: string
  readonly retiredAt?: string | undefined
}

type Pkcs11Module = typeof Pkcs11js
type Handle = Pkcs11js.Handle

/**
 * One loaded PKCS#11 library per path and process: C_Initialize and C_Login are process-wide in PKCS#11, so two stores
 * over the same module (or the same token) share them and the last one to close finalises / logs out.
 */
interface LoadedModule {
  readonly lib: Pkcs11Module
  readonly pkcs11: Pkcs11js.PKCS11
  /** False when someone else in this process had already initialised the library: then we never finalise it. */
  readonly owned: boolean
  users: number
  /** Per slot: how many stores use the login, and a hash of the PIN it was made with. */
  readonly logins: Map<string, { count: number; readonly pinHash: string }>
}

const loadedModules = new Map<string, LoadedModule>()

interface Connection {
  readonly module: LoadedModule
  readonly modulePath: string
  readonly slotKey: string
  readonly session: Handle
}

/** A private key found on the token, with what this store needs to use it. */
interface FoundKey {
  readonly handle: Handle
  readonly objectLabel: string
  readonly id: Buffer
  readonly algorithm: KeyAlgorithm
  readonly publicKey: Uint8Array
  readonly canSign: boolean
  /** Undefined for a key this store did not make (one made with the HSM vendor's tools). */
  readonly metadata: KeyMetadata | undefined
}

const P256_OID_DER = Buffer.from('06082a8648ce3d030107', 'hex')
const OBJECT_LABEL = new RegExp(`^(${KEY_PURPOSES.join('|')})-`)

// PKCS#11 return values after which the session (or the whole library) is gone: the next call opens a new one.
const CONNECTION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
])

function ckrOf(error: unknown): string | undefined {
  if (error instanceof Error && error.name === 'Pkcs11Error' && /^CKR_[A-Z0-9_]+$/.test(error.message)) {
    return error.message
  }
  return undefined
}

function unavailable(operation: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
  return new DomainError(
    'KEY_STORE_UNAVAILABLE',
    message,
    { store: 'pkcs11', operation, ...details },
    cause === undefined ? undefined : { cause },
  )
}

/** Any failure of the library as a DomainError that says what went wrong and never carries a native stack. */
function hsmError(operation: string, error: unknown): DomainError {
  if (isDomainError(error)) return error
  const ckr = ckrOf(error)
  if (ckr === 'CKR_PIN_INCORRECT' || ckr === 'CKR_PIN_LEN_RANGE' || ckr === 'CKR_PIN_INVALID') {
    return unavailable(
      operation,
      `HSM 拒绝了用户 PIN，请检查 PIN 文件 / the HSM refused the user PIN (${ckr}): check the PIN file`,
      { ckr },
    )
  }
  if (ckr === 'CKR_PIN_LOCKED' || ckr === 'CKR_PIN_EXPIRED') {
    return unavailable(
      operation,
      `HSM 用户 PIN 已锁定或过期，请由安全管理员处理 / the HSM user PIN is locked or expired (${ckr}): the token's security officer must reset it`,
      { ckr },
    )
  }
  if (ckr) {
    return unavailable(operation, `HSM 操作失败 / the HSM failed at ${operation} (${ckr})`, { ckr }, error)
  }
  return unavailable(operation, `PKCS#11 模块不可用 / the PKCS#11 module failed at ${operation}`, {}, error)
}

type HsmAlgorithm = Exclude<KeyAlgorithm, 'sm2'>

function checkHsmAlgorithm(algorithm: unknown): HsmAlgorithm {
  if (algorithm === 'sm2') {
    throw fieldInvalid(
      'algorithm',
      'HSM 密钥存储不支持 SM2（PKCS#11 没有标准的 SM2 机制）/ the PKCS#11 key store makes ecdsa-p256, rsa-2048 and rsa-3072 keys; SM2 has no standard PKCS#11 mechanism',
    )
  }
  return checkAlgorithm(algorithm) as HsmAlgorithm
}

/** Reads the PIN: the first line of the file, without its line ending. */
async function readPin(pinSource: string): Promise<string> {
  const path = pinSource.startsWith('file:') ? fileURLToPath(pinSource) : pinSource
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw unavailable(
      'login',
      `无法读取 HSM 的 PIN 文件 / the HSM PIN file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { pinSource: path },
    )
  }
  const pin = text.split(/\r?\n/, 1)[0] ?? ''
  if (pin.length === 0) {
    throw unavailable('login', `HSM 的 PIN 文件为空 / the HSM PIN file ${path} is empty`, { pinSource: path })
  }
  return pin
}

function acquireModule(modulePath: string): LoadedModule {
  const loaded = loadedModules.get(modulePath)
  if (loaded) {
    loaded.users++
    return loaded
  }
  let lib: Pkcs11Module
  try {
    // Loaded on first use: a server without an HSM never loads the native addon.
    lib = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module
  } catch (error) {
    throw unavailable(
      'load',
      'PKCS#11 绑定（pkcs11js）无法加载 / the PKCS#11 binding (pkcs11js) cannot be loaded',
      {},
      error,
    )
  }
  const pkcs11 = new lib.PKCS11()
  try {
    pkcs11.load(modulePath)
  } catch (error) {
    throw unavailable(
      'load',
      `无法加载 PKCS#11 模块 / the PKCS#11 module ${modulePath} cannot be loaded`,
      { modulePath },
      error,
    )
  }
  let owned = true
  try {
    pkcs11.C_Initialize()
  } catch (error) {
    if (ckrOf(error) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') owned = false
    else {
      try {
        pkcs11.close()
      } catch {
        // Already failing; the first error is the one to report.
      }
      throw hsmError('initialize', error)
    }
  }
  const module: LoadedModule = { lib, pkcs11, owned, users: 1, logins: new Map() }
  loadedModules.set(modulePath, module)
  return module
}

function releaseModule(modulePath: string, module: LoadedModule): void {
  module.users--
  if (module.users > 0) return
  loadedModules.delete(modulePath)
  try {
    if (module.owned) module.pkcs11.C_Finalize()
  } catch {
    // Finalising a library that lost its device fails; there is nothing left to release.
  }
  try {
    module.pkcs11.close()
  } catch {
    // As above.
  }
}

function findTokenSlot(module: LoadedModule, token: string): Handle {
  const { pkcs11 } = module
  for (const slot of pkcs11.C_GetSlotList(true)) {
    if (pkcs11.C_GetTokenInfo(slot).label.trimEnd() === token) return slot
  }
  throw unavailable('connect', `HSM 中没有名为 ${token} 的令牌 / the HSM has no token labelled ${token}`, { token })
}

/** The DER ECDSA-Sig-Value of a PKCS#11 raw r‖s signature. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error('an ECDSA r‖s signature has an even length')
  const integer = (bytes: Uint8Array): number[] => {
    let start = 0
    while (start < bytes.length - 1 && bytes[start] === 0) start++
    const body = [...bytes.subarray(start)]
    if ((body[0] ?? 0) & 0x80) body.unshift(0)
    return [0x02, body.length, ...body]
  }
  const half = raw.length / 2
  const content = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))]
  const length = content.length < 0x80 ? [content.length] : [0x81, content.length]
  return Uint8Array.from([0x30, ...length, ...content])
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); some tokens return the bare point. */
function uncompressedPoint(ecPoint: Buffer): Buffer {
  if (ecPoint.length === 67 && ecPoint[0] === 0x04 && ecPoint[1] === 0x41) return ecPoint.subarray(2)
  if (ecPoint.length === 65 && ecPoint[0] === 0x04) return ecPoint
  throw new Error('CKA_EC_POINT is not an uncompressed P-256 point')
}

function spkiOfEc(ecPoint: Buffer): Uint8Array {
  const point = uncompressedPoint(ecPoint)
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33, 65).toString('base64url'),
  }
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }))
}

function spkiOfRsa(modulus: Buffer, exponent: Buffer): Uint8Array {
  const trim = (b: Buffer) => {
    let i = 0
    while (i < b.length - 1 && b[i] === 0) i++
    return b.subarray(i)
  }
  const jwk = { kty: 'RSA', n: trim(modulus).toString('base64url'), e: trim(exponent).toString('base64url') }
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }))
}

function ulong(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0)
}

function parseMetadata(subject: Buffer | undefined): KeyMetadata | undefined {
  if (!subject || subject.length === 0 || subject[0] !== 0x7b) return undefined
  try {
    const parsed = JSON.parse(subject.toString('utf8')) as Partial<KeyMetadata>
    if (
      parsed.yiqian !== 1 ||
      typeof parsed.label !== 'string' ||
      !KEY_PURPOSES.includes(parsed.purpose as KeyPurpose) ||
      !KEY_ALGORITHMS.includes(parsed.algorithm as KeyAlgorithm) ||
      typeof parsed.createdAt !== 'string'
    ) {
      return undefined
    }
    return parsed as KeyMetadata
  } catch {
    return undefined
  }
}

function notFound(uri: string, reason: string): DomainError {
  return new DomainError('KEY_NOT_FOUND', `密钥不存在 / key ${uri} does not exist: ${reason}`, { uri, store: 'pkcs11' })
}

/**
 * A KeyStore over a PKCS#11 token (an HSM; SoftHSM2 in tests). Keys are generated inside the token, sensitive and
 * not extractable; signing happens in the token. The token is the record: a key's label, purpose and times live in
 * its private key's CKA_SUBJECT (JSON, see docs/en/hsm.md), nothing about it is written to the database except the
 * audit trail. One session per store, used by one operation at a time (PKCS#11 sessions are not safe for concurrent
 * operations).
 */
export function createPkcs11KeyStore(deps?: Pkcs11KeyStoreDeps): KeyStore {
  if (!deps) {
    // No HSM configured: keep the KeyStore shape and say so on every call.
    const none = async (operation: string): Promise<never> => {
      throw unavailable(operation, PKCS11_NOT_CONFIGURED)
    }
    return {
      generate: () => none('generate'),
      importPrivateKey: () => none('importPrivateKey'),
      publicKey: () => none('publicKey'),
      info: () => none('info'),
      signer: () => none('signer'),
      list: () => none('list'),
      retire: () => none('retire'),
      close: async () => {},
    }
  }
  const config = deps
  if (!config.modulePath || !config.token || !config.pinSource) {
    throw unavailable(
      'configure',
      'PKCS#11 配置不完整 / the PKCS#11 configuration needs modulePath, token and pinSource',
    )
  }
  const clock = deps.clock ?? systemClock
  const uow = deps.uow

  let connection: Connection | undefined
  /** The SHA-256 of a PIN the token refused: never offered again, so a wrong PIN file cannot lock the token. */
  let refusedPin: string | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false
  const handles = new Map<string, Handle>()

  async function connect(): Promise<Connection> {
    if (connection) return connection
    const pin = await readPin(config.pinSource)
    const pinHash = createHash('sha256').update(pin).digest('hex')
    if (pinHash === refusedPin) {
      throw unavailable(
        'login',
        'HSM 已拒绝此 PIN，修改 PIN 文件前不再重试 / the HSM refused this PIN before (CKR_PIN_INCORRECT); it is not offered again until the PIN file changes',
        { ckr: 'CKR_PIN_INCORRECT' },
      )
    }
    const module = acquireModule(config.modulePath)
    const { lib, pkcs11 } = module
    let session: Handle | undefined
    try {
      const slot = findTokenSlot(module, config.token)
      const slotKey = slot.toString('hex')
      session = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION)
      const login = module.logins.get(slotKey)
      // The process is logged in already (the token would only answer CKR_USER_ALREADY_LOGGED_IN, without checking
      // the PIN): a store with another PIN must not ride on that login.
      if (login && login.pinHash !== pinHash) {
        throw unavailable(
          'login',
          'PIN 与本进程已登录所用的不同 / this store’s PIN differs from the one the process is logged in to the token with',
          { ckr: 'CKR_PIN_INCORRECT' },
        )
      }
      try {
        pkcs11.C_Login(session, lib.CKU_USER, pin)
      } catch (error) {
        const ckr = ckrOf(error)
        if (ckr === 'CKR_PIN_INCORRECT') refusedPin = pinHash
        if (ckr !== 'CKR_USER_ALREADY_LOGGED_IN') throw error
      }
      if (login) login.count++
      else module.logins.set(slotKey, { count: 1, pinHash })
      connection = { module, modulePath: config.modulePath, slotKey, session }
      return connection
    } catch (error) {
      if (session) {
        try {
          pkcs11.C_CloseSession(session)
        } catch {
          // The error below says what went wrong.
        }
      }
      releaseModule(config.modulePath, module)
      throw hsmError('login', error)
    }
  }

  function disconnect(): void {
    const c = connection
    if (!c) return
    connection = undefined
    handles.clear()
    const { pkcs11 } = c.module
    const login = c.module.logins.get(c.slotKey)
    if (login && login.count > 1) login.count--
    else {
      c.module.logins.delete(c.slotKey)
      try {
        pkcs11.C_Logout(c.session)
      } catch {
        // Closing the session ends the login too.
      }
    }
    try {
      pkcs11.C_CloseSession(c.session)
    } catch {
      // A session that is already gone.
    }
    releaseModule(c.modulePath, c.module)
  }

  /** Runs `fn` on the session when no other operation is using it; library failures become DomainErrors. */
  function exclusive<T>(operation: string, fn: (c: Connection) => Promise<T> | T): Promise<T> {
    // Checked when the operation is asked for: what was queued before `close` still runs.
    if (closed)
      return Promise.reject(unavailable(operation, 'PKCS#11 密钥存储已关闭 / the PKCS#11 key store is closed'))
    const run = queue.then(async () => {
      const c = await connect()
      try {
        return await fn(c)
      } catch (error) {
        const ckr = ckrOf(error)
        if (ckr && CONNECTION_LOST.has(ckr)) disconnect()
        throw hsmError(operation, error)
      }
    })
    queue = run.catch(() => undefined)
    return run
  }

  function findObjects(c: Connection, template: Pkcs11js.Template): Handle[] {
    const { pkcs11 } = c.module
    pkcs11.C_FindObjectsInit(c.session, template)
    try {
      const found: Handle[] = []
      for (;;) {
        const batch = pkcs11.C_FindObjects(c.session, 64)
        if (batch.length === 0) return found
        found.push(...batch)
      }
    } finally {
      pkcs11.C_FindObjectsFinal(c.session)
    }
  }

  function attribute(c: Connection, handle: Handle, type: number): Buffer {
    const [result] = c.module.pkcs11.C_GetAttributeValue(c.session, handle, [{ type }])
    return result?.value ?? Buffer.alloc(0)
  }

  /** The public key (SPKI) and algorithm of a private key, from the public key object with the same CKA_ID. */
  function publicKeyOf(c: Connection, keyType: number, id: Buffer, uri: string) {
    const { lib } = c.module
    const publicHandles = findObjects(c, [
      { type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY },
      { type: lib.CKA_ID, value: id },
    ])
    const publicHandle = publicHandles[0]
    if (!publicHandle) throw notFound(uri, 'its public key object (same CKA_ID) is not on the token')
    if (keyType === lib.CKK_EC) {
      const params = attribute(c, publicHandle, lib.CKA_EC_PARAMS)
      if (!params.equals(P256_OID_DER)) throw unsupported(uri, 'an EC key on a curve other than P-256')
      return { algorithm: 'ecdsa-p256' as const, publicKey: spkiOfEc(attribute(c, publicHandle, lib.CKA_EC_POINT)) }
    }
    if (keyType === lib.CKK_RSA) {
      const modulus = attribute(c, publicHandle, lib.CKA_MODULUS)
      const bits = spkiOfRsa(modulus, attribute(c, publicHandle, lib.CKA_PUBLIC_EXPONENT))
      const size = createPublicKey({ key: Buffer.from(bits), format: 'der', type: 'spki' }).asymmetricKeyDetails
        ?.modulusLength
      const algorithm = size === 2048 ? 'rsa-2048' : size === 3072 ? 'rsa-3072' : undefined
      if (!algorithm) throw unsupported(uri, `an RSA key of ${size} bits`)
      return { algorithm, publicKey: bits } as const
    }
    throw unsupported(uri, `a key of PKCS#11 type ${keyType}`)
  }

  function unsupported(uri: string, what: string): DomainError {
    return new DomainError(
      'KEY_UNREADABLE',
      `密钥类型不受支持 / key ${uri} is ${what}; this store signs with ecdsa-p256, rsa-2048 and rsa-3072 keys`,
      { uri, store: 'pkcs11' },
    )
  }

  function objectLabelOf(uri: string): string {
    const parsed = parseKeyUri(uri)
    if (parsed.scheme !== 'pkcs11') {
      throw new DomainError('KEY_URI_INVALID', `the PKCS#11 key store does not hold ${parsed.scheme}: keys`, {
        field: 'uri',
        uri,
      })
    }
    if (parsed.token !== config.token) {
      throw notFound(uri, `this store uses token ${config.token}, not ${parsed.token}`)
    }
    return parsed.object
  }

  /** The private key's handle, cached: object handles stay valid across the sessions of this process. */
  function privateHandleOf(c: Connection, uri: string, objectLabel: string): Handle {
    const cached = handles.get(objectLabel)
    if (cached) return cached
    const { lib } = c.module
    const found = findObjects(c, [
      { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_LABEL, value: objectLabel },
    ])
    if (found.length === 0) throw notFound(uri, 'the token has no private key with this label')
    if (found.length > 1) throw notFound(uri, 'the token has more than one private key with this label')
    const handle = found[0] as Handle
    handles.set(objectLabel, handle)
    return handle
  }

  function findKey(c: Connection, uri: string): FoundKey {
    const objectLabel = objectLabelOf(uri)
    const { lib } = c.module
    const handle = privateHandleOf(c, uri, objectLabel)
    const [keyType, id, sign] = c.module.pkcs11.C_GetAttributeValue(c.session, handle, [
      { type: lib.CKA_KEY_TYPE },
      { type: lib.CKA_ID },
      { type: lib.CKA_SIGN },
    ])
    const metadata = parseMetadata(attribute(c, handle, lib.CKA_SUBJECT))
    const { algorithm, publicKey } = publicKeyOf(
      c,
      ulong(keyType?.value ?? Buffer.alloc(8)),
      id?.value ?? Buffer.alloc(0),
      uri,
    )
    return {
      handle,
      objectLabel,
      id: id?.value ?? Buffer.alloc(0),
      algorithm,
      publicKey,
      canSign: (sign?.value[0] ?? 0) !== 0,
      metadata,
    }
  }

  function uriOf(objectLabel: string): string {
    return formatKeyUri({
      scheme: 'pkcs11',
      token: config.token,
      object: objectLabel,
      path: { token: config.token, object: objectLabel },
      query: {},
    })
  }

  function infoOf(uri: string, key: FoundKey): KeyInfo {
    if (key.metadata) {
      return {
        uri,
        algorithm: key.algorithm,
        label: key.metadata.label,
        purpose: key.metadata.purpose,
        origin: 'generated',
        publicKey: key.publicKey.slice(),
        createdAt: new Date(key.metadata.createdAt),
        retiredAt: key.metadata.retiredAt ? new Date(key.metadata.retiredAt) : undefined,
      }
    }
    // A key made with the vendor's tools: its purpose comes from its label, `<purpose>-…`.
    const purpose = OBJECT_LABEL.exec(key.objectLabel)?.[1] as KeyPurpose | undefined
    if (!purpose) {
      throw fieldInvalid(
        'uri',
        `HSM 中的外来密钥须以用途开头命名 / key ${uri} was not made by Yiqian; label it "<purpose>-…" (${KEY_PURPOSES.join(', ')}) to use it`,
      )
    }
    return {
      uri,
      algorithm: key.algorithm,
      label: key.objectLabel,
      purpose,
      origin: 'imported',
      publicKey: key.publicKey.slice(),
      createdAt: new Date(0),
      retiredAt: key.canSign ? undefined : new Date(0),
    }
  }

  function retiredError(uri: string): DomainError {
    return new DomainError('KEY_RETIRED', `密钥已停用 / key ${uri} is retired`, { uri })
  }

  function isRetired(key: FoundKey): boolean {
    return !key.canSign || key.metadata?.retiredAt !== undefined
  }

  async function signWith(
    uri: string,
    algorithm: ReturnType<typeof signatureAlgorithmOf>,
    data: Uint8Array,
  ): Promise<Uint8Array> {
    return exclusive('sign', async (c) => {
      const objectLabel = objectLabelOf(uri)
      // Only the handle: a retired key has CKA_SIGN false, and the token itself refuses it (below).
      const handle = privateHandleOf(c, uri, objectLabel)
      const { lib, pkcs11 } = c.module
      const init = (mechanism: Pkcs11js.Mechanism) => {
        try {
          pkcs11.C_SignInit(c.session, mechanism, handle)
        } catch (error) {
          handles.delete(objectLabel)
          const ckr = ckrOf(error)
          if (ckr === 'CKR_KEY_FUNCTION_NOT_PERMITTED') throw retiredError(uri)
          if (ckr === 'CKR_KEY_HANDLE_INVALID' || ckr === 'CKR_OBJECT_HANDLE_INVALID') {
            throw notFound(uri, 'the private key is no longer on the token')
          }
          throw error
        }
      }
      if (algorithm === 'ECDSA-P256-SHA256') {
        const digest = createHash('sha256').update(data).digest()
        init({ mechanism: lib.CKM_ECDSA })
        return new Uint8Array(ecdsaRawToDer(await pkcs11.C_SignAsync(c.session, digest, Buffer.alloc(64))))
      }
      const pss: Pkcs11js.RsaPSS = {
        type: lib.CK_PARAMS_RSA_PSS,
        hashAlg: lib.CKM_SHA256,
        mgf: lib.CKG_MGF1_SHA256,
        saltLen: 32,
      }
      const mechanism: Pkcs11js.Mechanism =
        algorithm === 'RSA-PSS-SHA256'
          ? { mechanism: lib.CKM_SHA256_RSA_PKCS_PSS, parameter: pss }
          : { mechanism: lib.CKM_SHA256_RSA_PKCS }
      init(mechanism)
      return new Uint8Array(await pkcs11.C_SignAsync(c.session, Buffer.from(data), Buffer.alloc(512)))
    })
  }

  return {
    async generate(spec: KeySpec, actor: ActorContext) {
      const algorithm = checkHsmAlgorithm(spec?.algorithm)
      const label = checkLabel(spec.label)
      const purpose = checkPurpose(spec.purpose)
      const id = randomBytes(16)
      const objectLabel = `${purpose}-${id.toString('hex')}`
      const uri = uriOf(objectLabel)
      const metadata: KeyMetadata = { yiqian: 1, label, purpose, algorithm, createdAt: clock.now().toISOString() }
      const made = await exclusive('generate', async (c) => {
        const { lib, pkcs11 } = c.module
        const common = [
          { type: lib.CKA_TOKEN, value: true },
          { type: lib.CKA_LABEL, value: objectLabel },
          { type: lib.CKA_ID, value: id },
        ]
        const publicTemplate: Pkcs11js.Template = [
          ...common,
          { type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY },
          { type: lib.CKA_PRIVATE, value: false },
          { type: lib.CKA_VERIFY, value: true },
          ...(algorithm === 'ecdsa-p256'
            ? [{ type: lib.CKA_EC_PARAMS, value: P256_OID_DER }]
            : [
                { type: lib.CKA_MODULUS_BITS, value: algorithm === 'rsa-2048' ? 2048 : 3072 },
                { type: lib.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
              ]),
        ]
        const privateTemplate: Pkcs11js.Template = [
          ...common,
          { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
          { type: lib.CKA_PRIVATE, value: true },
          { type: lib.CKA_SENSITIVE, value: true },
          { type: lib.CKA_EXTRACTABLE, value: false },
          { type: lib.CKA_SIGN, value: true },
          { type: lib.CKA_DECRYPT, value: false },
          { type: lib.CKA_SUBJECT, value: Buffer.from(JSON.stringify(metadata), 'utf8') },
        ]
        const pair = await pkcs11.C_GenerateKeyPairAsync(
          c.session,
          { mechanism: algorithm === 'ecdsa-p256' ? lib.CKM_EC_KEY_PAIR_GEN : lib.CKM_RSA_PKCS_KEY_PAIR_GEN },
          publicTemplate,
          privateTemplate,
        )
        try {
          return { pair, key: findKey(c, uri) }
        } catch (error) {
          destroy(c, pair)
          throw error
        }
      })
      const info = infoOf(uri, made.key)
      if (uow) {
        try {
          await uow.run((tx) =>
            tx.audit.append({
              ...actor,
              type: 'key.generated',
              subject: uri,
              data: {
                algorithm,
                purpose,
                label,
                publicKeySm3: publicKeyFingerprint(info.publicKey),
                store: 'pkcs11',
                token: config.token,
              },
              outcome: 'success',
            }),
          )
        } catch (error) {
          // Fail closed: a key whose making is not in the audit trail must not exist.
          await exclusive('generate', (c) => destroy(c, made.pair)).catch(() => undefined)
          throw error
        }
      }
      return info
    },

    async importPrivateKey() {
      throw fieldInvalid(
        'pkcs8',
        'HSM 中的密钥须在 HSM 内生成，导入请使用 HSM 厂商工具 / keys in the HSM are generated inside it; import a key with the HSM vendor’s tools and label it "<purpose>-…"',
      )
    },

    publicKey: (uri) => exclusive('publicKey', (c) => findKey(c, uri).publicKey.slice()),

    info: (uri) => exclusive('info', (c) => infoOf(uri, findKey(c, uri))),

    async signer(uri: string, options: SignerOptions = {}): Promise<Signer> {
      const key = await exclusive('signer', (c) => findKey(c, uri))
      if (isRetired(key)) throw retiredError(uri)
      if (options.rsaPadding === 'pss' && !key.algorithm.startsWith('rsa')) {
        throw fieldInvalid('rsaPadding', `${key.algorithm} keys have no RSA padding`)
      }
      const algorithm = signatureAlgorithmOf(key.algorithm, options)
      const spki = key.publicKey.slice()
      return {
        algorithm,
        publicKey: () => spki.slice(),
        sign: (data) => signWith(uri, algorithm, data),
      }
    },

    list: () =>
      exclusive('list', (c) => {
        const { lib } = c.module
        const all = findObjects(c, [
          { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
          { type: lib.CKA_TOKEN, value: true },
        ])
        const infos: KeyInfo[] = []
        for (const handle of all) {
          if (!parseMetadata(attribute(c, handle, lib.CKA_SUBJECT))) continue
          const uri = uriOf(attribute(c, handle, lib.CKA_LABEL).toString('utf8'))
          infos.push(infoOf(uri, findKey(c, uri)))
        }
        return infos.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      }),

    async retire(uri, actor) {
      const at = clock.now()
      const retire = () =>
        exclusive('retire', (c) => {
          const key = findKey(c, uri)
          if (!key.metadata) {
            throw fieldInvalid('uri', `key ${uri} was not made by Yiqian; retire it with the HSM vendor's tools`)
          }
          if (isRetired(key)) throw retiredError(uri)
          const { lib, pkcs11 } = c.module
          const metadata: KeyMetadata = { ...key.metadata, retiredAt: at.toISOString() }
          // CKA_SIGN false makes the token itself refuse; CKA_END_DATE is the standard marker vendor tools show.
          pkcs11.C_SetAttributeValue(c.session, key.handle, [
            { type: lib.CKA_SUBJECT, value: Buffer.from(JSON.stringify(metadata), 'utf8') },
            { type: lib.CKA_SIGN, value: false },
            { type: lib.CKA_END_DATE, value: at },
          ])
          handles.delete(key.objectLabel)
          return { ...infoOf(uri, key), retiredAt: at }
        })
      if (!uow) return retire()
      const found = await exclusive('retire', (c) => findKey(c, uri))
      if (isRetired(found)) throw retiredError(uri)
      // The audit row first, the token change inside the same unit of work: if the token refuses, no row is kept.
      return uow.run(async (tx) => {
        await tx.audit.append({
          ...actor,
          type: 'key.retired',
          subject: uri,
          data: {
            algorithm: found.algorithm,
            purpose: found.metadata?.purpose,
            publicKeySm3: publicKeyFingerprint(found.publicKey),
            store: 'pkcs11',
          },
          outcome: 'success',
        })
        return retire()
      })
    },

    async close() {
      const last = queue
      closed = true
      await last
      disconnect()
    },
  }

  function destroy(c: Connection, pair: Pkcs11js.KeyPair): void {
    for (const handle of [pair.privateKey, pair.publicKey]) {
      try {
        c.module.pkcs11.C_DestroyObject(c.session, handle)
      } catch {
        // Best effort: the caller reports the first failure.
      }
    }
  }
}
