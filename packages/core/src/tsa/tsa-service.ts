/**
 * The timestamp authority (RFC 3161 / RFC 5816): answers TimeStampReqs with tokens signed by a TSA unit at the
 * trusted time, records every token with group commit, and is managed through units, time sources, settings and
 * start/stop — each change audited in its own unit of work. It fails closed: without trusted time, when stopped or
 * without a unit, requests get a rejection (timeNotAvailable / systemFailure), never a token at an unsure time.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Signer } from '@yiqian/gm'
import {
  buildTimeStampResp,
  createTimeStampSigner,
  type FailureInfo,
  type ParsedTimeStampRequest,
  parseCertificate,
  parseTimeStampResp,
  readTimeStampReq,
  readTimeStampToken,
  TIME_STAMP_HASHES,
  type TimeStampHash,
  type TimeStampSigner,
  timeStampDigest,
  verifyTimeStampToken,
} from '@yiqian/pki'
import type { ActorContext } from '../access/principal.js'
import type { CaService } from '../ca/ca-service.js'
import type { Clock } from '../clock.js'
import { DomainError, isDomainError } from '../errors.js'
import type { KeyStore } from '../keys/key-store.js'
import type { TimeSyncStatus, TrustedTime } from '../time/trusted-time.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  TSA_ALGORITHMS,
  TSA_LIMITS,
  type TsaAlgorithm,
  type TsaSettings,
  type TsaState,
  type TsaTimeSource,
  type TsaTokenRecord,
  type TsaUnit,
  type TsaUnitKey,
} from './time-stamp-authority.js'
import { createTokenRecorder, type TokenRecorderOptions } from './token-recorder.js'

export interface TsaRequester {
  /** The client's IP address. */
  readonly ip: string
  /** The client system, when the request was authenticated as one. */
  readonly clientSystemId?: string | undefined
}

/** An event of the time synchroniser, written to the audit trail (`synchronised` ones sampled). */
export interface TimeSyncEvent {
  readonly kind: 'synchronised' | 'state-changed' | 'large-step'
  readonly at?: Date | undefined
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

export interface TsaUnitView {
  readonly id: string
  readonly name: string
  readonly algorithm: TsaAlgorithm
  readonly caId: string
  readonly policy: string | undefined
  readonly isDefault: boolean
  readonly subject: string
  readonly certificateSerial: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly keyUri: string
  readonly createdAt: Date
  /** Earlier certificates of the unit, kept to verify what they signed. */
  readonly retiredCertificates: readonly { readonly serial: string; readonly retiredAt: Date }[]
}

export interface TsaStatus {
  readonly state: TsaState
  /** Whether a request now would get a token. */
  readonly issuing: boolean
  /** Why not, when not. */
  readonly problem?: string | undefined
  readonly stateReason?: string | undefined
  readonly time: TimeSyncStatus | undefined
  readonly issuedTotal: number
  readonly issuedLastMinute: number
  readonly ratePerSecond: number
  readonly units: readonly TsaUnitView[]
}

export interface CreateTsaUnitInput {
  readonly name: string
  readonly algorithm?: TsaAlgorithm | undefined
  readonly caId?: string | undefined
  readonly policy?: string | undefined
}

export interface TsaSettingsInput {
  readonly policies: readonly string[]
  readonly defaultPolicy: string
  readonly toleranceMs: number
  readonly holdoverSeconds: number
  readonly pollIntervalSeconds: number
  readonly version: number
}

export interface TsaVerifyInput {
  /** A TimeStampToken or a TimeStampResp, DER. */
  readonly token: Uint8Array
  readonly data?: Uint8Array | undefined
  readonly imprint?: Uint8Array | undefined
  readonly hashAlgorithm?: TimeStampHash | undefined
}

export interface TsaVerifyResult {
  readonly valid: boolean
  readonly checks: readonly { readonly name: string; readonly status: string; readonly reason: string }[]
  readonly tstInfo?: {
    readonly serial: string
    readonly genTime: Date
    readonly policy: string
    readonly hashAlgorithm: TimeStampHash
    readonly imprint: string
    readonly nonce?: string | undefined
    readonly accuracyMs?: number | undefined
  }
  readonly tsa?: { readonly subject: string; readonly serial: string }
}

export interface TimeStampAuthorityDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  /** Absent: no units can be created (CA_UNAVAILABLE); existing units still need it to sign. */
  readonly keyStore?: KeyStore | undefined
  readonly ca?: Pick<CaService, 'signerFor' | 'issueWithin' | 'list'> | undefined
  /** Absent: the TSA fails closed, every request gets timeNotAvailable. */
  readonly trustedTime?: TrustedTime | undefined
  /** Called after a change of the time sources, with the whole list (the synchroniser's port). */
  readonly onSourcesChanged?: ((sources: readonly TsaTimeSource[]) => void) | undefined
  /** Called after the settings changed (tolerance, hold-over, poll interval for the synchroniser). */
  readonly onSettingsChanged?: ((settings: TsaSettings) => void) | undefined
  /** Unexpected failures while answering (answered with systemFailure); for the log. */
  readonly onError?: ((error: unknown) => void) | undefined
  readonly recorder?: TokenRecorderOptions | undefined
  /** How long the settings and units read for answering are reused, ms (other instances' changes show after it). */
  readonly snapshotTtlMs?: number | undefined
}

