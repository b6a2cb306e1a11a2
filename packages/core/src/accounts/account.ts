import type { Role } from '../access/roles.js'

/**
 * A console account (管理端账户): the three administrators, RA officers and department managers sign in to the
 * console with a password and a TOTP second factor. Staff sign in on the phone with their certificate (later).
 */
export interface Account {
  readonly id: string
  readonly username: string
  readonly displayName: string
  readonly roles: readonly Role[]
  /** A department manager's departments (their subtrees are in scope). */
  readonly departmentIds: readonly string[]
  readonly status: AccountStatus
  readonly passwordHash: string
  /** The bootstrap credential and administrator resets must be replaced at the next sign-in. */
  readonly mustChangePassword: boolean
  readonly passwordChangedAt: Date | undefined
  /** The TOTP seed, sealed with the SecretBox; undefined until enrolment is confirmed. */
  readonly totpSecret: string | undefined
  /** The last accepted TOTP time step: a code is accepted once. */
  readonly totpLastStep: number | undefined
  /** Consecutive failed sign-ins; reset by a successful one. */
  readonly failedLogins: number
  readonly lockedUntil: Date | undefined
  readonly lastLoginAt: Date | undefined
  readonly createdAt: Date
  /** Optimistic-concurrency version, incremented by every save. */
  readonly version: number
}

export type AccountStatus = 'active' | 'disabled'

export interface AccountRepository {
  count(): Promise<number>
  findByUsername(username: string): Promise<Account | undefined>
  getOrThrow(id: string): Promise<Account>
  list(): Promise<Account[]>
  /** Inserts; a taken username fails with ACCOUNT_EXISTS. */
  insert(account: Account): Promise<void>
  /** Saves `account` if the stored version is `account.version - 1`; otherwise VERSION_CONFLICT. */
  update(account: Account): Promise<void>
}

/** A signed-in browser. The cookie holds a random token; the database only its SM3 hash. */
export interface Session {
  readonly idHash: string
  readonly accountId: string
  readonly csrfToken: string
  /**
   * `password-change`: must change the password before anything else; `totp-enrolment`: an account that must use
   * TOTP has not enrolled yet; `active`: fully signed in.
   */
  readonly stage: SessionStage
  readonly source: string
  readonly userAgent: string
  readonly createdAt: Date
  readonly lastSeenAt: Date
  /** The absolute end, fixed at sign-in. */
  readonly expiresAt: Date
}

export type SessionStage = 'password-change' | 'totp-enrolment' | 'active'

export interface SessionRepository {
  insert(session: Session): Promise<void>
  find(idHash: string): Promise<Session | undefined>
  touch(idHash: string, lastSeenAt: Date): Promise<void>
  setStage(idHash: string, stage: SessionStage): Promise<void>
  delete(idHash: string): Promise<void>
  /** Ends every session of an account (disabled, password reset, roles changed); returns how many. */
  deleteForAccount(accountId: string): Promise<number>
}

/** Settings and policies, stored as versioned JSON documents by key. */
export interface SettingsRepository {
  get(key: string): Promise<{ value: unknown; version: number } | undefined>
  /** Writes version `version`; the stored one must be `version - 1` (0 when absent), otherwise VERSION_CONFLICT. */
  put(key: string, value: unknown, version: number, at: Date, by: string): Promise<void>
}

/** A new account: active, no TOTP yet, nothing failed, version 1. */
export function newAccount(
  fields: Pick<
    Account,
    'id' | 'username' | 'displayName' | 'roles' | 'passwordHash' | 'mustChangePassword' | 'createdAt'
  > &
    Partial<Pick<Account, 'departmentIds' | 'passwordChangedAt' | 'totpSecret'>>,
): Account {
  return {
    departmentIds: [],
    status: 'active',
    passwordChangedAt: undefined,
    totpSecret: undefined,
    totpLastStep: undefined,
    failedLogins: 0,
    lockedUntil: undefined,
    lastLoginAt: undefined,
    version: 1,
    ...fields,
  }
}
