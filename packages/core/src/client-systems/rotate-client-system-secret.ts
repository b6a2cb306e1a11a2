import type { ActorContext } from '../access/principal.js'
import { type ClientSystem, checkGraceSeconds, generateSecret, secretContext, viewOf } from './client-system.js'
import type { ClientSystemDependencies, IssuedClientSecret } from './register-client-system.js'

/**
 * Issues a new secret. With a grace period the old secret keeps working until it ends, so the clinical system
 * can be reconfigured without an outage; with 0 (the default) it stops working at once. A secret still in its
 * grace period from an earlier rotation is dropped: at most two secrets are ever valid.
 */
export function createRotateClientSystemSecret({ uow, clock, secretBox }: ClientSystemDependencies) {
  return async function rotateClientSystemSecret(
    id: string,
    input: { readonly graceSeconds?: number | undefined },
    actor: ActorContext,
  ): Promise<IssuedClientSecret> {
    const graceSeconds = checkGraceSeconds(input.graceSeconds ?? 0)
    return uow.run(async ({ clientSystems, audit }) => {
      const current = await clientSystems.getOrThrow(id)
      const now = clock.now()
      const secret = generateSecret()
      const keepOld = graceSeconds > 0
      const next: ClientSystem = {
        ...current,
        sealedSecret: secretBox.seal(secret, secretContext(id)),
        previousSealedSecret: keepOld ? current.sealedSecret : undefined,
        previousSecretExpiresAt: keepOld ? new Date(now.getTime() + graceSeconds * 1000) : undefined,
        secretRotatedAt: now,
        updatedAt: now,
        version: current.version + 1,
      }
      await clientSystems.update(next)
      await audit.append({
        ...actor,
        type: 'client-system.secret-rotated',
        subject: id,
        data: {
          appId: current.appId,
          graceSeconds,
          previousSecretExpiresAt: next.previousSecretExpiresAt?.toISOString(),
        },
        outcome: 'success',
      })
      return { system: viewOf(next), secret }
    })
  }
}
