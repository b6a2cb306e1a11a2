export type { ActorContext, Principal } from './access/principal.js'
export { actorContext, actorOf, SYSTEM_ACTOR } from './access/principal.js'
export type { Permission, Role, RouteAccess } from './access/roles.js'
export { ADMINISTRATOR_ROLES, hasPermission, isPermission, PERMISSIONS, ROLES, rolesGranting } from './access/roles.js'
export type {
  Account,
  AccountRepository,
  AccountStatus,
  Session,
  SessionRepository,
  SessionStage,
  SettingsRepository,
} from './accounts/account.js'
export { newAccount } from './accounts/account.js'
export type { AccountAdministration, AccountView } from './accounts/account-administration.js'
export { ASSIGNABLE_ROLES, createAccountAdministration, viewOfAccount } from './accounts/account-administration.js'
export { generateCredential, hashPassword, verifyPassword } from './accounts/password.js'
export type { SecurityPolicy, SystemSettings } from './accounts/policy.js'
export {
  AUDIT_RETENTION_MIN_DAYS,
  DEFAULT_SECURITY_POLICY,
  DEFAULT_SYSTEM_SETTINGS,
  PASSWORD_MAX_LENGTH,
  passwordProblems,
  SECURITY_POLICY_LIMITS,
} from './accounts/policy.js'
export type { AccessService, Authenticated, SignInFailure, SignInOutcome } from './accounts/sign-in.js'
export {
  createAccessService,
  principalOfAccount,
  SIGN_IN_FAILED,
  sameToken,
  sessionIdHash,
} from './accounts/sign-in.js'
export { generateTotpSecret, totpCode, totpUri, verifyTotp } from './accounts/totp.js'
export type { AuditEvent, AuditLog, AuditOutcome, AuditRecord } from './audit/audit-record.js'
export { canonicalJson, GENESIS_HASH, sealAuditRecord, verifyAuditChain } from './audit/audit-record.js'
export * from './audit/index.js'
export type { InitialAdministratorOutcome, InitialCredential } from './bootstrap/ensure-initial-administrator.js'
export { createEnsureInitialAdministrator, INITIAL_ADMINISTRATOR } from './bootstrap/ensure-initial-administrator.js'
export * from './ca/index.js'
export * from './certificates/index.js'
export * from './certificates-admin/index.js'
export * from './client-systems/index.js'
export type { Clock } from './clock.js'
export { systemClock } from './clock.js'
export * from './enrolment/index.js'
export type { ErrorCode } from './errors.js'
export { DomainError, isDomainError } from './errors.js'
export * from './keys/index.js'
export * from './organisation/index.js'
export type { SecretBox } from './protection/secret-box.js'
export { createSecretBox, KEK_LENGTH, maskMiddle } from './protection/secret-box.js'
export * from './ra/index.js'
export * from './reminders/index.js'
export * from './time/index.js'
export * from './tsa/index.js'
export type { Repositories, UnitOfWork } from './unit-of-work.js'
