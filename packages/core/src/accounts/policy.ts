import type { ActorContext } from '../access/principal.js'
import { DomainError } from '../errors.js'
import type { Repositories } from '../unit-of-work.js'
import type { SettingsRepository } from './account.js'

/** The security administrator's policy for console sign-in (安全策略). Stored under `security-policy`. */
export interface SecurityPolicy {
  readonly passwordMinLength: number
  /** How many of lower case, upper case, digits and symbols a password must mix. */
  readonly passwordMinClasses: number
  /** Days before a password must be changed; 0 turns expiry off. */
  readonly passwordMaxAgeDays: number
  /** Consecutive failures before the account locks. */
  readonly lockoutThreshold: number
  readonly lockoutMinutes: number
  /** Failed sign-ins from one address, across accounts, within `lockoutMinutes`, before it is refused (spraying). */
  readonly sourceFailureLimit: number
  readonly idleTimeoutMinutes: number
  readonly absoluteTimeoutHours: number
  /** TOTP is always required for the three administrators; this extends it to every console account. */
  readonly totpRequiredForAll: boolean
}

export const SECURITY_POLICY_KEY = 'security-policy'

/** Safe defaults in line with MLPS level 3 (GB/T 22239-2019 8.1.4.1): complex passwords, lockout, timeouts. */
export const DEFAULT_SECURITY_POLICY: SecurityPolicy = {
  passwordMinLength: 12,
  passwordMinClasses: 3,
  passwordMaxAgeDays: 90,
  lockoutThreshold: 5,
  lockoutMinutes: 15,
  sourceFailureLimit: 20,
  idleTimeoutMinutes: 15,
  absoluteTimeoutHours: 8,
  totpRequiredForAll: true,
}

/** Bounds a policy may not leave: a security administrator cannot switch the protections off. */
export const SECURITY_POLICY_LIMITS: Readonly<
  Record<keyof Omit<SecurityPolicy, 'totpRequiredForAll'>, [number, number]>
> = {
  passwordMinLength: [8, 64],
  passwordMinClasses: [2, 4],
  passwordMaxAgeDays: [0, 365],
  lockoutThreshold: [3, 10],
  lockoutMinutes: [5, 1440],
  sourceFailureLimit: [5, 1000],
  idleTimeoutMinutes: [5, 120],
  absoluteTimeoutHours: [1, 24],
}

export const PASSWORD_MAX_LENGTH = 128

/** System settings (系统配置), the system administrator's. Stored under `system-settings`. */
export interface SystemSettings {
  /** Shown in the console and on reports. */
  readonly organisationName: string
  /** Days audit records are kept before the retention job may purge them (at least 180). */
  readonly auditRetentionDays: number
}

export const SYSTEM_SETTINGS_KEY = 'system-settings'
export const DEFAULT_SYSTEM_SETTINGS: SystemSettings = { organisationName: '', auditRetentionDays: 180 }
export const AUDIT_RETENTION_MIN_DAYS = 180

export async function readSetting<T extends object>(
  settings: SettingsRepository,
  key: string,
  defaults: T,
): Promise<{ value: T; version: number }> {
  const stored = await settings.get(key)
  // Stored documents are merged over the defaults, so a setting added in a later release has a value.
  return stored
    ? { value: { ...defaults, ...(stored.value as Partial<T>) }, version: stored.version }
    : { value: defaults, version: 0 }
}

/**
 * Replaces a versioned settings document: the stored version must still be `version` (0 while the defaults apply),
 * and the change is audited, old and new values included, in the caller's unit of work.
 */
export async function replaceSetting<T extends object>(
  tx: Repositories,
  change: {
    readonly key: string
    readonly defaults: T
    readonly value: T
    readonly version: number
    readonly at: Date
    readonly actor: ActorContext
    /** The audit event type, e.g. `policy.security-updated`. */
    readonly auditType: string
    /** For the conflict message: "the security policy". */
    readonly what: string
  },
): Promise<{ value: T; version: number }> {
  const current = await readSetting(tx.settings, change.key, change.defaults)
  if (current.version !== change.version) {
    throw new DomainError('VERSION_CONFLICT', `${change.what} was changed by someone else`, { field: 'version' })
  }
  await tx.settings.put(change.key, change.value, change.version + 1, change.at, change.actor.actor)
  await tx.audit.append({
    ...change.actor,
    type: change.auditType,
    subject: change.key,
    outcome: 'success',
    data: { from: current.value, to: change.value },
  })
  return { value: change.value, version: change.version + 1 }
}

/** Every way `password` falls short of `policy`, as field messages (zh-CN / English); empty when it is fine. */
export function passwordProblems(policy: SecurityPolicy, password: string, username: string): string[] {
  const problems: string[] = []
  const length = [...password].length
  if (length < policy.passwordMinLength) {
    problems.push(`至少 ${policy.passwordMinLength} 个字符 / at least ${policy.passwordMinLength} characters`)
  }
  if (length > PASSWORD_MAX_LENGTH)
    problems.push(`最多 ${PASSWORD_MAX_LENGTH} 个字符 / at most ${PASSWORD_MAX_LENGTH} characters`)
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length
  if (classes < policy.passwordMinClasses) {
    problems.push(
      `须包含小写字母、大写字母、数字、符号中的至少 ${policy.passwordMinClasses} 类 / must mix at least ${policy.passwordMinClasses} of lower case, upper case, digits and symbols`,
    )
  }
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('不能包含用户名 / must not contain the username')
  }
  return problems
}
