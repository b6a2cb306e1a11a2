import {
  type AccessService,
  type AccountView,
  DomainError,
  PASSWORD_MAX_LENGTH,
  PERMISSIONS,
  type Permission,
  type SessionStage,
  viewOfAccount,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ProblemSchema } from '../schemas.js'
import { clearSessionCookie, setSessionCookie } from './access-control.js'
import './context.js'

const Stage = z
  .enum(['password-change', 'totp-enrolment', 'active'])
  .describe('password-change: 须先修改密码; totp-enrolment: 须先绑定动态口令; active: 已登录')

export const AccountSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    roles: z.array(z.string()).readonly(),
    departmentIds: z.array(z.string()).readonly(),
    status: z.enum(['active', 'disabled']),
    mustChangePassword: z.boolean(),
    totpEnrolled: z.boolean(),
    lockedUntil: z.string().optional(),
    lastLoginAt: z.string().optional(),
    createdAt: z.string(),
    version: z.number().int(),
  })
  .meta({ id: 'Account' })

const SessionSchema = z.object({
  account: AccountSchema,
  stage: Stage,
  csrfToken: z.string().describe('Send as X-CSRF-Token on every POST, PUT, PATCH and DELETE'),
  permissions: z.array(z.string()),
  expiresAt: z.string(),
})

function permissionsOf(roles: readonly string[]): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) =>
    (PERMISSIONS[p] as readonly string[]).some((role) => roles.includes(role)),
  )
}

function sessionBody(account: AccountView, stage: SessionStage, csrfToken: string, expiresAt: Date) {
  return {
    account,
    stage,
    csrfToken,
    permissions: stage === 'active' ? permissionsOf(account.roles) : [],
    expiresAt: expiresAt.toISOString(),
  }
}

const Username = z.string().trim().min(1).max(64)
const Password = z.string().min(1).max(PASSWORD_MAX_LENGTH)
const TotpCode = z.string().regex(/^\d{6}$/, '6 位数字 / 6 digits')

/** Sign-in, sign-out, the session, password change and TOTP enrolment: `/api/v1/auth`. */
export function authRoutes({ access }: { access: AccessService }): FastifyPluginAsyncZod {
  return async function auth(app) {
    const tags = ['auth']
    app.post(
      '/api/v1/auth/login',
      {
        config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } },
        schema: {
          tags,
          summary: '登录 / Sign in',
          description:
            'Password, then a TOTP code once enrolled. The session is an HttpOnly SameSite=Strict cookie; the ' +
            'response carries the CSRF token for later unsafe requests. Failures: INVALID_CREDENTIALS, ' +
            'SECOND_FACTOR_REQUIRED (send totpCode), SECOND_FACTOR_INVALID, ACCOUNT_LOCKED (Retry-After), ' +
            'ACCOUNT_DISABLED, SIGN_IN_THROTTLED.',
          body: z.object({ username: Username, password: Password, totpCode: TotpCode.optional() }).strict(),
          response: {
            200: SessionSchema,
            401: ProblemSchema,
            403: ProblemSchema,
            423: ProblemSchema,
            429: ProblemSchema,
          },
        },
      },
      async (request, reply) => {
        const outcome = await access.signIn({
          ...request.body,
          source: request.ip,
          userAgent: request.headers['user-agent'] ?? '',
          requestId: request.id,
        })
        if (!outcome.ok) {
          if (outcome.retryAfterSeconds) reply.header('retry-after', String(outcome.retryAfterSeconds))
          throw new DomainError(outcome.failure, `sign-in failed: ${outcome.failure}`, {
            ...(outcome.failure.startsWith('SECOND_FACTOR') && { field: 'totpCode' }),
          })
        }
        setSessionCookie(request, reply, outcome.token)
        const { session } = outcome
        return sessionBody(viewOfAccount(outcome.account), session.stage, session.csrfToken, session.expiresAt)
      },
    )

    app.get(
      '/api/v1/auth/session',
      {
        config: { access: 'authenticated' },
        schema: { tags, summary: '当前会话 / The current session', response: { 200: SessionSchema } },
      },
      async (request) => {
        const session = requireSession(request.session)
        const account = requireSession(request.account)
        return sessionBody(viewOfAccount(account), session.stage, session.csrfToken, session.expiresAt)
      },
    )

    app.post(
      '/api/v1/auth/logout',
      {
        config: { access: 'authenticated' },
        schema: { tags, summary: '退出登录 / Sign out', response: { 204: z.null() } },
      },
      async (request, reply) => {
        await access.signOut(request.actor, requireSession(request.session))
        clearSessionCookie(request, reply)
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/api/v1/auth/password',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          summary: '修改密码 / Change my password',
          description: 'Signs out every other session of the account.',
          body: z.object({ currentPassword: Password, newPassword: Password }).strict(),
          response: { 200: z.object({ stage: Stage }), 400: ProblemSchema },
        },
      },
      async (request) => ({
        stage: await access.changePassword(request.actor, requireSession(request.session), request.body),
      }),
    )

    app.post(
      '/api/v1/auth/totp/enrolment',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          summary: '开始绑定动态口令 / Start TOTP enrolment',
          description: 'Returns a new seed and its otpauth:// URI (show as a QR code) and a ticket to confirm with.',
          response: { 200: z.object({ secret: z.string(), uri: z.string(), ticket: z.string() }) },
        },
      },
      async (request) => access.beginTotpEnrolment(requireSession(request.session)),
    )

    app.post(
      '/api/v1/auth/totp/confirmation',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          summary: '确认绑定动态口令 / Confirm TOTP enrolment',
          body: z.object({ ticket: z.string().min(1).max(512), code: TotpCode }).strict(),
          response: { 200: z.object({ stage: Stage }), 401: ProblemSchema },
        },
      },
      async (request) => ({
        stage: await access.confirmTotpEnrolment(request.actor, requireSession(request.session), request.body),
      }),
    )
  }
}

function requireSession<T>(session: T | undefined): T {
  if (!session)
    throw new DomainError('PERMISSION_DENIED', 'this route needs a console session', { reason: 'no-session' })
  return session
}
