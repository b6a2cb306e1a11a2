import { randomUUID } from 'node:crypto'
import type { ActorContext, Principal } from '../access/principal.js'
import { ADMINISTRATOR_ROLES, ROLES, type Role } from '../access/roles.js'
import { INITIAL_ADMINISTRATOR } from '../bootstrap/ensure-initial-administrator.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import { type Account, type AccountStatus, newAccount } from './account.js'
import { generateCredential, hashPassword } from './password.js'
import {
  AUDIT_RETENTION_MIN_DAYS,
  DEFAULT_SECURITY_POLICY,
  DEFAULT_SYSTEM_SETTINGS,
  readSetting,
  replaceSetting,
  SECURITY_POLICY_KEY,
  SECURITY_POLICY_LIMITS,
  type SecurityPolicy,
  SYSTEM_SETTINGS_KEY,
  type SystemSettings,
} from './policy.js'

// The three administrators each keep to their own powers (三员分立): the system administrator creates accounts,
// disables them and resets their credentials; the security administrator decides their roles and the security
// policy; the audit administrator only reads. These use cases enforce the separations the route permissions cannot
// express: nobody changes their own roles or disables themselves, and one account holds at most one of the three.

/** Roles a security administrator can give to a console account (client systems are registered, not assigned). */
export const ASSIGNABLE_ROLES = ROLES.filter((role) => role !== 'client-system')

export interface AccountView {
  readonly id: string
  readonly username: string
  readonly displayName: string
  readonly roles: readonly Role[]
  readonly departmentIds: readonly string[]
  readonly status: AccountStatus
  readonly mustChangePassword: boolean
  readonly totpEnrolled: boolean
  readonly lockedUntil: string | undefined
  readonly lastLoginAt: string | undefined
  readonly createdAt: string
  readonly version: number
}

export function viewOfAccount(account: Account): AccountView {
  return {
    id: account.id,
    username: account.username,
    displayName: account.displayName,
    roles: account.roles,
    departmentIds: account.departmentIds,
    status: account.status,
    mustChangePassword: account.mustChangePassword,
    totpEnrolled: account.totpSecret !== undefined,
    lockedUntil: account.lockedUntil?.toISOString(),
    lastLoginAt: account.lastLoginAt?.toISOString(),
    createdAt: account.createdAt.toISOString(),
    version: account.version,
  }
}

function requireVersion(account: Account, version: number) {
  if (account.version !== version) {
    throw new DomainError('VERSION_CONFLICT', `account ${account.id} is at version ${account.version}`, {
      field: 'version',
      current: account.version,
    })
  }
}

function notSelf(principal: Principal, accountId: string, what: string) {
  if (principal.id === accountId) {
    throw new DomainError('PERMISSION_DENIED', `you cannot ${what} your own account`, { field: 'id' })
  }
}

