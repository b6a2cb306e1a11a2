import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ActorContext, Principal } from '../access/principal.js'
import { ADMINISTRATOR_ROLES } from '../access/roles.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import type { Account, Session, SessionStage } from './account.js'
import { hashPassword, verifyPassword } from './password.js'
import {
  DEFAULT_SECURITY_POLICY,
  passwordProblems,
  readSetting,
  SECURITY_POLICY_KEY,
  type SecurityPolicy,
} from './policy.js'
import { generateTotpSecret, totpUri, verifyTotp } from './totp.js'

// Console sign-in: password, then a TOTP code; lockout per account, throttling per source address; sessions with
// idle and absolute timeouts that end when the account is disabled. Every attempt, failed or not, is audited.

export const SIGN_IN_FAILED = 'session.sign-in-failed'
const MINUTE = 60_000
/** Touching a session at most once a minute keeps the idle timeout honest without a write per request. */
const TOUCH_INTERVAL_MS = MINUTE
const MAX_AUDITED_USERNAME = 64

/** Verifying against this when the username is unknown keeps the response time the same (no user enumeration). */
let dummyHash: Promise<string> | undefined
/** Made on first use, not at import: every program that imports the core would otherwise pay one scrypt. */
const dummyHashOnce = () => {
  dummyHash ??= hashPassword('yiqian-dummy-password-for-timing')
  return dummyHash
}

