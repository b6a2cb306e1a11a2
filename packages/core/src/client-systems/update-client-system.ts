import type { ActorContext } from '../access/principal.js'
import { DomainError } from '../errors.js'
import {
  type ClientSystem,
  type ClientSystemScope,
  type ClientSystemView,
  checkFingerprint,
  checkIpAllowList,
  checkName,
  checkRateLimit,
  checkScope,
  viewOf,
} from './client-system.js'
import type { ClientSystemDependencies } from './register-client-system.js'

/** Fields to change; absent ones stay. `version` is the version the caller last read. */
export interface ClientSystemChanges {
  readonly version: number
  readonly name?: string | undefined
  readonly enabled?: boolean | undefined
  readonly ipAllowList?: readonly string[] | undefined
  readonly rateLimitPerMinute?: number | undefined
  readonly scope?: ClientSystemScope | undefined
  /** A fingerprint to pin, or null to remove the pin. */
  readonly certificateFingerprint?: string | null | undefined
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Renames, enables or disables, and changes the allow-list, rate limit or scope of a client system. The code and
 * app id never change (statistics and the system's own configuration refer to them).
 */
export function createUpdateClientSystem({ uow, clock }: Omit<ClientSystemDependencies, 'secretBox'>) {
  return async function updateClientSystem(id: string, input: ClientSystemChanges, actor: ActorContext) {
    const wanted = {
      ...(input.name !== undefined && { name: checkName(input.name) }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      ...(input.ipAllowList !== undefined && { ipAllowList: checkIpAllowList(input.ipAllowList) }),
      ...(input.rateLimitPerMinute !== undefined && { rateLimitPerMinute: checkRateLimit(input.rateLimitPerMinute) }),
      ...(input.scope !== undefined && { scope: checkScope(input.scope) }),
      ...(input.certificateFingerprint !== undefined && {
        certificateFingerprint: checkFingerprint(input.certificateFingerprint),
      }),
    }
    return uow.run(async ({ clientSystems, audit }): Promise<ClientSystemView> => {
      const current = await clientSystems.getOrThrow(id)
      if (current.version !== input.version) {
        throw new DomainError('VERSION_CONFLICT', `client system ${id} was changed by someone else`, {
          id,
          version: current.version,
        })
      }
      const changes = Object.fromEntries(
        Object.entries(wanted).filter(([key, value]) => !same(current[key as keyof ClientSystem], value)),
      ) as Partial<typeof wanted>
      if (Object.keys(changes).length === 0) return viewOf(current)
      const next: ClientSystem = { ...current, ...changes, updatedAt: clock.now(), version: current.version + 1 }
      await clientSystems.update(next)
      const type =
        changes.enabled === true
          ? 'client-system.enabled'
          : changes.enabled === false
            ? 'client-system.disabled'
            : 'client-system.updated'
      // null, not undefined, so that a removed pin shows in the audit data.
      const recorded = Object.fromEntries(Object.entries(changes).map(([key, value]) => [key, value ?? null]))
      await audit.append({
        ...actor,
        type,
        subject: id,
        data: { appId: current.appId, changes: recorded },
        outcome: 'success',
      })
      return viewOf(next)
    })
  }
}
