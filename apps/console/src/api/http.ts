import i18next from 'i18next'

/** One field the server refused, as named by its RFC 9457 `errors` (`body.username`, `query.to`, …). */
export interface FieldProblem {
  readonly field: string
  readonly message: string
}

/** An RFC 9457 problem answer, or a failure to get one (status 0: network, timeout or a body that is not JSON). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: readonly FieldProblem[],
    /** The whole problem body, for extensions such as an import's `rowErrors`. */
    readonly body: Readonly<Record<string, unknown>>,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ? `${title}: ${detail}` : title)
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError
}

/** Hooks the session layer installs: the session ended (401), or the account must finish its first sign-in. */
interface SessionHooks {
  onSessionEnded(): void
  onStageRequired(): void
}

let csrfToken: string | undefined
let hooks: SessionHooks | undefined

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token
}

export function installSessionHooks(next: SessionHooks): void {
  hooks = next
}

export type Query = Readonly<Record<string, string | number | boolean | undefined | null>>

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** A JSON body, or a file (sent as it is with its own content type). */
  readonly body?: unknown
  readonly query?: Query
  readonly signal?: AbortSignal
  /**
   * Whether a 401 or a first-sign-in refusal means "the session is over / unfinished". Sign-in itself turns this off:
   * its 401s (wrong password, code required) are answers, not a lost session.
   */
  readonly sessionAware?: boolean
  /** `blob` returns the raw body (exports). */
  readonly as?: 'json' | 'blob'
}

const timeoutMs = 30_000
const unsafe = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function urlOf(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return search ? `${path}?${search}` : path
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined
}

async function problemOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = await response.json()
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
  } catch {
    // A proxy's HTML error page: the status is all there is.
  }
  const errors = Array.isArray(body.errors)
    ? body.errors.flatMap((e: unknown) => {
        const item = e as Record<string, unknown> | null
        return typeof item?.field === 'string' && typeof item.message === 'string'
          ? [{ field: item.field, message: item.message }]
          : []
      })
    : []
  const retryAfter = Number(response.headers.get('retry-after'))
  return new ApiError(
    typeof body.status === 'number' ? body.status : response.status,
    text(body.code) ?? `HTTP_${response.status}`,
    text(body.title) ?? i18next.t('problem.status', { status: response.status }),
    text(body.detail),
    errors,
    body,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  )
}

/**
 * The console's one way to call the API: same-origin cookie, JSON in and out, the CSRF token on unsafe methods,
 * the UI language for problem titles, and RFC 9457 problems thrown as `ApiError`.
 */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = {
    accept: 'application/json, application/problem+json',
    'accept-language': i18next.language || 'zh-CN',
  }
  let body: BodyInit | undefined
  if (options.body instanceof Blob) {
    body = options.body
    headers['content-type'] = options.body.type || 'application/octet-stream'
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] = 'application/json'
  }
  if (unsafe.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]
  let response: Response
  try {
    response = await fetch(urlOf(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: AbortSignal.any(signals),
    })
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new ApiError(0, 'NETWORK', i18next.t('problem.network'), undefined, [], {})
  }
  if (!response.ok) {
    const problem = await problemOf(response)
    if (options.sessionAware !== false) {
      if (problem.code === 'UNAUTHENTICATED') hooks?.onSessionEnded()
      else if (problem.code === 'PASSWORD_CHANGE_REQUIRED' || problem.code === 'SECOND_FACTOR_REQUIRED') {
        hooks?.onStageRequired()
      }
    }
    throw problem
  }
  if (options.as === 'blob') return (await response.blob()) as T
  if (response.status === 204) return undefined as T
  try {
    return (await response.json()) as T
  } catch {
    throw new ApiError(0, 'NETWORK', i18next.t('problem.network'), undefined, [], {})
  }
}
