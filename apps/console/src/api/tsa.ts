import { api, type Query } from './http'

/** The timestamp authority's management API (`/api/v1/tsa/*`, permissions tsa.read / tsa.manage). */

export const TSA_ALGORITHMS = ['sm2', 'ecdsa-p256', 'rsa-3072'] as const
export type TsaAlgorithm = (typeof TSA_ALGORITHMS)[number]

/** Why the time (or the service) cannot be trusted; the codes of TimeSyncProblem plus the service's own. */
export const TSA_PROBLEMS = [
  'starting',
  'no-sources',
  'no-majority',
  'offset-exceeds-tolerance',
  'holdover-expired',
  'stopped',
  'no-unit',
  'no-trusted-time',
  'no-key-store',
] as const

export interface TimeSourceStatus {
  readonly id: string
  readonly address: string
  readonly reachable: boolean
  readonly lastOffsetMs?: number | null
  readonly lastDelayMs?: number | null
  readonly stratum?: number | null
  readonly lastResponseAt?: string | null
  readonly selected: boolean
  readonly rejectedReason?: string | null
}

export interface TimeSyncStatus {
  readonly state: 'synchronised' | 'unsynchronised'
  readonly problem?: string | null
  readonly offsetMs: number
  readonly jitterMs: number
  readonly errorMs: number
  readonly lastSyncAt?: string | null
  readonly toleranceMs: number
  readonly holdoverMs: number
  readonly sources: readonly TimeSourceStatus[]
}

export interface TsaUnitCertificate {
  readonly subject: string
  readonly serial: string
  readonly notBefore: string
  readonly notAfter: string
}

export interface TsaUnit {
  readonly id: string
  readonly name: string
  readonly algorithm: string
  readonly isDefault: boolean
  readonly policy?: string | null
  readonly caId?: string | null
  readonly certificate?: TsaUnitCertificate
  /** Certificates of earlier keys, kept to verify what they signed. */
  readonly retiredCount: number
  readonly createdAt?: string
}

export interface TsaStatus {
  readonly state: 'running' | 'stopped'
  readonly issuing: boolean
  readonly problem?: string | null
  readonly stateReason?: string | null
  readonly time?: TimeSyncStatus | null
  readonly issuedTotal: number
  readonly issuedLastMinute: number
  readonly ratePerSecond: number
  readonly units: readonly TsaUnit[]
}

export interface TsaSource {
  readonly id: string
  readonly name: string
  readonly address: string
  readonly createdAt?: string
}

export interface TsaSettings {
  readonly policies: string[]
  readonly defaultPolicy: string
  readonly toleranceMs: number
  readonly holdoverSeconds: number
  readonly pollIntervalSeconds: number
  readonly version: number
}

export interface TsaToken {
  readonly serial: string
  readonly unitId?: string
  readonly unitName?: string
  readonly genTime: string
  readonly hashAlgorithm: string
  readonly imprint: string
  readonly nonce?: string | null
  readonly policy: string
  readonly requesterIp?: string | null
  readonly clientSystemId?: string | null
}

export interface TsaTokenPage {
  readonly items: readonly TsaToken[]
  readonly nextCursor?: string | null
}

export type TsaSystem = Readonly<Record<string, unknown>>

export interface TsaCheck {
  readonly name: string
  readonly status: 'passed' | 'failed' | 'skipped'
  readonly reason: string
}

export interface TsaVerification {
  readonly valid: boolean
  readonly checks: readonly TsaCheck[]
  readonly tstInfo?: {
    readonly serial: string
    readonly genTime: string
    readonly policy: string
    readonly hashAlgorithm: string
    readonly imprint: string
    readonly nonce?: string | null
    readonly accuracyMs?: number | null
  }
  readonly tsa?: { readonly subject: string; readonly serial: string } | null
}

type Raw = Record<string, unknown>

/** A unit as the page shows it: the server sends the certificate's fields flat (`subject`, `certificateSerial`, …). */
export function unitOf(raw: Raw): TsaUnit {
  const nested = (raw.certificate ?? null) as Raw | null
  const field = (name: string) => (nested?.[name] ?? raw[name]) as string | undefined
  const subject = field('subject')
  return {
    id: String(raw.id),
    name: String(raw.name ?? raw.id),
    algorithm: String(raw.algorithm ?? ''),
    isDefault: raw.isDefault === true || raw.default === true,
    policy: (raw.policy as string | null | undefined) ?? null,
    caId: (raw.caId as string | null | undefined) ?? null,
    createdAt: raw.createdAt as string | undefined,
    retiredCount: Array.isArray(raw.retiredCertificates) ? raw.retiredCertificates.length : 0,
    ...(subject !== undefined && {
      certificate: {
        subject,
        serial: field('certificateSerial') ?? field('serial') ?? '',
        notBefore: field('notBefore') ?? '',
        notAfter: field('notAfter') ?? '',
      },
    }),
  }
}

function listOf(raw: unknown): Raw[] {
  if (Array.isArray(raw)) return raw as Raw[]
  const items = (raw as { items?: unknown } | null)?.items
  return Array.isArray(items) ? (items as Raw[]) : []
}

export const tsaApi = {
  status: async (): Promise<TsaStatus> => {
    const raw = await api<TsaStatus & { units?: Raw[] }>('/api/v1/tsa/status')
    return { ...raw, units: (raw.units ?? []).map(unitOf) }
  },
  start: (reason: string) => api<unknown>('/api/v1/tsa/start', { method: 'POST', body: { reason } }),
  stop: (reason: string) => api<unknown>('/api/v1/tsa/stop', { method: 'POST', body: { reason } }),

  units: async (): Promise<TsaUnit[]> => listOf(await api<unknown>('/api/v1/tsa/units')).map(unitOf),
  createUnit: (body: { name: string; algorithm: TsaAlgorithm; caId?: string; policy?: string }) =>
    api<unknown>('/api/v1/tsa/units', { method: 'POST', body }),
  rollover: (id: string) => api<unknown>(`/api/v1/tsa/units/${encodeURIComponent(id)}/rollover`, { method: 'POST' }),
  setDefault: (id: string) => api<unknown>(`/api/v1/tsa/units/${encodeURIComponent(id)}/default`, { method: 'POST' }),

  sources: async (): Promise<TsaSource[]> =>
    listOf(await api<unknown>('/api/v1/tsa/sources')) as unknown as TsaSource[],
  addSource: (body: { name: string; address: string }) =>
    api<TsaSource>('/api/v1/tsa/sources', { method: 'POST', body }),
  removeSource: (id: string) => api<unknown>(`/api/v1/tsa/sources/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  settings: () => api<TsaSettings>('/api/v1/tsa/settings'),
  saveSettings: (body: TsaSettings) => api<TsaSettings>('/api/v1/tsa/settings', { method: 'PUT', body }),

  tokens: (query: Query) => api<TsaTokenPage>('/api/v1/tsa/tokens', { query }),
  system: () => api<TsaSystem>('/api/v1/tsa/system'),
  verify: (body: { token: string; data?: string }) =>
    api<TsaVerification>('/api/v1/tsa/verify', { method: 'POST', body }),
}

/** host, host:port, IPv4, [IPv6] or [IPv6]:port, as the server validates a time source address. */
export function isTimeSourceAddress(value: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(value.trim())
  if (!m) return false
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65_535)
}

/** A file's bytes as base64, for the JSON body of the verify call. */
export async function fileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}