export interface TimeStampAuthority {
  /** Answers a TimeStampReq (DER) with a TimeStampResp (DER). Never throws. */
  respond(request: Uint8Array, requester: TsaRequester): Promise<Uint8Array>
  status(): Promise<TsaStatus>
  start(actor: ActorContext): Promise<TsaStatus>
  stop(reason: string, actor: ActorContext): Promise<TsaStatus>
  listUnits(): Promise<TsaUnitView[]>
  createUnit(input: CreateTsaUnitInput, actor: ActorContext): Promise<TsaUnitView>
  rolloverUnit(id: string, actor: ActorContext): Promise<TsaUnitView>
  setDefaultUnit(id: string, actor: ActorContext): Promise<TsaUnitView>
  /** Creates one SM2 unit when there is none (for init/serve); returns the default unit. */
  ensureDefaultUnit(actor: ActorContext): Promise<TsaUnitView>
  listSources(): Promise<TsaTimeSource[]>
  addSource(input: { name: string; address: string }, actor: ActorContext): Promise<TsaTimeSource>
  removeSource(id: string, actor: ActorContext): Promise<void>
  settings(): Promise<TsaSettings>
  updateSettings(input: TsaSettingsInput, actor: ActorContext): Promise<TsaSettings>
  listTokens(query: {
    serial?: string | undefined
    from?: Date | undefined
    to?: Date | undefined
    requester?: string | undefined
    limit?: number | undefined
    cursor?: string | undefined
  }): Promise<{ items: TsaTokenRecord[]; nextCursor: string | undefined }>
  verify(input: TsaVerifyInput): Promise<TsaVerifyResult>
  /** Audits a time-sync event; `synchronised` events at most once a minute. */
  recordTimeEvent(event: TimeSyncEvent): Promise<void>
  /** Writes the tokens still buffered (shutdown). */
  flush(): Promise<void>
}

const UNIT_ID = /^tsa-[0-9a-f]{16}$/
const SOURCE_ID = /^[0-9a-f-]{36}$/
const OID = /^[0-2](\.(0|[1-9][0-9]{0,8})){1,30}$/
const NAME = /^[^\p{Cc}]+$/u
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const SYNC_SAMPLE_MS = 60_000
const SYSTEM: ActorContext = { actor: 'system', actorRole: '', source: 'local', requestId: '' }

function invalid(field: string, zh: string, en: string): DomainError {
  return new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field })
}

function unitNotFound(id: string): DomainError {
  return new DomainError('TSA_UNIT_NOT_FOUND', `时间戳签名单元 ${id} 不存在 / no TSA unit ${id}`, { field: 'id', id })
}

function caUnavailable(): DomainError {
  return new DomainError('CA_UNAVAILABLE', '证书签发服务未启用 / the certificate authority is not available')
}

export function isPolicyOid(value: unknown): value is string {
  return typeof value === 'string' && value.length <= TSA_LIMITS.oid && OID.test(value)
}

/** host, host:port, IPv4[:port] or [IPv6][:port]; the port 1–65535. */
export function isTimeSourceAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > TSA_LIMITS.address + 8) return false
  let host = value
  let port: string | undefined
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(value)
  if (bracketed) {
    host = bracketed[1] as string
    port = bracketed[2]
    if (!host.includes(':')) return false
  } else {
    const i = value.lastIndexOf(':')
    if (i >= 0) {
      host = value.slice(0, i)
      port = value.slice(i + 1)
      if (!/^\d{1,5}$/.test(port)) return false
    }
    if (!(IPV4.test(host) || (HOSTNAME.test(host) && !/^[\d.]+$/.test(host)))) return false
  }
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535)
}

/** The RFC 3161 rejection for `failure`, with a statusString in both languages. */
export function timeStampRejection(failure: FailureInfo, text: string): Uint8Array {
  return buildTimeStampResp({ status: 'rejection', failInfo: [failure], statusStrings: [text] })
}

const REJECTION_TEXT: Readonly<Record<FailureInfo, string>> = {
  badAlg: '不支持的摘要算法 / unrecognised or unsupported hash algorithm',
  badRequest: '请求不合法 / transaction not permitted or supported',
  badDataFormat: '请求数据格式错误 / the data submitted has the wrong format',
  timeNotAvailable: '可信时间不可用 / the TSA’s time source is not available',
  unacceptedPolicy: '不接受所请求的策略 / the requested TSA policy is not supported',
  unacceptedExtension: '不接受所请求的扩展 / the requested extension is not supported',
  addInfoNotAvailable: '附加信息不可用 / the additional information requested is not available',
  systemFailure: '系统故障 / the request cannot be handled due to system failure',
}

