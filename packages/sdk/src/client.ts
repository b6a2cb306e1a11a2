import { type ProblemDetails, ProblemError } from './problem.js'
import { signRequest } from './request-signing.js'

/** A registered client system's app id and secret: every request is then signed with HMAC-SM3. */
export interface ClientCredentials {
  readonly appId: string
  readonly secret: string
}

export interface ClientOptions {
  /** e.g. `https://yiqian.hospital.example` */
  readonly baseUrl: string
  /** Defaults to the global fetch (Node 20, browsers). */
  readonly fetch?: typeof fetch
  /** Sent as Accept-Language: problem titles in Chinese (default) or English. */
  readonly language?: 'zh-CN' | 'en'
  /** Sign every request as this client system. */
  readonly credentials?: ClientCredentials | undefined
  /** The clock used for signature timestamps (tests); defaults to the system time. */
  readonly now?: () => Date
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
  /**
   * Any API call: `body` is sent as JSON. Returns the parsed JSON answer (undefined for 204); throws ProblemError.
   * `path` includes the query string, e.g. `/api/v1/client-systems?x=1`.
   */
  request<T>(method: string, path: string, body?: unknown): Promise<T>
}

/** A typed client for clinical systems. It knows only the HTTP contract, never server internals. */
export function createClient(options: ClientOptions): YiqianClient {
  const doFetch = options.fetch ?? fetch
  const base = options.baseUrl.replace(/\/+$/, '')

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(`${base}${path}`)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'accept-language': options.language ?? 'zh-CN',
      ...(payload !== undefined && { 'content-type': 'application/json' }),
    }
    if (options.credentials) {
      // The path is signed as fetch will send it (URL-normalised, with any base-URL prefix).
      Object.assign(
        headers,
        signRequest({
          ...options.credentials,
          method,
          path: `${url.pathname}${url.search}`,
          body: payload,
          now: options.now?.(),
        }),
      )
    }
    const res = await doFetch(url, { method, headers, ...(payload !== undefined && { body: payload }) })
    const type = res.headers.get('content-type') ?? ''
    if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T
    if (type.startsWith('application/problem+json')) throw new ProblemError((await res.json()) as ProblemDetails)
    throw new ProblemError({
      type: 'about:blank',
      title: res.statusText || 'HTTP error',
      status: res.status,
      code: `HTTP_${res.status}`,
    })
  }

  return {
    health: () => request<Health>('GET', '/healthz'),
    readiness: () => request<Readiness>('GET', '/readyz'),
    request,
  }
}
