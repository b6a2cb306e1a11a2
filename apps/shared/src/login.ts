export interface Credentials {
  username: string
  password: string
}

/**
 * What a sign-in attempt can end in today. There is deliberately no success case: sessions arrive with the
 * identity work, and until then no app may behave as if someone were signed in.
 */
export type LoginFailure =
  | { kind: 'problem'; status: number; title?: string; detail?: string }
  | { kind: 'network' }
  | { kind: 'unsupported' }

const timeoutMs = 15_000

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined
}

/** POSTs the credentials and turns the answer (normally an RFC 9457 problem) into a `LoginFailure`. */
export async function attemptLogin(path: string, credentials: Credentials, language: string): Promise<LoginFailure> {
  let response: Response
  let body: unknown
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/problem+json, application/json',
        'accept-language': language,
      },
      body: JSON.stringify(credentials),
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    })
    body = await response.json()
  } catch {
    // Unreachable server, timeout, or a body that is not JSON (e.g. a proxy's HTML error page).
    return { kind: 'network' }
  }
  if (response.ok) return { kind: 'unsupported' }
  const problem = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
  return {
    kind: 'problem',
    status: typeof problem.status === 'number' ? problem.status : response.status,
    title: text(problem.title),
    detail: text(problem.detail),
  }
}
