import { type ProblemDetails, ProblemError } from './problem.js'

export interface ClientOptions {
  /** e.g. `https://yiqian.hospital.example` */
  readonly baseUrl: string
  /** Defaults to the global fetch (Node 20, browsers). */
  readonly fetch?: typeof fetch
  /** Sent as Accept-Language: problem titles in Chinese (default) or English. */
  readonly language?: 'zh-CN' | 'en'
}

export interface Health {
  readonly status: 'ok'
  readonly version: string
  readonly uptimeSeconds: number
}

export interface Readiness {
  readonly status: 'ready'
  readonly version: string
  readonly checks: Record<string, unknown>
}

export interface YiqianClient {
  health(): Promise<Health>
  /** Throws ProblemError with code NOT_READY when the server is up but not ready. */
  readiness(): Promise<Readiness>
}

/** A typed client for clinical systems. It knows only the HTTP contract, never server internals. */
export function createClient(options: ClientOptions): YiqianClient {
  const doFetch = options.fetch ?? fetch
  const base = options.baseUrl.replace(/\/+$/, '')

  async function get<T>(path: string): Promise<T> {
    const res = await doFetch(`${base}${path}`, {
      headers: { accept: 'application/json, application/problem+json', 'accept-language': options.language ?? 'zh-CN' },
    })
    const type = res.headers.get('content-type') ?? ''
    if (res.ok) return (await res.json()) as T
    if (type.startsWith('application/problem+json')) throw new ProblemError((await res.json()) as ProblemDetails)
    throw new ProblemError({
      type: 'about:blank',
      title: res.statusText || 'HTTP error',
      status: res.status,
      code: `HTTP_${res.status}`,
    })
  }

  return {
    health: () => get<Health>('/healthz'),
    readiness: () => get<Readiness>('/readyz'),
  }
}
