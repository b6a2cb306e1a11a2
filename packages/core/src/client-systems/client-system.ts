import { randomBytes } from 'node:crypto'
import { DomainError } from '../errors.js'
import { normaliseIpBlock } from './ip-allow-list.js'

/**
 * A clinical system (业务系统: HIS, LIS, PACS, …) that calls the API with HMAC-SM3 signed requests. The secret is
 * kept sealed by the SecretBox (the server needs the plaintext to recompute HMACs); it is shown once, when it is
 * created or rotated, and never again.
 */
export interface ClientSystem {
  readonly id: string
  /** Short stable code, e.g. `HIS`, unique, stored upper-case; used in statistics. */
  readonly code: string
  /** Display name, Chinese first, e.g. `住院医生工作站`. */
  readonly name: string
  /** `ys_` + 16 base32 characters; sent in `X-Yiqian-App-Id`. */
  readonly appId: string
  readonly enabled: boolean
  /** CIDR blocks or single addresses; empty means any source address. */
  readonly ipAllowList: readonly string[]
  readonly rateLimitPerMinute: number
  readonly scope: ClientSystemScope
  /**
   * Pinned client-certificate fingerprint (lower-case hex, no separators: SHA-1, SHA-256 or SM3 of the DER, as the
   * hospital's TLS-terminating proxy reports it). When set, requests must arrive with it in the trusted header.
   */
  readonly certificateFingerprint: string | undefined
  /** The current secret, sealed with context `secretContext(id)`. */
  readonly sealedSecret: string
  /** The secret before the last rotation, still accepted until `previousSecretExpiresAt`. */
  readonly previousSealedSecret: string | undefined
  readonly previousSecretExpiresAt: Date | undefined
  readonly secretRotatedAt: Date
  readonly createdAt: Date
  readonly updatedAt: Date
  /** Optimistic-concurrency version, incremented by every save. */
  readonly version: number
}

/**
 * What the system may submit for. `*` as the only element means any; an empty list means none (a new system
 * can submit nothing until an administrator says for whom — fail closed).
 */
export interface ClientSystemScope {
  readonly departmentIds: readonly string[]
  readonly documentTypes: readonly string[]
}

export const ANY = '*'

/** The registration as administrators and the API see it: everything but the secrets. */
export interface ClientSystemView {
  readonly id: string
  readonly code: string
  readonly name: string
  readonly appId: string
  readonly enabled: boolean
  readonly ipAllowList: readonly string[]
  readonly rateLimitPerMinute: number
  readonly scope: ClientSystemScope
  readonly certificateFingerprint: string | undefined
  readonly secretRotatedAt: Date
  /** Set while the previous secret is still accepted. */
  readonly previousSecretExpiresAt: Date | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly version: number
}

export interface ClientSystemRepository {
  list(): Promise<ClientSystem[]>
  findById(id: string): Promise<ClientSystem | undefined>
  findByAppId(appId: string): Promise<ClientSystem | undefined>
  /** Throws CLIENT_SYSTEM_NOT_FOUND. */
  getOrThrow(id: string): Promise<ClientSystem>
  /** Inserts; a taken code or app id fails with CLIENT_SYSTEM_EXISTS. */
  insert(system: ClientSystem): Promise<void>
  /** Saves `system` if the stored version is `system.version - 1`; otherwise VERSION_CONFLICT. */
  update(system: ClientSystem): Promise<void>
}

/**
 * Nonces of authenticated requests, shared by every server instance (a database table with a unique
 * (app id, nonce) key), so that a request replayed to another instance is refused too.
 */
export interface RequestNonceRepository {
  /**
   * Records `nonce` for `appId` until `expiresAt` (inclusive). Returns false when it is already recorded and not
   * yet expired (a replay); an expired record (`expiresAt < now`) of the same nonce is replaced.
   */
  remember(appId: string, nonce: string, expiresAt: Date, now: Date): Promise<boolean>
  /** Deletes records with `expiresAt < now`; returns how many. */
  purgeExpired(now: Date): Promise<number>
}

export const LIMITS = {
  name: 64,
  code: 32,
  ipAllowList: 64,
  departmentIds: 1000,
  departmentId: 64,
  documentTypes: 200,
  documentType: 64,
  rateLimitPerMinute: 100_000,
  /** Seven days. */
  graceSeconds: 7 * 24 * 3600,
} as const

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600
export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
/** A document type or department id: printable, no spaces at either end, no control characters. */
const TOKEN_PATTERN = /^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u

