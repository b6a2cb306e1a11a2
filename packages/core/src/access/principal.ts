import type { Role } from './roles.js'

/** The authenticated caller of one request. */
export interface Principal {
  readonly kind: 'user' | 'client-system'
  /** Account id or client-system id. */
  readonly id: string
  /** Username or app id, for people reading the audit trail. */
  readonly name: string
  readonly roles: readonly Role[]
  /**
   * A department manager's departments (their subtrees are in scope). For a client system: its scope as registered,
   * where `*` means every department and an empty list means none — check it with `assertWithinScope`.
   */
  readonly departmentIds: readonly string[]
}

/** Who did something, from where: what every audit row of a request carries. */
export interface ActorContext {
  /** `user:<id>`, `client-system:<id>`, `anonymous` or `system`. */
  readonly actor: string
  /** The roles the actor acted with, comma-separated; empty for anonymous and system. */
  readonly actorRole: string
  /** The caller's IP address. */
  readonly source: string
  readonly requestId: string
}

export function actorOf(principal: Principal | undefined): string {
  return principal ? `${principal.kind}:${principal.id}` : 'anonymous'
}

export function actorContext(principal: Principal | undefined, source: string, requestId: string): ActorContext {
  return { actor: actorOf(principal), actorRole: principal?.roles.join(',') ?? '', source, requestId }
}

export const SYSTEM_ACTOR: ActorContext = { actor: 'system', actorRole: '', source: 'local', requestId: '' }