/** A granted TimeStampResp around `token`: SEQUENCE { PKIStatusInfo { granted }, token }, without re-parsing it. */
function grantedResponse(token: Uint8Array): Uint8Array {
  const status = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)
  const length = status.length + token.length
  const header =
    length < 0x80
      ? Uint8Array.of(0x30, length)
      : length < 0x100
        ? Uint8Array.of(0x30, 0x81, length)
        : length < 0x10000
          ? Uint8Array.of(0x30, 0x82, length >> 8, length & 0xff)
          : Uint8Array.of(0x30, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff)
  const out = new Uint8Array(header.length + length)
  out.set(header, 0)
  out.set(status, header.length)
  out.set(token, header.length + status.length)
  return out
}

/** 128 random bits, positive, never zero: unique across instances without coordination. */
function newSerial(): bigint {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] as number) & 0x7f
  if (bytes[0] === 0) bytes[0] = 1
  return BigInt(`0x${bytes.toString('hex')}`)
}

function hexOf(value: bigint): string {
  const hex = value.toString(16)
  return hex.length % 2 ? `0${hex}` : hex
}

type ActiveUnit = { readonly unit: TsaUnit; readonly signer: TimeStampSigner }
type Snapshot = {
  readonly at: number
  readonly settings: TsaSettings
  readonly units: readonly TsaUnit[]
}

/** Decides, before any signing, whether and how a request is served: pure, tested with a table. */
export function planTimeStamp(
  request: ParsedTimeStampRequest,
  settings: Pick<TsaSettings, 'policies' | 'defaultPolicy' | 'state'>,
  units: readonly Pick<TsaUnit, 'id' | 'policy' | 'isDefault'>[],
):
  | { readonly ok: true; readonly policy: string; readonly unitId: string }
  | { readonly ok: false; readonly failure: FailureInfo } {
  if (request.extensions.length > 0) return { ok: false, failure: 'unacceptedExtension' }
  if (settings.state !== 'running') return { ok: false, failure: 'timeNotAvailable' }
  if (request.policy !== undefined && !settings.policies.includes(request.policy)) {
    return { ok: false, failure: 'unacceptedPolicy' }
  }
  const policy = request.policy ?? settings.defaultPolicy
  const unit =
    (request.policy !== undefined ? units.find((u) => u.policy === request.policy) : undefined) ??
    units.find((u) => u.isDefault)
  if (!unit) return { ok: false, failure: 'systemFailure' }
  return { ok: true, policy, unitId: unit.id }
}

/** RFC 3161 Accuracy for a time rounded to whole seconds: the clock's error bound plus the rounding (≤ 500 ms). */
export function accuracyOf(accuracyMs: number): { seconds?: number; millis?: number } {
  const total = Math.max(1, Math.ceil(accuracyMs)) + 500
  const seconds = Math.floor(total / 1000)
  const millis = total % 1000
  return { ...(seconds > 0 && { seconds }), ...(millis > 0 && { millis }) }
}