export interface AccessServiceDependencies {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

export interface SignInRequest {
  readonly username: string
  readonly password: string
  readonly totpCode?: string | undefined
  readonly source: string
  readonly userAgent: string
  readonly requestId: string
}

export type SignInFailure =
  | 'INVALID_CREDENTIALS'
  | 'ACCOUNT_LOCKED'
  | 'ACCOUNT_DISABLED'
  | 'SECOND_FACTOR_REQUIRED'
  | 'SECOND_FACTOR_INVALID'
  | 'SIGN_IN_THROTTLED'

export type SignInOutcome =
  | { readonly ok: true; readonly token: string; readonly session: Session; readonly account: Account }
  | { readonly ok: false; readonly failure: SignInFailure; readonly retryAfterSeconds?: number }

export interface Authenticated {
  readonly account: Account
  readonly session: Session
  readonly principal: Principal
}

/** SM3 would do as well; the session hash only has to be one-way. SHA-256 keeps this off the SM3 JS fallback. */
export function sessionIdHash(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function isAdministrator(account: Pick<Account, 'roles'>): boolean {
  return account.roles.some((role) => (ADMINISTRATOR_ROLES as readonly string[]).includes(role))
}

export function principalOfAccount(account: Account): Principal {
  return {
    kind: 'user',
    id: account.id,
    name: account.username,
    roles: account.roles,
    departmentIds: account.departmentIds,
  }
}

function needsTotp(account: Account, policy: SecurityPolicy): boolean {
  return policy.totpRequiredForAll || isAdministrator(account)
}

function stageAfterPassword(account: Account, policy: SecurityPolicy, now: Date): SessionStage {
  const maxAge = policy.passwordMaxAgeDays * 24 * 60 * MINUTE
  const expired =
    maxAge > 0 &&
    account.passwordChangedAt !== undefined &&
    now.getTime() - account.passwordChangedAt.getTime() > maxAge
  if (account.mustChangePassword || expired) return 'password-change'
  if (account.totpSecret === undefined && needsTotp(account, policy)) return 'totp-enrolment'
  return 'active'
}

const totpContext = (accountId: string) => `accounts.totp_secret:${accountId}`
const enrolmentContext = (accountId: string, idHash: string) => `totp-enrolment:${accountId}:${idHash}`

export function createAccessService({ uow, clock, secretBox }: AccessServiceDependencies) {
  async function recordFailure(
    tx: Repositories,
    request: SignInRequest,
    account: Account | undefined,
    reason: string,
    outcome: 'failure' | 'denied' = 'failure',
  ) {
    await tx.audit.append({
      type: SIGN_IN_FAILED,
      actor: account ? `user:${account.id}` : 'anonymous',
      actorRole: account?.roles.join(',') ?? '',
      source: request.source,
      requestId: request.requestId,
      outcome,
      subject: account?.id,
      data: { username: request.username.slice(0, MAX_AUDITED_USERNAME), reason },
    })
  }

  /** Counts a wrong password or code; locks the account when the policy's threshold is reached. */
  async function countFailure(tx: Repositories, account: Account, policy: SecurityPolicy, now: Date) {
    const failedLogins = account.failedLogins + 1
    const locks = failedLogins >= policy.lockoutThreshold
    await tx.accounts.update({
      ...account,
      failedLogins: locks ? 0 : failedLogins,
      lockedUntil: locks ? new Date(now.getTime() + policy.lockoutMinutes * MINUTE) : account.lockedUntil,
      version: account.version + 1,
    })
    return locks
  }

  async function signIn(request: SignInRequest): Promise<SignInOutcome> {
    return uow.run(async (tx) => {
      const now = clock.now()
      const { value: policy } = await readSetting(tx.settings, SECURITY_POLICY_KEY, DEFAULT_SECURITY_POLICY)
      const windowStart = new Date(now.getTime() - policy.lockoutMinutes * MINUTE)
      const fromSource = await tx.audit.countSince({ type: SIGN_IN_FAILED, source: request.source, since: windowStart })
      if (fromSource >= policy.sourceFailureLimit) {
        await recordFailure(tx, request, undefined, 'source-throttled', 'denied')
        return { ok: false, failure: 'SIGN_IN_THROTTLED', retryAfterSeconds: policy.lockoutMinutes * 60 }
      }
      const account = await tx.accounts.findByUsername(request.username)
      if (!account) {
        await verifyPassword(request.password, await dummyHashOnce())
        await recordFailure(tx, request, undefined, 'unknown-username')
        return { ok: false, failure: 'INVALID_CREDENTIALS' }
      }
      if (account.lockedUntil && account.lockedUntil > now) {
        await recordFailure(tx, request, account, 'locked', 'denied')
        const retryAfterSeconds = Math.ceil((account.lockedUntil.getTime() - now.getTime()) / 1000)
        return { ok: false, failure: 'ACCOUNT_LOCKED', retryAfterSeconds }
      }
      if (!(await verifyPassword(request.password, account.passwordHash))) {
        const locked = await countFailure(tx, account, policy, now)
        await recordFailure(tx, request, account, locked ? 'wrong-password-locked' : 'wrong-password')
        return locked
          ? { ok: false, failure: 'ACCOUNT_LOCKED', retryAfterSeconds: policy.lockoutMinutes * 60 }
          : { ok: false, failure: 'INVALID_CREDENTIALS' }
      }
      // Disabled is said only to someone who knows the password.
      if (account.status === 'disabled') {
        await recordFailure(tx, request, account, 'disabled', 'denied')
        return { ok: false, failure: 'ACCOUNT_DISABLED' }
      }
      let totpLastStep = account.totpLastStep
      if (account.totpSecret !== undefined) {
        if (!request.totpCode) return { ok: false, failure: 'SECOND_FACTOR_REQUIRED' }
        const secret = secretBox.open(account.totpSecret, totpContext(account.id))
        const step = verifyTotp(secret, request.totpCode, now, account.totpLastStep)
        if (step === undefined) {
          const locked = await countFailure(tx, account, policy, now)
          await recordFailure(tx, request, account, locked ? 'wrong-totp-locked' : 'wrong-totp')
          return locked
            ? { ok: false, failure: 'ACCOUNT_LOCKED', retryAfterSeconds: policy.lockoutMinutes * 60 }
            : { ok: false, failure: 'SECOND_FACTOR_INVALID' }
        }
        totpLastStep = step
      }
      const signedIn: Account = {
        ...account,
        failedLogins: 0,
        lockedUntil: undefined,
        lastLoginAt: now,
        totpLastStep,
        version: account.version + 1,
      }
      await tx.accounts.update(signedIn)
      const token = randomBytes(32).toString('base64url')
      const session: Session = {
        idHash: sessionIdHash(token),
        accountId: account.id,
        csrfToken: randomBytes(24).toString('base64url'),
        stage: stageAfterPassword(signedIn, policy, now),
        source: request.source,
        userAgent: request.userAgent.slice(0, 256),
        createdAt: now,
        lastSeenAt: now,
        expiresAt: new Date(now.getTime() + policy.absoluteTimeoutHours * 60 * MINUTE),
      }
      await tx.sessions.insert(session)
      await tx.audit.append({
        type: 'session.signed-in',
        actor: `user:${account.id}`,
        actorRole: account.roles.join(','),
        source: request.source,
        requestId: request.requestId,
        outcome: 'success',
        subject: account.id,
        data: { username: account.username, stage: session.stage, secondFactor: account.totpSecret !== undefined },
      })
      return { ok: true, token, session, account: signedIn }
    })
  }

  /**
   * The session behind a cookie, if it is still valid: not past its absolute end, not idle too long, and its account
   * still active. An expired session is deleted. Runs inside the caller's unit of work (the access check's).
   */
  async function authenticate(tx: Repositories, token: string): Promise<Authenticated | undefined> {
    if (token.length < 16 || token.length > 128) return undefined
    const now = clock.now()
    const session = await tx.sessions.find(sessionIdHash(token))
    if (!session) return undefined
    const { value: policy } = await readSetting(tx.settings, SECURITY_POLICY_KEY, DEFAULT_SECURITY_POLICY)
    const idleFor = now.getTime() - session.lastSeenAt.getTime()
    if (now >= session.expiresAt || idleFor > policy.idleTimeoutMinutes * MINUTE) {
      await tx.sessions.delete(session.idHash)
      return undefined
    }
    const account = await tx.accounts.getOrThrow(session.accountId)
    if (account.status !== 'active') {
      await tx.sessions.delete(session.idHash)
      return undefined
    }
    if (idleFor > TOUCH_INTERVAL_MS) await tx.sessions.touch(session.idHash, now)
    return { account, session, principal: principalOfAccount(account) }
  }

  async function signOut(actor: ActorContext, session: Session): Promise<void> {
    await uow.run(async (tx) => {
      await tx.sessions.delete(session.idHash)
      await tx.audit.append({ ...actor, type: 'session.signed-out', subject: session.accountId, outcome: 'success' })
    })
  }

  async function changePassword(
    actor: ActorContext,
    session: Session,
    change: { readonly currentPassword: string; readonly newPassword: string },
  ): Promise<SessionStage> {
    return uow.run(async (tx) => {
      const now = clock.now()
      const account = await tx.accounts.getOrThrow(session.accountId)
      const { value: policy } = await readSetting(tx.settings, SECURITY_POLICY_KEY, DEFAULT_SECURITY_POLICY)
      if (!(await verifyPassword(change.currentPassword, account.passwordHash))) {
        throw new DomainError('INVALID_CREDENTIALS', 'the current password is wrong', { field: 'currentPassword' })
      }
      const problems = passwordProblems(policy, change.newPassword, account.username)
      if (change.newPassword === change.currentPassword)
        problems.push('不能与当前密码相同 / must differ from the current one')
      if (problems.length > 0) {
        throw new DomainError('PASSWORD_POLICY', problems.join('; '), { field: 'newPassword', problems })
      }
      const changed: Account = {
        ...account,
        passwordHash: await hashPassword(change.newPassword),
        mustChangePassword: false,
        passwordChangedAt: now,
        version: account.version + 1,
      }
      await tx.accounts.update(changed)
      // Every other browser signed in as this account is signed out.
      await tx.sessions.deleteForAccount(account.id)
      const stage = stageAfterPassword(changed, policy, now)
      await tx.sessions.insert({ ...session, stage, lastSeenAt: now })
      await tx.audit.append({ ...actor, type: 'account.password-changed', subject: account.id, outcome: 'success' })
      return stage
    })
  }

  /**
   * Starts TOTP enrolment: a new seed, its otpauth:// URI for the QR code, and a ticket (the seed sealed to this
   * account and session) that the confirmation must bring back. Nothing is stored until the code is confirmed.
   */
  async function beginTotpEnrolment(session: Session) {
    const account = await uow.run((tx) => tx.accounts.getOrThrow(session.accountId))
    if (session.stage === 'password-change') {
      throw new DomainError('PASSWORD_CHANGE_REQUIRED', 'change your password before enrolling TOTP')
    }
    if (account.totpSecret !== undefined) {
      throw new DomainError('TOTP_ALREADY_ENROLLED', 'TOTP is already enrolled; a system administrator can reset it')
    }
    const secret = generateTotpSecret()
    return {
      secret,
      uri: totpUri(secret, account.username),
      ticket: secretBox.seal(secret, enrolmentContext(account.id, session.idHash)),
    }
  }

  async function confirmTotpEnrolment(
    actor: ActorContext,
    session: Session,
    confirmation: { readonly ticket: string; readonly code: string },
  ): Promise<SessionStage> {
    return uow.run(async (tx) => {
      const now = clock.now()
      const account = await tx.accounts.getOrThrow(session.accountId)
      if (session.stage === 'password-change') {
        throw new DomainError('PASSWORD_CHANGE_REQUIRED', 'change your password before enrolling TOTP')
      }
      if (account.totpSecret !== undefined) {
        throw new DomainError('TOTP_ALREADY_ENROLLED', 'TOTP is already enrolled; a system administrator can reset it')
      }
      let secret: string
      try {
        secret = secretBox.open(confirmation.ticket, enrolmentContext(account.id, session.idHash))
      } catch {
        throw new DomainError('SECOND_FACTOR_INVALID', 'the enrolment ticket is not valid for this session', {
          field: 'ticket',
        })
      }
      const step = verifyTotp(secret, confirmation.code, now, undefined)
      if (step === undefined) {
        throw new DomainError('SECOND_FACTOR_INVALID', 'the code does not match; check the phone clock', {
          field: 'code',
        })
      }
      await tx.accounts.update({
        ...account,
        totpSecret: secretBox.seal(secret, totpContext(account.id)),
        totpLastStep: step,
        version: account.version + 1,
      })
      const stage: SessionStage = session.stage === 'totp-enrolment' ? 'active' : session.stage
      await tx.sessions.setStage(session.idHash, stage)
      await tx.audit.append({ ...actor, type: 'account.totp-enrolled', subject: account.id, outcome: 'success' })
      return stage
    })
  }

  return { signIn, authenticate, signOut, changePassword, beginTotpEnrolment, confirmTotpEnrolment }
}

export type AccessService = ReturnType<typeof createAccessService>

/** Constant-time string comparison for CSRF tokens. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