export function secretContext(id: string): string {
  return `client_systems.secret:${id}`
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** `ys_` + 16 characters of RFC 4648 base32 (lower case): 80 random bits, easy to read aloud and to type. */
export function generateAppId(): string {
  const bytes = randomBytes(16)
  let out = 'ys_'
  for (const b of bytes) out += BASE32[b & 31]
  return out
}

export const APP_ID_PATTERN = /^ys_[a-z2-7]{16}$/

/** 32 random bytes, base64url without padding (43 characters). The HMAC key is this text as ASCII. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
}

function invalid(field: string, message: string, value?: unknown): never {
  throw new DomainError('CLIENT_SYSTEM_FIELD_INVALID', `${field}: ${message}`, {
    field,
    ...(value !== undefined && { value }),
  })
}

export function checkName(name: string): string {
  const trimmed = name.trim()
  if (trimmed.length === 0 || [...trimmed].length > LIMITS.name) invalid('name', `1–${LIMITS.name} characters`)
  if (/\p{Cc}/u.test(trimmed)) invalid('name', 'control characters are not allowed')
  return trimmed
}

export function checkCode(code: string): string {
  if (code.length === 0 || code.length > LIMITS.code || !CODE_PATTERN.test(code)) {
    invalid('code', `1–${LIMITS.code} letters, digits, '_' or '-', starting with a letter or digit`, code)
  }
  // Upper case, so that `his` and `HIS` cannot name two systems.
  return code.toUpperCase()
}

export function checkIpAllowList(entries: readonly string[]): string[] {
  if (entries.length > LIMITS.ipAllowList) invalid('ipAllowList', `at most ${LIMITS.ipAllowList} entries`)
  const out: string[] = []
  for (const [i, entry] of entries.entries()) {
    try {
      const normal = normaliseIpBlock(entry)
      if (!out.includes(normal)) out.push(normal)
    } catch (error) {
      invalid(`ipAllowList[${i}]`, (error as Error).message, entry)
    }
  }
  return out
}

export function checkRateLimit(perMinute: number): number {
  if (!Number.isInteger(perMinute) || perMinute < 1 || perMinute > LIMITS.rateLimitPerMinute) {
    invalid('rateLimitPerMinute', `an integer 1–${LIMITS.rateLimitPerMinute}`, perMinute)
  }
  return perMinute
}

function checkTokens(field: string, values: readonly string[], maxCount: number, maxLength: number): string[] {
  if (values.length > maxCount) invalid(field, `at most ${maxCount} entries`)
  if (values.includes(ANY) && values.length > 1) invalid(field, `'${ANY}' (any) must be the only entry`)
  const out: string[] = []
  for (const [i, value] of values.entries()) {
    if (value.length === 0 || value.length > maxLength || !TOKEN_PATTERN.test(value)) {
      invalid(`${field}[${i}]`, `1–${maxLength} printable characters without leading or trailing spaces`, value)
    }
    if (!out.includes(value)) out.push(value)
  }
  return out
}

export function checkScope(scope: ClientSystemScope): ClientSystemScope {
  return {
    departmentIds: checkTokens('scope.departmentIds', scope.departmentIds, LIMITS.departmentIds, LIMITS.departmentId),
    documentTypes: checkTokens('scope.documentTypes', scope.documentTypes, LIMITS.documentTypes, LIMITS.documentType),
  }
}

/**
 * A certificate fingerprint as proxies write it (`AB:CD:…`, `abcd…`, with or without colons), normalised to
 * lower-case hex without separators; undefined for none. SHA-1 (40), SHA-256 or SM3 (64 hex digits).
 */
export function normaliseFingerprint(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined
  const hex = value.trim().replaceAll(':', '').toLowerCase()
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(hex) ? hex : undefined
}

export function checkFingerprint(value: string | null): string | undefined {
  if (value === null || value.trim() === '') return undefined
  const normal = normaliseFingerprint(value)
  if (!normal) invalid('certificateFingerprint', '40 or 64 hex digits (SHA-1, SHA-256 or SM3), colons allowed')
  return normal
}

export function checkGraceSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > LIMITS.graceSeconds) {
    invalid('graceSeconds', `an integer 0–${LIMITS.graceSeconds}`, seconds)
  }
  return seconds
}

export function viewOf(system: ClientSystem): ClientSystemView {
  return {
    id: system.id,
    code: system.code,
    name: system.name,
    appId: system.appId,
    enabled: system.enabled,
    ipAllowList: system.ipAllowList,
    rateLimitPerMinute: system.rateLimitPerMinute,
    scope: system.scope,
    certificateFingerprint: system.certificateFingerprint,
    secretRotatedAt: system.secretRotatedAt,
    previousSecretExpiresAt: system.previousSecretExpiresAt,
    createdAt: system.createdAt,
    updatedAt: system.updatedAt,
    version: system.version,
  }
}

/**
 * Whether the system may submit for this department and document type. Pure; the signing API calls it with the
 * stored registration before it accepts a request.
 */
export function assertWithinScope(
  system: Pick<ClientSystem, 'id' | 'appId' | 'scope'>,
  request: { readonly departmentId: string; readonly documentType: string },
): void {
  const allows = (list: readonly string[], value: string) => list.includes(ANY) || list.includes(value)
  if (!allows(system.scope.departmentIds, request.departmentId)) {
    throw new DomainError(
      'CLIENT_SYSTEM_OUT_OF_SCOPE',
      `client system ${system.appId} may not submit for department ${request.departmentId}`,
      { field: 'departmentId', appId: system.appId, departmentId: request.departmentId },
    )
  }
  if (!allows(system.scope.documentTypes, request.documentType)) {
    throw new DomainError(
      'CLIENT_SYSTEM_OUT_OF_SCOPE',
      `client system ${system.appId} may not submit document type ${request.documentType}`,
      { field: 'documentType', appId: system.appId, documentType: request.documentType },
    )
  }
}