export function createTimeStampAuthority(deps: TimeStampAuthorityDeps): TimeStampAuthority {
  const { uow, clock } = deps
  const recorder = createTokenRecorder(uow, deps.recorder)
  const ttl = deps.snapshotTtlMs ?? 1000
  let snapshot: Snapshot | undefined
  let loading: Promise<Snapshot> | undefined
  /** Prepared signers per key URI: the key, the parsed certificate and the chain are read once. */
  const signers = new Map<string, Promise<TimeStampSigner>>()
  let lastSynchronisedAudit = Number.NEGATIVE_INFINITY

  async function current(): Promise<Snapshot> {
    const at = performance.now()
    if (snapshot && at - snapshot.at < ttl) return snapshot
    loading ??= uow
      .read(async (tx) => ({ at, settings: await tx.tsa.getSettings(), units: await tx.tsa.listUnits() }))
      .then((s) => {
        snapshot = s
        return s
      })
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  function forget(): void {
    snapshot = undefined
  }

  function signerOf(unit: TsaUnit): Promise<TimeStampSigner> {
    const cached = signers.get(unit.keyUri)
    if (cached) return cached
    if (!deps.keyStore) return Promise.reject(new Error('no key store: the TSA cannot sign'))
    const keyStore = deps.keyStore
    const prepared = keyStore
      .signer(unit.keyUri)
      .then((signer: Signer) =>
        createTimeStampSigner({ signer, certificate: unit.certificate, chain: unit.chain.slice(0, -1) }),
      )
    prepared.catch(() => signers.delete(unit.keyUri))
    if (signers.size >= 64) signers.clear()
    signers.set(unit.keyUri, prepared)
    return prepared
  }

  async function activeUnit(snap: Snapshot, unitId: string): Promise<ActiveUnit | undefined> {
    const unit = snap.units.find((u) => u.id === unitId)
    return unit && { unit, signer: await signerOf(unit) }
  }

  async function respond(request: Uint8Array, requester: TsaRequester): Promise<Uint8Array> {
    try {
      if (!(request instanceof Uint8Array) || request.length === 0) {
        return timeStampRejection('badDataFormat', REJECTION_TEXT.badDataFormat)
      }
      const reading = readTimeStampReq(request)
      if (!reading.ok) return timeStampRejection(reading.failure, REJECTION_TEXT[reading.failure])
      const req = reading.request
      const snap = await current()
      const plan = planTimeStamp(req, snap.settings, snap.units)
      if (!plan.ok) return timeStampRejection(plan.failure, REJECTION_TEXT[plan.failure])
      const instant = deps.trustedTime?.read()
      if (!instant?.ok) return timeStampRejection('timeNotAvailable', REJECTION_TEXT.timeNotAvailable)
      const active = await activeUnit(snap, plan.unitId)
      if (!active) return timeStampRejection('systemFailure', REJECTION_TEXT.systemFailure)

      const genTime = new Date(Math.round(instant.time.getTime() / 1000) * 1000)
      const serial = newSerial()
      const { token } = await active.signer.issue(
        {
          policy: plan.policy,
          imprint: req.imprint,
          hashAlgorithm: req.hashAlgorithm,
          serialNumber: serial,
          genTime,
          accuracy: accuracyOf(instant.accuracyMs),
          nonce: req.nonce,
        },
        req.certReq,
      )
      await recorder.record({
        serialHex: hexOf(serial),
        unitId: active.unit.id,
        certificateSerial: active.signer.certificateSerial,
        genTime,
        hashAlgorithm: req.hashAlgorithm,
        imprint: Buffer.from(req.imprint).toString('hex'),
        nonce: req.nonce === undefined ? undefined : hexOf(req.nonce),
        policy: plan.policy,
        requesterIp: String(requester?.ip ?? '').slice(0, 64),
        clientSystemId: requester?.clientSystemId,
      })
      return grantedResponse(token)
    } catch (error) {
      deps.onError?.(error)
      return timeStampRejection('systemFailure', REJECTION_TEXT.systemFailure)
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Management

  async function viewsOf(tx: Repositories, units?: TsaUnit[]): Promise<TsaUnitView[]> {
    const list = units ?? (await tx.tsa.listUnits())
    const keys = await tx.tsa.listUnitKeys()
    return list.map((unit) => {
      const cert = parseCertificate(unit.certificate)
      return {
        id: unit.id,
        name: unit.name,
        algorithm: unit.algorithm,
        caId: unit.caId,
        policy: unit.policy,
        isDefault: unit.isDefault,
        subject: cert.subjectString,
        certificateSerial: cert.serialHex,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        keyUri: unit.keyUri,
        createdAt: unit.createdAt,
        retiredCertificates: keys
          .filter((k) => k.unitId === unit.id && k.retiredAt)
          .map((k) => ({ serial: k.serialHex, retiredAt: k.retiredAt as Date })),
      }
    })
  }

  async function viewOf(tx: Repositories, id: string): Promise<TsaUnitView> {
    const unit = await tx.tsa.findUnit(id)
    if (!unit) throw unitNotFound(id)
    return (await viewsOf(tx, [unit]))[0] as TsaUnitView
  }

  async function status(): Promise<TsaStatus> {
    const now = clock.now()
    const { settings, units, total, lastMinute } = await uow.read(async (tx) => ({
      settings: await tx.tsa.getSettings(),
      units: await viewsOf(tx),
      total: await tx.tsa.countTokens(),
      lastMinute: await tx.tsa.countTokens(new Date(now.getTime() - 60_000)),
    }))
    const time = deps.trustedTime?.status()
    const instant = deps.trustedTime?.read()
    let problem: string | undefined
    if (settings.state !== 'running') problem = 'stopped'
    else if (!deps.trustedTime) problem = 'no-trusted-time'
    else if (instant && !instant.ok) problem = instant.problem
    else if (!units.some((u) => u.isDefault)) problem = 'no-unit'
    else if (!deps.keyStore) problem = 'no-key-store'
    return {
      state: settings.state,
      issuing: problem === undefined,
      problem,
      stateReason: settings.stateReason,
      time,
      issuedTotal: total,
      issuedLastMinute: lastMinute,
      ratePerSecond: Math.round((lastMinute / 60) * 100) / 100,
      units,
    }
  }

  async function changeState(state: TsaState, reason: string | undefined, actor: ActorContext): Promise<TsaStatus> {
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > TSA_LIMITS.reason)) {
      throw invalid('reason', `最多 ${TSA_LIMITS.reason} 个字符`, `at most ${TSA_LIMITS.reason} characters`)
    }
    await uow.run(async (tx) => {
      const before = await tx.tsa.getSettings()
      await tx.tsa.saveState(state, reason, clock.now())
      await tx.audit.append({
        ...actor,
        type: state === 'running' ? 'tsa.started' : 'tsa.stopped',
        subject: 'tsa',
        data: { from: before.state, ...(reason !== undefined && { reason }) },
        outcome: 'success',
      })
    })
    forget()
    return status()
  }

  function checkName(name: unknown): string {
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > TSA_LIMITS.name || !NAME.test(name)) {
      throw invalid('name', `1–${TSA_LIMITS.name} 个字符，不含控制字符`, `1–${TSA_LIMITS.name} characters, no controls`)
    }
    return name.trim()
  }

  /**
   * The CA named, else an active issuing CA of the unit's own algorithm (so an ECDSA unit's tokens verify in OpenSSL
   * end to end), else any active issuing CA, else any active CA.
   */
  async function chooseCa(caId: string | undefined, algorithm: TsaAlgorithm): Promise<string> {
    const ca = deps.ca
    if (!ca) throw caUnavailable()
    if (caId !== undefined) return caId
    const active = (await ca.list()).filter((c) => c.status === 'active')
    const issuing = active.filter((c) => c.parentId !== undefined)
    const chosen = issuing.find((c) => c.algorithm === algorithm) ?? issuing[0] ?? active[0]
    if (!chosen) {
      throw new DomainError('CA_NOT_FOUND', '尚无可用的 CA / no active certificate authority', { field: 'caId' })
    }
    return chosen.id
  }

  /** A new key and its TSA certificate, inside `tx` (the CA signer loaded before). */
  async function issueKey(
    tx: Repositories,
    args: {
      unitId: string
      name: string
      algorithm: TsaAlgorithm
      caId: string
      caSigner: Signer
      publicKey: Uint8Array
    },
    keyUri: string,
    actor: ActorContext,
  ) {
    const ca = deps.ca
    if (!ca) throw caUnavailable()
    // Read in this transaction: a second unit of work would wait for this one (SQLite has one connection).
    const authority = await tx.certificateAuthorities.find(args.caId)
    if (!authority) throw new DomainError('CA_NOT_FOUND', `CA ${args.caId} 不存在 / no such CA`, { field: 'caId' })
    const issued = await ca.issueWithin(
      tx,
      { caId: args.caId, profileId: 'tsa', subject: { CN: args.name }, publicKey: args.publicKey },
      actor,
      args.caSigner,
    )
    const key: TsaUnitKey = {
      unitId: args.unitId,
      keyUri,
      certificate: issued.der,
      serialHex: issued.serialHex,
      notAfter: issued.notAfter,
      createdAt: clock.now(),
    }
    return {
      certificate: issued.der,
      chain: [authority.certificate, ...authority.chain],
      serialHex: issued.serialHex,
      key,
    }
  }

  async function createUnit(input: CreateTsaUnitInput, actor: ActorContext): Promise<TsaUnitView> {
    const name = checkName(input?.name)
    const algorithm = input.algorithm ?? 'sm2'
    if (!TSA_ALGORITHMS.includes(algorithm)) {
      throw invalid('algorithm', `应为 ${TSA_ALGORITHMS.join('、')}`, `one of ${TSA_ALGORITHMS.join(', ')}`)
    }
    if (input.policy !== undefined && !isPolicyOid(input.policy)) {
      throw invalid('policy', '应为 OID（如 1.2.3.4）', 'must be an OID such as 1.2.3.4')
    }
    if (input.caId !== undefined && (typeof input.caId !== 'string' || !/^ca-[0-9a-f]{16}$/.test(input.caId))) {
      throw new DomainError('CA_NOT_FOUND', `CA ${String(input.caId).slice(0, 64)} 不存在 / no such CA`, {
        field: 'caId',
      })
    }
    if (!deps.keyStore || !deps.ca) throw caUnavailable()
    const caId = await chooseCa(input.caId, algorithm)
    const settings = await uow.run((tx) => tx.tsa.getSettings())
    if (input.policy !== undefined && !settings.policies.includes(input.policy)) {
      throw invalid('policy', '须为设置中已配置的策略', 'must be one of the configured policies')
    }
    const caSigner = await deps.ca.signerFor(caId)
    const key = await deps.keyStore.generate({ algorithm, label: `${name} TSA`, purpose: 'tsa' }, actor)
    const id = `tsa-${randomBytes(8).toString('hex')}`
    const view = await uow.run(async (tx) => {
      const existing = await tx.tsa.listUnits()
      if (input.policy !== undefined && existing.some((u) => u.policy === input.policy)) {
        throw invalid('policy', '已有签名单元使用该策略', 'another unit already serves this policy')
      }
      const issued = await issueKey(
        tx,
        { unitId: id, name, algorithm, caId, caSigner, publicKey: key.publicKey },
        key.uri,
        actor,
      )
      const unit: TsaUnit = {
        id,
        name,
        algorithm,
        caId,
        policy: input.policy,
        isDefault: existing.length === 0,
        keyUri: key.uri,
        certificate: issued.certificate,
        chain: issued.chain,
        createdAt: clock.now(),
        version: 1,
      }
      await tx.tsa.insertUnit(unit)
      await tx.tsa.insertUnitKey(issued.key)
      await tx.audit.append({
        ...actor,
        type: 'tsa.unit-created',
        subject: id,
        data: {
          name,
          algorithm,
          caId,
          keyUri: key.uri,
          serial: issued.serialHex,
          default: unit.isDefault,
          ...(input.policy && { policy: input.policy }),
        },
        outcome: 'success',
      })
      return viewOf(tx, id)
    })
    forget()
    return view
  }

  async function loadUnit(id: string): Promise<TsaUnit> {
    if (typeof id !== 'string' || !UNIT_ID.test(id)) throw unitNotFound(String(id).slice(0, 64))
    const unit = await uow.run((tx) => tx.tsa.findUnit(id))
    if (!unit) throw unitNotFound(id)
    return unit
  }

  function conflict(id: string): DomainError {
    return new DomainError('VERSION_CONFLICT', `签名单元 ${id} 已被修改 / TSA unit ${id} changed meanwhile`, { id })
  }

  async function rolloverUnit(id: string, actor: ActorContext): Promise<TsaUnitView> {
    const unit = await loadUnit(id)
    if (!deps.keyStore || !deps.ca) throw caUnavailable()
    const caId = unit.caId
    const caSigner = await deps.ca.signerFor(caId)
    const key = await deps.keyStore.generate(
      { algorithm: unit.algorithm, label: `${unit.name} TSA`, purpose: 'tsa' },
      actor,
    )
    const view = await uow.run(async (tx) => {
      const issued = await issueKey(
        tx,
        { unitId: unit.id, name: unit.name, algorithm: unit.algorithm, caId, caSigner, publicKey: key.publicKey },
        key.uri,
        actor,
      )
      const next: TsaUnit = {
        ...unit,
        caId,
        keyUri: key.uri,
        certificate: issued.certificate,
        chain: issued.chain,
        version: unit.version + 1,
      }
      if (!(await tx.tsa.updateUnit(next, unit.version))) throw conflict(unit.id)
      await tx.tsa.insertUnitKey(issued.key)
      await tx.tsa.retireUnitKey(unit.keyUri, clock.now())
      await tx.audit.append({
        ...actor,
        type: 'tsa.unit-rolled-over',
        subject: unit.id,
        data: { previousKeyUri: unit.keyUri, keyUri: key.uri, serial: issued.serialHex, caId },
        outcome: 'success',
      })
      return viewOf(tx, unit.id)
    })
    // The old key signs no more; its record (and certificate, above) stays to prove what it signed.
    await deps.keyStore.retire(unit.keyUri, actor).catch((error: unknown) => {
      if (!isDomainError(error, 'KEY_RETIRED')) deps.onError?.(error)
    })
    signers.delete(unit.keyUri)
    forget()
    return view
  }

  async function setDefaultUnit(id: string, actor: ActorContext): Promise<TsaUnitView> {
    await loadUnit(id)
    const view = await uow.run(async (tx) => {
      const units = await tx.tsa.listUnits()
      const target = units.find((u) => u.id === id)
      if (!target) throw unitNotFound(id)
      const previous = units.find((u) => u.isDefault && u.id !== id)
      if (
        previous &&
        !(await tx.tsa.updateUnit({ ...previous, isDefault: false, version: previous.version + 1 }, previous.version))
      ) {
        throw conflict(previous.id)
      }
      if (!target.isDefault) {
        if (!(await tx.tsa.updateUnit({ ...target, isDefault: true, version: target.version + 1 }, target.version))) {
          throw conflict(id)
        }
      }
      await tx.audit.append({
        ...actor,
        type: 'tsa.unit-default-set',
        subject: id,
        data: { previous: previous?.id ?? null },
        outcome: 'success',
      })
      return viewOf(tx, id)
    })
    forget()
    return view
  }

  async function ensureDefaultUnit(actor: ActorContext): Promise<TsaUnitView> {
    const units = await uow.run((tx) => viewsOf(tx))
    const found = units.find((u) => u.isDefault) ?? units[0]
    if (found) return found
    return createUnit({ name: 'Yiqian TSA SM2', algorithm: 'sm2' }, actor)
  }

  async function sourcesChanged(): Promise<TsaTimeSource[]> {
    const list = await uow.run((tx) => tx.tsa.listSources())
    try {
      deps.onSourcesChanged?.(list)
    } catch (error) {
      deps.onError?.(error)
    }
    return list
  }

  async function addSource(input: { name: string; address: string }, actor: ActorContext): Promise<TsaTimeSource> {
    const name = checkName(input?.name)
    if (!isTimeSourceAddress(input.address)) {
      throw invalid('address', '应为 主机名或IP[:端口]', 'must be host[:port] (IPv6 in brackets), port 1–65535')
    }
    const source: TsaTimeSource = { id: randomUUID(), name, address: input.address, createdAt: clock.now() }
    await uow.run(async (tx) => {
      const sources = await tx.tsa.listSources()
      if (sources.length >= TSA_LIMITS.sources) {
        throw invalid('address', `最多 ${TSA_LIMITS.sources} 个时间源`, `at most ${TSA_LIMITS.sources} sources`)
      }
      if (sources.some((s) => s.address.toLowerCase() === source.address.toLowerCase())) {
        throw invalid('address', '该时间源已存在', 'this source is already configured')
      }
      await tx.tsa.insertSource(source)
      await tx.audit.append({
        ...actor,
        type: 'tsa.source-added',
        subject: source.id,
        data: { name, address: source.address },
        outcome: 'success',
      })
    })
    await sourcesChanged()
    return source
  }

  async function removeSource(id: string, actor: ActorContext): Promise<void> {
    const notFound = () =>
      new DomainError('TSA_SOURCE_NOT_FOUND', `时间源 ${id} 不存在 / no time source ${id}`, { field: 'id', id })
    if (typeof id !== 'string' || !SOURCE_ID.test(id)) throw notFound()
    await uow.run(async (tx) => {
      const source = (await tx.tsa.listSources()).find((s) => s.id === id)
      if (!source || !(await tx.tsa.deleteSource(id))) throw notFound()
      await tx.audit.append({
        ...actor,
        type: 'tsa.source-removed',
        subject: id,
        data: { name: source.name, address: source.address },
        outcome: 'success',
      })
    })
    await sourcesChanged()
  }

  function checkRange(field: string, value: unknown, range: { min: number; max: number }): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
      throw invalid(field, `应为 ${range.min}–${range.max} 的整数`, `must be an integer ${range.min}–${range.max}`)
    }
    return value
  }

  async function updateSettings(input: TsaSettingsInput, actor: ActorContext): Promise<TsaSettings> {
    const policies = input?.policies
    if (!Array.isArray(policies) || policies.length === 0 || policies.length > TSA_LIMITS.policies) {
      throw invalid('policies', `1–${TSA_LIMITS.policies} 个策略 OID`, `1–${TSA_LIMITS.policies} policy OIDs`)
    }
    const bad = policies.findIndex((p) => !isPolicyOid(p))
    if (bad >= 0) throw invalid(`policies.${bad}`, '应为 OID（如 1.2.3.4）', 'must be an OID such as 1.2.3.4')
    if (new Set(policies).size !== policies.length) throw invalid('policies', '不能重复', 'must not repeat')
    if (!isPolicyOid(input.defaultPolicy) || !policies.includes(input.defaultPolicy)) {
      throw invalid('defaultPolicy', '须为 policies 之一', 'must be one of policies')
    }
    const toleranceMs = checkRange('toleranceMs', input.toleranceMs, TSA_LIMITS.toleranceMs)
    const holdoverSeconds = checkRange('holdoverSeconds', input.holdoverSeconds, TSA_LIMITS.holdoverSeconds)
    const pollIntervalSeconds = checkRange(
      'pollIntervalSeconds',
      input.pollIntervalSeconds,
      TSA_LIMITS.pollIntervalSeconds,
    )
    if (typeof input.version !== 'number' || !Number.isInteger(input.version)) {
      throw invalid('version', '应为整数', 'must be an integer')
    }
    const saved = await uow.run(async (tx) => {
      const before = await tx.tsa.getSettings()
      const orphan = (await tx.tsa.listUnits()).find((u) => u.policy !== undefined && !policies.includes(u.policy))
      if (orphan) {
        throw invalid(
          'policies',
          `签名单元 ${orphan.name} 使用的策略不能删除`,
          `unit ${orphan.name} serves a policy removed`,
        )
      }
      const next: TsaSettings = {
        ...before,
        policies: [...policies],
        defaultPolicy: input.defaultPolicy,
        toleranceMs,
        holdoverSeconds,
        pollIntervalSeconds,
        version: input.version + 1,
        updatedAt: clock.now(),
      }
      if (!(await tx.tsa.saveSettings(next, input.version))) {
        throw new DomainError('VERSION_CONFLICT', '时间戳设置已被他人修改 / the TSA settings changed meanwhile', {
          field: 'version',
        })
      }
      await tx.audit.append({
        ...actor,
        type: 'tsa.settings-changed',
        subject: 'tsa',
        data: {
          policies: next.policies,
          defaultPolicy: next.defaultPolicy,
          toleranceMs,
          holdoverSeconds,
          pollIntervalSeconds,
          version: next.version,
        },
        outcome: 'success',
      })
      return next
    })
    forget()
    try {
      deps.onSettingsChanged?.(saved)
    } catch (error) {
      deps.onError?.(error)
    }
    return saved
  }

  // -------------------------------------------------------------------------------------------------------------
  // Token log and verification

  function encodeCursor(record: TsaTokenRecord): string {
    return Buffer.from(`${record.genTime.toISOString()}|${record.serialHex}`).toString('base64url')
  }

  function decodeCursor(cursor: string): { genTime: Date; serialHex: string } {
    const [time, serial] = Buffer.from(String(cursor).slice(0, 200), 'base64url').toString().split('|')
    const genTime = new Date(time ?? '')
    if (Number.isNaN(genTime.getTime()) || !serial || !/^[0-9a-f]{1,64}$/.test(serial)) {
      throw invalid('cursor', '分页游标无效', 'not a cursor this API gave')
    }
    return { genTime, serialHex: serial }
  }

  async function listTokens(query: Parameters<TimeStampAuthority['listTokens']>[0]) {
    const limit = query.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > TSA_LIMITS.pageSize) {
      throw invalid('limit', `1–${TSA_LIMITS.pageSize}`, `1–${TSA_LIMITS.pageSize}`)
    }
    let serialHex: string | undefined
    if (query.serial !== undefined) {
      if (!/^[0-9a-fA-F]{1,64}$/.test(query.serial)) throw invalid('serial', '应为十六进制', 'must be hexadecimal')
      serialHex = query.serial.toLowerCase().replace(/^(00)+/, '')
      if (serialHex.length % 2) serialHex = `0${serialHex}`
    }
    const items = await uow.read((tx) =>
      tx.tsa.listTokens({
        serialHex,
        from: query.from,
        to: query.to,
        requester: query.requester,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
        limit: limit + 1,
      }),
    )
    const page = items.slice(0, limit)
    const last = page[page.length - 1]
    return { items: page, nextCursor: items.length > limit && last ? encodeCursor(last) : undefined }
  }

  async function verify(input: TsaVerifyInput): Promise<TsaVerifyResult> {
    const der = input?.token
    if (!(der instanceof Uint8Array) || der.length === 0 || der.length > TSA_LIMITS.verifyBytes) {
      throw invalid('token', '应为 base64 的时间戳令牌或响应', 'must be a base64 TimeStampToken or TimeStampResp')
    }
    let token = der
    try {
      const resp = parseTimeStampResp(der)
      if (!resp.token) {
        throw invalid('token', `时间戳响应不含令牌（${resp.status}）`, `the response carries no token (${resp.status})`)
      }
      token = resp.token
    } catch (error) {
      if (isDomainError(error)) throw error
      // Not a TimeStampResp: taken as the token itself.
    }
    let info: ReturnType<typeof readTimeStampToken>
    try {
      info = readTimeStampToken(token)
    } catch {
      throw invalid('token', '不是时间戳令牌', 'not a TimeStampToken')
    }
    const hashAlgorithm = input.hashAlgorithm ?? info.hashAlgorithm
    if (!Object.hasOwn(TIME_STAMP_HASHES, hashAlgorithm)) {
      throw invalid('hashAlgorithm', '不支持的摘要算法', 'unsupported hash algorithm')
    }
    let imprint: Uint8Array | undefined
    if (input.data !== undefined) imprint = timeStampDigest(hashAlgorithm, input.data)
    else if (input.imprint !== undefined) {
      if (input.imprint.length !== TIME_STAMP_HASHES[hashAlgorithm].bytes) {
        throw invalid('imprint', `应为 ${hashAlgorithm} 摘要`, `must be a ${hashAlgorithm} hash`)
      }
      imprint = input.imprint
    }
    const { keys, cas } = await uow.read(async (tx) => ({
      keys: await tx.tsa.listUnitKeys(),
      cas: await tx.certificateAuthorities.list(),
    }))
    let verification: Awaited<ReturnType<typeof verifyTimeStampToken>>
    try {
      verification = await verifyTimeStampToken(token, {
        imprint: imprint ?? info.imprint,
        hashAlgorithm: input.hashAlgorithm,
        certificates: keys.map((k) => k.certificate),
        trusted: cas.map((ca) => ca.certificate),
      })
    } catch {
      throw invalid('token', '不是时间戳令牌', 'not a TimeStampToken')
    }
    const checks = verification.checks.map((c) =>
      c.name === 'imprint' && imprint === undefined
        ? { name: c.name, status: 'skipped', reason: 'no data or imprint given' }
        : { name: c.name, status: c.status, reason: c.reason },
    )
    let tsa: TsaVerifyResult['tsa']
    if (verification.tsaCertificate) {
      try {
        const cert = parseCertificate(verification.tsaCertificate)
        tsa = { subject: cert.subjectString, serial: cert.serialHex }
      } catch {
        tsa = undefined
      }
    }
    const t = verification.tstInfo ?? info
    return {
      valid: verification.valid,
      checks,
      tstInfo: {
        serial: hexOf(t.serialNumber),
        genTime: t.genTime,
        policy: t.policy,
        hashAlgorithm: t.hashAlgorithm,
        imprint: Buffer.from(t.imprint).toString('hex'),
        nonce: t.nonce === undefined ? undefined : hexOf(t.nonce),
        accuracyMs: t.accuracyMs,
      },
      tsa,
    }
  }

  async function recordTimeEvent(event: TimeSyncEvent): Promise<void> {
    const kinds = ['synchronised', 'state-changed', 'large-step']
    if (!event || !kinds.includes(event.kind)) return
    const at = (event.at ?? clock.now()).getTime()
    if (event.kind === 'synchronised') {
      if (at - lastSynchronisedAudit < SYNC_SAMPLE_MS) return
      lastSynchronisedAudit = at
    }
    await uow.run((tx) =>
      tx.audit.append({
        ...SYSTEM,
        type: `tsa.time.${event.kind}`,
        subject: 'tsa',
        data: { ...(event.data ?? {}), at: new Date(at).toISOString() },
        outcome: 'success',
      }),
    )
  }

  return {
    respond,
    status,
    start: (actor) => changeState('running', undefined, actor),
    stop: (reason, actor) => changeState('stopped', reason, actor),
    listUnits: () => uow.run((tx) => viewsOf(tx)),
    createUnit,
    rolloverUnit,
    setDefaultUnit,
    ensureDefaultUnit,
    listSources: () => uow.run((tx) => tx.tsa.listSources()),
    addSource,
    removeSource,
    settings: () => uow.run((tx) => tx.tsa.getSettings()),
    updateSettings,
    listTokens,
    verify,
    recordTimeEvent,
    flush: () => recorder.flush(),
  }
}