export function createAccountAdministration({ uow, clock }: { uow: UnitOfWork; clock: Clock }) {
  async function list(): Promise<AccountView[]> {
    return uow.run(async (tx) => (await tx.accounts.list()).map(viewOfAccount))
  }

  async function get(id: string): Promise<AccountView> {
    return uow.run(async (tx) => viewOfAccount(await tx.accounts.getOrThrow(id)))
  }

  /** A new account with no roles and a one-time password the user must change at first sign-in. */
  async function create(actor: ActorContext, input: { readonly username: string; readonly displayName: string }) {
    const password = generateCredential()
    const account = newAccount({
      id: randomUUID(),
      username: input.username,
      displayName: input.displayName,
      roles: [],
      passwordHash: await hashPassword(password),
      mustChangePassword: true,
      createdAt: clock.now(),
    })
    await uow.run(async (tx) => {
      await tx.accounts.insert(account)
      await tx.audit.append({
        ...actor,
        type: 'account.created',
        subject: account.id,
        outcome: 'success',
        data: { username: account.username, displayName: account.displayName },
      })
    })
    return { account: viewOfAccount(account), initialPassword: password }
  }

  /** Display name, enable/disable, unlock. Disabling ends the account's sessions at once. */
  async function update(
    actor: ActorContext,
    principal: Principal,
    id: string,
    change: {
      readonly version: number
      readonly displayName?: string | undefined
      readonly status?: AccountStatus | undefined
      readonly unlock?: boolean | undefined
    },
  ): Promise<AccountView> {
    return uow.run(async (tx) => {
      const account = await tx.accounts.getOrThrow(id)
      requireVersion(account, change.version)
      if (change.status === 'disabled') notSelf(principal, id, 'disable')
      const updated: Account = {
        ...account,
        displayName: change.displayName ?? account.displayName,
        status: change.status ?? account.status,
        ...(change.unlock && { lockedUntil: undefined, failedLogins: 0 }),
        version: account.version + 1,
      }
      await tx.accounts.update(updated)
      const endedSessions = updated.status === 'disabled' ? await tx.sessions.deleteForAccount(id) : 0
      await tx.audit.append({
        ...actor,
        type: 'account.updated',
        subject: id,
        outcome: 'success',
        data: {
          ...(change.displayName !== undefined && { displayName: change.displayName }),
          ...(change.status !== undefined && { status: { from: account.status, to: updated.status } }),
          ...(change.unlock && { unlocked: true }),
          endedSessions,
        },
      })
      return viewOfAccount(updated)
    })
  }

  /** A new one-time password and no TOTP: for a forgotten password or a lost phone. Ends the account's sessions. */
  async function resetCredentials(actor: ActorContext, principal: Principal, id: string) {
    notSelf(principal, id, 'reset the credentials of')
    const password = generateCredential()
    const passwordHash = await hashPassword(password)
    const account = await uow.run(async (tx) => {
      const current = await tx.accounts.getOrThrow(id)
      const reset: Account = {
        ...current,
        passwordHash,
        mustChangePassword: true,
        totpSecret: undefined,
        totpLastStep: undefined,
        failedLogins: 0,
        lockedUntil: undefined,
        version: current.version + 1,
      }
      await tx.accounts.update(reset)
      const endedSessions = await tx.sessions.deleteForAccount(id)
      await tx.audit.append({
        ...actor,
        type: 'account.credentials-reset',
        subject: id,
        outcome: 'success',
        data: { endedSessions },
      })
      return reset
    })
    return { account: viewOfAccount(account), initialPassword: password }
  }

  /**
   * The security administrator's power. At most one of the three administrator roles per account; a department
   * manager needs departments; nobody changes their own roles. The account's sessions end so the change applies at
   * once.
   */
  async function assignRoles(
    actor: ActorContext,
    principal: Principal,
    id: string,
    input: { readonly version: number; readonly roles: readonly Role[]; readonly departmentIds: readonly string[] },
  ): Promise<AccountView> {
    notSelf(principal, id, 'change the roles of')
    const roles = [...new Set(input.roles)]
    for (const role of roles) {
      if (!(ASSIGNABLE_ROLES as readonly string[]).includes(role)) {
        throw new DomainError('ROLE_CONFLICT', `role ${role} cannot be assigned to an account`, { field: 'roles' })
      }
    }
    const administratorRoles = roles.filter((role) => (ADMINISTRATOR_ROLES as readonly string[]).includes(role))
    if (administratorRoles.length > 1) {
      throw new DomainError(
        'ROLE_CONFLICT',
        `one account may hold only one of the three administrator roles, not ${administratorRoles.join(' and ')}`,
        { field: 'roles', roles: administratorRoles },
      )
    }
    if (roles.includes('dept-manager') && input.departmentIds.length === 0) {
      throw new DomainError('ROLE_CONFLICT', 'a department manager needs at least one department', {
        field: 'departmentIds',
      })
    }
    return uow.run(async (tx) => {
      const account = await tx.accounts.getOrThrow(id)
      requireVersion(account, input.version)
      const updated: Account = {
        ...account,
        roles,
        departmentIds: [...new Set(input.departmentIds)],
        version: account.version + 1,
      }
      await tx.accounts.update(updated)
      const endedSessions = await tx.sessions.deleteForAccount(id)
      await tx.audit.append({
        ...actor,
        type: 'account.roles-assigned',
        subject: id,
        outcome: 'success',
        data: {
          from: { roles: account.roles, departmentIds: account.departmentIds },
          to: { roles: updated.roles, departmentIds: updated.departmentIds },
          endedSessions,
        },
      })
      await retireBootstrapAccount(tx, actor)
      return viewOfAccount(updated)
    })
  }

  /**
   * The bootstrap account holds all three administrator roles only until three other active accounts hold one each;
   * then it is disabled, in the same transaction as the assignment that completed the set.
   */
  async function retireBootstrapAccount(tx: Repositories, actor: ActorContext) {
    const all = await tx.accounts.list()
    const bootstrap = all.find(
      (a) =>
        a.username === INITIAL_ADMINISTRATOR &&
        a.status === 'active' &&
        ADMINISTRATOR_ROLES.every((role) => a.roles.includes(role)),
    )
    if (!bootstrap) return
    const others = all.filter((a) => a.id !== bootstrap.id && a.status === 'active')
    if (!ADMINISTRATOR_ROLES.every((role) => others.some((a) => a.roles.includes(role)))) return
    await tx.accounts.update({ ...bootstrap, status: 'disabled', version: bootstrap.version + 1 })
    const endedSessions = await tx.sessions.deleteForAccount(bootstrap.id)
    await tx.audit.append({
      ...actor,
      type: 'account.bootstrap-retired',
      subject: bootstrap.id,
      outcome: 'success',
      data: { username: bootstrap.username, endedSessions },
    })
  }

  async function securityPolicy() {
    return uow.run((tx) => readSetting(tx.settings, SECURITY_POLICY_KEY, DEFAULT_SECURITY_POLICY))
  }

  async function updateSecurityPolicy(actor: ActorContext, policy: SecurityPolicy, version: number) {
    for (const [key, [min, max]] of Object.entries(SECURITY_POLICY_LIMITS)) {
      const value = policy[key as keyof typeof SECURITY_POLICY_LIMITS]
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new DomainError('INVALID_INPUT', `${key} must be an integer between ${min} and ${max}`, { field: key })
      }
    }
    return uow.run((tx) =>
      replaceSetting(tx, {
        key: SECURITY_POLICY_KEY,
        defaults: DEFAULT_SECURITY_POLICY,
        value: policy,
        version,
        at: clock.now(),
        actor,
        auditType: 'policy.security-updated',
        what: 'the security policy',
      }),
    )
  }

  async function systemSettings() {
    return uow.run((tx) => readSetting(tx.settings, SYSTEM_SETTINGS_KEY, DEFAULT_SYSTEM_SETTINGS))
  }

  async function updateSystemSettings(actor: ActorContext, settings: SystemSettings, version: number) {
    if (!Number.isInteger(settings.auditRetentionDays) || settings.auditRetentionDays < AUDIT_RETENTION_MIN_DAYS) {
      throw new DomainError('INVALID_INPUT', `auditRetentionDays must be at least ${AUDIT_RETENTION_MIN_DAYS}`, {
        field: 'auditRetentionDays',
      })
    }
    return uow.run((tx) =>
      replaceSetting(tx, {
        key: SYSTEM_SETTINGS_KEY,
        defaults: DEFAULT_SYSTEM_SETTINGS,
        value: settings,
        version,
        at: clock.now(),
        actor,
        auditType: 'system.settings-updated',
        what: 'the system settings',
      }),
    )
  }

  return {
    list,
    get,
    create,
    update,
    resetCredentials,
    assignRoles,
    securityPolicy,
    updateSecurityPolicy,
    systemSettings,
    updateSystemSettings,
  }
}

export type AccountAdministration = ReturnType<typeof createAccountAdministration>
