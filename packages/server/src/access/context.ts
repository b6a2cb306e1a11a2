import type { ActorContext, Principal, RouteAccess } from '@yiqian/core'
import type { FastifyRequest } from 'fastify'

// The contract every route follows:
//   app.get('/api/v1/…', { config: { access: 'org.read' }, schema: { … } }, handler)
// `access` is required (the server refuses to start on a route without it). By the time a handler runs, the access
// control has authenticated the caller, checked the permission and written the access audit row; the handler finds
// the caller in `request.principal` and passes `request.actor` to use cases, which append their own audit row for
// the state change in the same unit of work.

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    /** The authenticated caller; undefined only on public routes. */
    principal: Principal | undefined
    /** Who, with which roles, from where, in which request: spread into audit events. */
    actor: ActorContext
  }
}

/** The caller of a non-public route (the access control guarantees there is one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`route ${request.routeOptions.url} reached without a principal`)
  return request.principal
}
