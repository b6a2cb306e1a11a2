import { randomUUID } from 'node:crypto'
import { newAccount } from '../accounts/account.js'
import { generateCredential, hashPassword } from '../accounts/password.js'
import type { Clock } from '../clock.js'
import type { UnitOfWork } from '../unit-of-work.js'

export const INITIAL_ADMINISTRATOR = 'admin'

export interface InitialCredential {
  readonly username: string
  readonly password: string
}

export type InitialAdministratorOutcome =
  | { readonly created: true; readonly username: string }
  | { readonly created: false }

/**
 * First start: create the bootstrap administrator with a random password (there is no default password).
 * `deliver` hands the credential over (the server writes it to a 0600 file) inside the transaction, so a
 * failed delivery leaves no account that nobody can sign in to.
 */
export function createEnsureInitialAdministrator({ uow, clock }: { uow: UnitOfWork; clock: Clock }) {
  return function ensureInitialAdministrator(
    deliver: (credential: InitialCredential) => Promise<void>,
  ): Promise<InitialAdministratorOutcome> {
    return uow.run(async ({ accounts, audit }) => {
      if ((await accounts.count()) > 0) return { created: false } as const
      const password = generateCredential()
      const admin = newAccount({
        id: randomUUID(),
        username: INITIAL_ADMINISTRATOR,
        displayName: '初始管理员 Initial administrator',
        // The bootstrap account holds all three roles only until it has created the three administrators.
        roles: ['sysadmin', 'secadmin', 'auditor'],
        passwordHash: await hashPassword(password),
        mustChangePassword: true,
        createdAt: clock.now(),
      })
      await accounts.insert(admin)
      await audit.append({
        type: 'administrator.bootstrapped',
        actor: 'system',
        subject: admin.id,
        data: { username: admin.username },
      })
      await deliver({ username: admin.username, password })
      return { created: true, username: admin.username } as const
    })
  }
}
