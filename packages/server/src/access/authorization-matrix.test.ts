import { hasPermission, ROLES, type Role, verifyAuditChain } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestApp,
  type RegisteredClientSystem,
  registerClientSystem,
  type SignedIn,
  signInAs,
  type TestApp,
} from '../testing.js'
import type { DeclaredRoute } from './access-control.js'

// Every route × every role: a role the route's permission does not grant gets 403 PERMISSION_DENIED from the
// access control; a role it grants gets past it (whatever the handler then says about the empty request). Console
// roles come with a session cookie and CSRF token, the client-system role with HMAC-SM3 signed requests.

const USER_ROLES = ROLES.filter((role) => role !== 'client-system')

function expectedAllowed(route: DeclaredRoute, role: Role): boolean {
  if (route.access === 'authenticated') return role !== 'client-system'
  if (route.access === 'public') return true
  return hasPermission([role], route.access)
}

/** A URL for the route with its parameters filled in with ids that do not exist. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'no-such-id').replace(/\*$/, 'x')
}

describe('authorisation matrix', () => {
  let t: TestApp
  const signedIn = new Map<Role, SignedIn>()
  let clientSystem: RegisteredClientSystem
  let routes: DeclaredRoute[]

  /** The headers a caller in `role` sends with this request. */
  function headersFor(role: Role, method: string, url: string, body: string | undefined): Record<string, string> {
    if (role === 'client-system') return clientSystem.sign(method, url, body)
    const who = signedIn.get(role)
    if (!who) throw new Error(role)
    return { ...who.headers }
  }

  beforeAll(async () => {
    t = await createTestApp()
    for (const role of USER_ROLES) {
      signedIn.set(
        role,
        await signInAs(t, [role], role === 'dept-manager' ? { departmentIds: ['no-such-department'] } : {}),
      )
    }
    clientSystem = await registerClientSystem(t)
    routes = t.app.declaredRoutes.filter((r) => r.access !== 'public' && r.method !== 'HEAD')
  }, 60_000)
  afterAll(async () => t?.close())

  it('declares an access for every route, and the API routes are protected', () => {
    const api = t.app.declaredRoutes.filter((r) => r.url.startsWith('/api/'))
    expect(api.length).toBeGreaterThan(10)
    const publicApi = api.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`)
    // Sign-in, and phone enrolment whose credential is the one-time activation code (attempt-limited, rate-limited).
    expect(publicApi.sort()).toEqual([
      'POST /api/v1/auth/login',
      'POST /api/v1/enrolment/keygen',
      'POST /api/v1/enrolment/keygen/:sessionId',
    ])
  })

  it('the RFC 3161 timestamp endpoint is public (relying parties stamp without signing in)', () => {
    const tsa = t.app.declaredRoutes.filter((r) => r.url === '/tsa' && r.method === 'POST')
    expect(tsa).toEqual([{ method: 'POST', url: '/tsa', access: 'public' }])
  })

  it('no route edits or deletes audit records', () => {
    const writesToAudit = t.app.declaredRoutes.filter(
      (r) => r.url.startsWith('/api/v1/audit') && !['GET', 'HEAD', 'POST'].includes(r.method),
    )
    expect(writesToAudit).toEqual([])
    for (const route of t.app.declaredRoutes.filter((r) => r.url.startsWith('/api/v1/audit'))) {
      expect(['audit.read', 'audit.export'], `${route.method} ${route.url}`).toContain(route.access)
    }
  })

  it('allows and denies each route for each role as the grant table says', async () => {
    const mismatches: string[] = []
    let checked = 0
    for (const route of routes) {
      for (const role of ROLES) {
        // Sign-out would end the session the rest of the matrix uses.
        if (route.url === '/api/v1/auth/logout' && role !== 'client-system') continue
        const url = concrete(route.url)
        const payload = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}'
        const response = await t.app.inject({
          method: route.method as 'GET',
          url,
          // No content type without a body: Fastify refuses an empty JSON body before any access check (DELETE).
          headers: {
            ...headersFor(role, route.method, url, payload),
            ...(payload !== undefined && { 'content-type': 'application/json' }),
          },
          ...(payload !== undefined && { payload }),
        })
        const body = String(response.headers['content-type'] ?? '').includes('json') ? response.json() : {}
        const denied = response.statusCode === 403 && body.code === 'PERMISSION_DENIED'
        const unauthenticated = response.statusCode === 401 && body.code === 'UNAUTHENTICATED'
        const allowed = expectedAllowed(route, role)
        if (unauthenticated || denied === allowed) {
          mismatches.push(
            `${role} ${route.method} ${route.url}: expected ${allowed ? 'allow' : 'deny'}, got ${response.statusCode} ${body.code ?? ''}`,
          )
        }
        checked++
      }
    }
    expect(mismatches).toEqual([])
    expect(checked).toBeGreaterThan(routes.length * (ROLES.length - 1))
  }, 120_000)

  it('the auditor can change nothing: every non-GET route but its own session is refused', () => {
    const auditorWrites = routes.filter(
      (r) => r.method !== 'GET' && r.access !== 'authenticated' && expectedAllowed(r, 'auditor'),
    )
    expect(auditorWrites.map((r) => `${r.method} ${r.url}`)).toEqual(
      auditorWrites.filter((r) => r.url.startsWith('/api/v1/audit')).map((r) => `${r.method} ${r.url}`),
    )
  })

  it('left an intact audit chain behind, refusals included', async () => {
    const trail = await t.services.uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
    expect(() => verifyAuditChain(trail)).not.toThrow()
    expect(trail.filter((r) => r.type === 'access.denied').length).toBeGreaterThan(routes.length)
  })
})
