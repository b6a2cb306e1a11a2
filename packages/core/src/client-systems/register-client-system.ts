import { randomUUID } from 'node:crypto'
import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { UnitOfWork } from '../unit-of-work.js'
import {
  type ClientSystem,
  type ClientSystemScope,
  type ClientSystemView,
  checkCode,
  checkFingerprint,
  checkIpAllowList,
  checkName,
  checkRateLimit,
  checkScope,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  generateAppId,
  generateSecret,
  secretContext,
  viewOf,
} from './client-system.js'

export interface ClientSystemRegistration {
  readonly code: string
  readonly name: string
  readonly enabled?: boolean | undefined
  readonly ipAllowList?: readonly string[] | undefined
  readonly rateLimitPerMinute?: number | undefined
  readonly scope: ClientSystemScope
  /** Pin a client-certificate fingerprint (see ClientSystem.certificateFingerprint); null or absent for none. */
  readonly certificateFingerprint?: string | null | undefined
}

/** What creating or rotating returns: the only time the secret is ever shown. */
export interface IssuedClientSecret {
  readonly system: ClientSystemView
  readonly secret: string
}

export interface ClientSystemDependencies {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

export function createRegisterClientSystem({ uow, clock, secretBox }: ClientSystemDependencies) {
  return async function registerClientSystem(
    input: ClientSystemRegistration,
    actor: ActorContext,
  ): Promise<IssuedClientSecret> {
    const code = checkCode(input.code)
    const name = checkName(input.name)
    const ipAllowList = checkIpAllowList(input.ipAllowList ?? [])
    const rateLimitPerMinute = checkRateLimit(input.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE)
    const scope = checkScope(input.scope)
    const certificateFingerprint = checkFingerprint(input.certificateFingerprint ?? null)
    return uow.run(async ({ clientSystems, audit }) => {
      const id = randomUUID()
      const secret = generateSecret()
      const now = clock.now()
      const system: ClientSystem = {
        id,
        code,
        name,
        appId: generateAppId(),
        enabled: input.enabled ?? true,
        ipAllowList,
        rateLimitPerMinute,
        scope,
        certificateFingerprint,
        sealedSecret: secretBox.seal(secret, secretContext(id)),
        previousSealedSecret: undefined,
        previousSecretExpiresAt: undefined,
        secretRotatedAt: now,
        createdAt: now,
        updatedAt: now,
        version: 1,
      }
      await clientSystems.insert(system)
      await audit.append({
        ...actor,
        type: 'client-system.registered',
        subject: id,
        data: {
          code,
          name,
          appId: system.appId,
          enabled: system.enabled,
          ipAllowList,
          rateLimitPerMinute,
          scope,
          certificateFingerprint: certificateFingerprint ?? null,
        },
        outcome: 'success',
      })
      return { system: viewOf(system), secret }
    })
  }
}
