/**
 * The timestamp authority's records and the storage port: signing units (a key in the KeyStore and its TSA
 * certificate from our CA), the time sources handed to the synchroniser, the settings row (policies, time tolerance,
 * running or stopped) and the log of every token issued.
 */

/** Key types a unit signs with: SM2 by default; ECDSA and RSA for relying parties that cannot check SM2. */
export const TSA_ALGORITHMS = ['sm2', 'ecdsa-p256', 'rsa-3072'] as const
export type TsaAlgorithm = (typeof TSA_ALGORITHMS)[number]

export const TSA_LIMITS = {
  name: 100,
  policies: 20,
  oid: 100,
  sources: 32,
  address: 253,
  reason: 500,
  pageSize: 500,
  /** A token or response given to verify (base64 is 4/3 of this). */
  verifyBytes: 64 * 1024,
  toleranceMs: { min: 1, max: 60_000 },
  holdoverSeconds: { min: 0, max: 7 * 24 * 3600 },
  pollIntervalSeconds: { min: 16, max: 3600 },
} as const

export type TsaState = 'running' | 'stopped'

/** One signing key of a unit; the current one has no `retiredAt`. Retired ones stay to verify what they signed. */
export interface TsaUnitKey {
  readonly unitId: string
  readonly keyUri: string
  /** The TSA certificate, DER. */
  readonly certificate: Uint8Array
  /** Lower-case hex. */
  readonly serialHex: string
  readonly notAfter: Date
  readonly createdAt: Date
  readonly retiredAt?: Date | undefined
}

export interface TsaUnit {
  /** `tsa-` and 16 hex digits. */
  readonly id: string
  readonly name: string
  readonly algorithm: TsaAlgorithm
  /** The CA that issued the current certificate. */
  readonly caId: string
  /** A request naming this policy is served by this unit; others by the default unit. */
  readonly policy?: string | undefined
  readonly isDefault: boolean
  readonly keyUri: string
  readonly certificate: Uint8Array
  /** The issuing CA first, the root last (DER). */
  readonly chain: readonly Uint8Array[]
  readonly createdAt: Date
  readonly version: number
}

export interface TsaTimeSource {
  readonly id: string
  readonly name: string
  /** host or host:port (UDP, default 123). */
  readonly address: string
  readonly createdAt: Date
}

export interface TsaSettings {
  /** Policy OIDs a request may name (reqPolicy); tokens carry one of them. */
  readonly policies: readonly string[]
  readonly defaultPolicy: string
  readonly toleranceMs: number
  readonly holdoverSeconds: number
  readonly pollIntervalSeconds: number
  readonly state: TsaState
  readonly stateReason?: string | undefined
  readonly stateChangedAt?: Date | undefined
  readonly version: number
  readonly updatedAt: Date
}

/** One issued token, as the token log records it. */
export interface TsaTokenRecord {
  /** Lower-case hex, unique across instances (128 random bits). */
  readonly serialHex: string
  readonly unitId: string
  /** Serial of the TSA certificate that signed it (lower-case hex). */
  readonly certificateSerial: string
  readonly genTime: Date
  readonly hashAlgorithm: string
  /** Lower-case hex. */
  readonly imprint: string
  /** Lower-case hex. */
  readonly nonce?: string | undefined
  readonly policy: string
  /** The client's IP address. */
  readonly requesterIp: string
  /** The client system, when the request was authenticated as one. */
  readonly clientSystemId?: string | undefined
}

export interface TsaTokenQuery {
  readonly serialHex?: string | undefined
  readonly from?: Date | undefined
  readonly to?: Date | undefined
  /** An IP address or a client-system id. */
  readonly requester?: string | undefined
  /** Newest first: the page continues after this (genTime, serial). */
  readonly after?: { readonly genTime: Date; readonly serialHex: string } | undefined
  readonly limit: number
}

export interface TsaRepository {
  listUnits(): Promise<TsaUnit[]>
  findUnit(id: string): Promise<TsaUnit | undefined>
  insertUnit(unit: TsaUnit): Promise<void>
  /** Optimistic: false when the stored version is not `previousVersion`. */
  updateUnit(unit: TsaUnit, previousVersion: number): Promise<boolean>
  /** Every key of every unit, retired ones included. */
  listUnitKeys(): Promise<TsaUnitKey[]>
  insertUnitKey(key: TsaUnitKey): Promise<void>
  retireUnitKey(keyUri: string, at: Date): Promise<void>

  listSources(): Promise<TsaTimeSource[]>
  insertSource(source: TsaTimeSource): Promise<void>
  /** False when there was none. */
  deleteSource(id: string): Promise<boolean>

  /** The single settings row (created by the migration). */
  getSettings(): Promise<TsaSettings>
  /** Optimistic on `previousVersion`; the version is bumped. False on a stale version. */
  saveSettings(settings: TsaSettings, previousVersion: number): Promise<boolean>
  /** Running or stopped; does not touch the settings version. */
  saveState(state: TsaState, reason: string | undefined, at: Date): Promise<void>

  /** One statement per chunk: group commit of the tokens answered together. */
  insertTokens(records: readonly TsaTokenRecord[]): Promise<void>
  listTokens(query: TsaTokenQuery): Promise<TsaTokenRecord[]>
  /** Tokens with genTime at or after `since` (all of them without). */
  countTokens(since?: Date): Promise<number>
}
