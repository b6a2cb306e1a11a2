import cookie from '@fastify/cookie'
import {
  type AccessService,
  type Account,
  actorContext,
  DomainError,
  hasPermission,
  isDomainError,
  isPermission,
  type Principal,
  type RouteAccess,
  type Session,
  sameToken,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import './context.js'

// Every request passes here before its handler: who is calling (a client system's signed request or a console
// session cookie), may they (the route's declared access against their roles), and the audit row that says so —
// written before the handler runs, so that an access that cannot be audited does not happen. Refusals are audited
// too. A route without a declared access stops the server from starting.

export const SESSION_COOKIE = 'yiqian_session'
export const CSRF_HEADER = 'x-csrf-token'

/** Authenticates a client system's request; undefined when the request does not claim to be one. */
export type RequestAuthenticator = (request: FastifyRequest) => Promise<Principal | undefined>

export interface AccessControlOptions {
  readonly uow: UnitOfWork
  readonly access: AccessService
  readonly authenticators: readonly RequestAuthenticator[]
  /** Route prefixes served by plugins we do not write (Swagger UI, the static web apps): public. */
  readonly publicPrefixes: readonly string[]
}

/** A route as the access control saw it: what the authorisation matrix test walks. */
export interface DeclaredRoute {
  readonly method: string
  readonly url: string
  readonly access: RouteAccess
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its declared access, in registration order. */
    readonly declaredRoutes: readonly DeclaredRoute[]
  }
  interface FastifyRequest {
    /** The console session behind the request, when it came with a session cookie. */
    session: Session | undefined
    /** The account of that session, as read by the access check. */
    account: Account | undefined
  }
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export function accessOf(request: FastifyRequest): RouteAccess | undefined {
  return request.routeOptions.config.access
}

function routeName(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`
}

/** Where the problem answer should send the user: sign in, change the password, or enrol TOTP first. */
function stageProblem(session: Session): DomainError {
  return session.stage === 'password-change'
    ? new DomainError('PASSWORD_CHANGE_REQUIRED', 'change your password before anything else', { stage: session.stage })
    : new DomainError('SECOND_FACTOR_REQUIRED', 'enrol a TOTP authenticator before anything else', {
        stage: session.stage,
      })
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: request.protocol === 'https',
  })
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: request.protocol === 'https',
  })
}

export async function installAccessControl(app: FastifyInstance, options: AccessControlOptions): Promise<void> {
  await app.register(cookie)
  app.decorateRequest('principal', undefined)
  app.decorateRequest('session', undefined)
  app.decorateRequest('account', undefined)
  app.decorateRequest('actor', undefined as never)

  const undeclared: string[] = []
  const declared: DeclaredRoute[] = []
  app.decorate('declaredRoutes', declared)
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    const methods = [route.method].flat().map(String)
    if (options.publicPrefixes.some((prefix) => url === prefix || url.startsWith(`${prefix}/`))) {
      route.config = { ...route.config, access: 'public' }
    }
    const access = route.config?.access
    if (access === undefined || !(access === 'public' || access === 'authenticated' || isPermission(access))) {
      undeclared.push(`${methods.join(',')} ${url}`)
      return
    }
    for (const method of methods) declared.push({ method, url, access })
  })
  app.addHook('onReady', async () => {
    if (undeclared.length > 0) {
      throw new Error(`routes without a declared access (config.access): ${undeclared.join(', ')}`)
    }
  })

  app.addHook('onRequest', async (request) => {
    request.actor = actorContext(undefined, request.ip, request.id)
  })

  app.addHook('preValidation', async (request) => {
    const access = accessOf(request)
    // Unknown routes (404) carry no config; they reach the not-found handler with nothing to protect.
    if (access === undefined || access === 'public') return

    let principal: Principal | undefined
    let session: Session | undefined
    let account: Account | undefined
    let refusal: DomainError | undefined
    /** A refusal that is not a domain error (a client system over its rate): audited, then thrown as it is. */
    let rejection: (Error & { statusCode?: number }) | undefined
    try {
      for (const authenticate of options.authenticators) {
        principal = await authenticate(request)
        if (principal) break
      }
    } catch (error) {
      if (isDomainError(error)) refusal = error
      else if (error instanceof Error && (error as { statusCode?: number }).statusCode === 429) {
        rejection = error
        refusal = new DomainError('PERMISSION_DENIED', error.message, { reason: 'rate-limited' })
      } else throw error
    }

    const token = request.cookies[SESSION_COOKIE]
    const outcome = await options.uow.run(async (tx) => {
      if (!principal && !refusal && token) {
        const authenticated = await options.access.authenticate(tx, token)
        if (authenticated) {
          principal = authenticated.principal
          session = authenticated.session
          account = authenticated.account
        }
      }
      const actor = actorContext(principal, request.ip, request.id)
      if (!refusal) {
        if (!principal) {
          refusal = new DomainError('UNAUTHENTICATED', 'sign in first', {
            reason: token ? 'session-expired' : 'no-session',
          })
        } else if (session && !SAFE_METHODS.has(request.method)) {
          const given = request.headers[CSRF_HEADER]
          if (typeof given !== 'string' || !sameToken(given, session.csrfToken)) {
            refusal = new DomainError('PERMISSION_DENIED', 'missing or wrong CSRF token (X-CSRF-Token)', {
              reason: 'csrf',
            })
          }
        }
      }
      if (!refusal && session && access !== 'authenticated' && session.stage !== 'active')
        refusal = stageProblem(session)
      if (!refusal && principal && access === 'authenticated' && principal.kind !== 'user') {
        refusal = new DomainError('PERMISSION_DENIED', 'this route is for console users', { reason: 'not-a-user' })
      }
      if (!refusal && principal && access !== 'authenticated' && !hasPermission(principal.roles, access)) {
        refusal = new DomainError('PERMISSION_DENIED', `requires permission ${access}`, {
          reason: 'permission',
          permission: access,
        })
      }
      await tx.audit.append({
        ...actor,
        type: refusal ? 'access.denied' : 'access',
        subject: routeName(request),
        outcome: refusal ? 'denied' : 'success',
        data: {
          access,
          ...(refusal && {
            code: rejection ? 'TOO_MANY_REQUESTS' : refusal.code,
            reason: String(refusal.details.reason ?? ''),
          }),
        },
      })
      return { actor }
    })
    if (rejection) throw rejection
    if (refusal) throw refusal
    request.principal = principal
    request.session = session
    request.account = account
    request.actor = outcome.actor
  })

  // A request that got past the access check and then failed is recorded as a failure (the change itself rolled
  // back with its own audit row). Best effort: the response has already been decided.
  app.addHook('onResponse', async (request, reply) => {
    if (!request.principal || reply.statusCode < 400) return
    try {
      await options.uow.run((tx) =>
        tx.audit.append({
          ...request.actor,
          type: 'access.failed',
          subject: routeName(request),
          outcome: 'failure',
          data: { status: reply.statusCode },
        }),
      )
    } catch (error) {
      request.log.error({ err: error }, 'could not audit a failed request')
    }
  })
}
