import {
  type AccountAdministration,
  ASSIGNABLE_ROLES,
  AUDIT_RETENTION_MIN_DAYS,
  PERMISSIONS,
  ROLES,
  SECURITY_POLICY_LIMITS,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { principalOf } from '../access/context.js'
import { AccountSchema } from '../access/routes.js'
import { ProblemSchema } from '../schemas.js'

const Id = z.object({ id: z.string().min(1).max(64) })
const Version = z.number().int().min(0)
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }

const Bounded = (key: keyof typeof SECURITY_POLICY_LIMITS) =>
  z.number().int().min(SECURITY_POLICY_LIMITS[key][0]).max(SECURITY_POLICY_LIMITS[key][1])

const SecurityPolicySchema = z
  .object({
    passwordMinLength: Bounded('passwordMinLength'),
    passwordMinClasses: Bounded('passwordMinClasses'),
    passwordMaxAgeDays: Bounded('passwordMaxAgeDays'),
    lockoutThreshold: Bounded('lockoutThreshold'),
    lockoutMinutes: Bounded('lockoutMinutes'),
    sourceFailureLimit: Bounded('sourceFailureLimit'),
    idleTimeoutMinutes: Bounded('idleTimeoutMinutes'),
    absoluteTimeoutHours: Bounded('absoluteTimeoutHours'),
    totpRequiredForAll: z.boolean(),
  })
  .strict()
  .meta({ id: 'SecurityPolicy' })

const SystemSettingsSchema = z
  .object({
    organisationName: z.string().trim().max(128),
    auditRetentionDays: z.number().int().min(AUDIT_RETENTION_MIN_DAYS).max(36_500),
  })
  .strict()
  .meta({ id: 'SystemSettings' })

const Versioned = <T extends z.ZodType>(value: T) => z.object({ value, version: Version })

/**
 * Console accounts (system administrator), their roles (security administrator), the security policy (security
 * administrator) and the system settings (system administrator).
 */
export function accountRoutes({ accounts }: { accounts: AccountAdministration }): FastifyPluginAsyncZod {
  return async function accountRoutesPlugin(app) {
    const tags = ['accounts']
    app.get(
      '/api/v1/accounts',
      {
        config: { access: 'accounts.read' },
        schema: { tags, summary: '账户列表 / Console accounts', response: { 200: z.array(AccountSchema) } },
      },
      async () => accounts.list(),
    )

    app.get(
      '/api/v1/accounts/:id',
      {
        config: { access: 'accounts.read' },
        schema: { tags, summary: '账户详情 / One account', params: Id, response: { 200: AccountSchema, ...errors } },
      },
      async (request) => accounts.get(request.params.id),
    )

    const Created = z.object({
      account: AccountSchema,
      initialPassword: z.string().describe('只显示这一次 / shown only this once; must be changed at first sign-in'),
    })

    app.post(
      '/api/v1/accounts',
      {
        config: { access: 'accounts.write' },
        schema: {
          tags,
          summary: '创建账户 / Create an account',
          description: 'The account has no roles until a security administrator assigns them.',
          body: z
            .object({
              username: z
                .string()
                .trim()
                .regex(/^[A-Za-z0-9._-]{3,64}$/, '3–64 位字母、数字或 ._- / 3–64 letters, digits or ._-'),
              displayName: z.string().trim().min(1).max(64),
            })
            .strict(),
          response: { 201: Created, ...errors },
        },
      },
      async (request, reply) => reply.code(201).send(await accounts.create(request.actor, request.body)),
    )

    app.patch(
      '/api/v1/accounts/:id',
      {
        config: { access: 'accounts.write' },
        schema: {
          tags,
          summary: '修改、停用、启用或解锁账户 / Update, disable, enable or unlock an account',
          description: 'Disabling ends the account’s sessions at once.',
          params: Id,
          body: z
            .object({
              version: Version,
              displayName: z.string().trim().min(1).max(64).optional(),
              status: z.enum(['active', 'disabled']).optional(),
              unlock: z.boolean().optional(),
            })
            .strict(),
          response: { 200: AccountSchema, ...errors },
        },
      },
      async (request) => accounts.update(request.actor, principalOf(request), request.params.id, request.body),
    )

    app.post(
      '/api/v1/accounts/:id/credential-reset',
      {
        config: { access: 'accounts.write' },
        schema: {
          tags,
          summary: '重置密码和动态口令 / Reset password and TOTP',
          params: Id,
          response: { 200: Created, ...errors },
        },
      },
      async (request) => accounts.resetCredentials(request.actor, principalOf(request), request.params.id),
    )

    app.put(
      '/api/v1/accounts/:id/roles',
      {
        config: { access: 'roles.assign' },
        schema: {
          tags,
          summary: '分配角色 / Assign roles',
          description:
            'At most one of sysadmin, secadmin and auditor per account; nobody changes their own roles; the account’s ' +
            'sessions end.',
          params: Id,
          body: z
            .object({
              version: Version,
              roles: z.array(z.enum(ASSIGNABLE_ROLES as [string, ...string[]])).max(ROLES.length),
              departmentIds: z.array(z.string().min(1).max(64)).max(200),
            })
            .strict(),
          response: { 200: AccountSchema, ...errors },
        },
      },
      async (request) =>
        accounts.assignRoles(request.actor, principalOf(request), request.params.id, {
          ...request.body,
          roles: request.body.roles as (typeof ASSIGNABLE_ROLES)[number][],
        }),
    )

    app.get(
      '/api/v1/roles',
      {
        config: { access: 'accounts.read' },
        schema: {
          tags,
          summary: '角色与权限 / Roles and their permissions',
          response: { 200: z.array(z.object({ role: z.string(), permissions: z.array(z.string()) })) },
        },
      },
      async () =>
        ROLES.map((role) => ({
          role,
          permissions: Object.entries(PERMISSIONS)
            .filter(([, roles]) => (roles as readonly string[]).includes(role))
            .map(([permission]) => permission),
        })),
    )

    app.get(
      '/api/v1/policies/security',
      {
        config: { access: 'policies.read' },
        schema: {
          tags: ['policies'],
          summary: '安全策略 / Security policy',
          response: { 200: Versioned(SecurityPolicySchema) },
        },
      },
      async () => accounts.securityPolicy(),
    )

    app.put(
      '/api/v1/policies/security',
      {
        config: { access: 'policies.write' },
        schema: {
          tags: ['policies'],
          summary: '修改安全策略 / Change the security policy',
          body: Versioned(SecurityPolicySchema).strict(),
          response: { 200: Versioned(SecurityPolicySchema), ...errors },
        },
      },
      async (request) => accounts.updateSecurityPolicy(request.actor, request.body.value, request.body.version),
    )

    app.get(
      '/api/v1/system/settings',
      {
        config: { access: 'system.settings.read' },
        schema: {
          tags: ['system'],
          summary: '系统配置 / System settings',
          response: { 200: Versioned(SystemSettingsSchema) },
        },
      },
      async () => accounts.systemSettings(),
    )

    app.put(
      '/api/v1/system/settings',
      {
        config: { access: 'system.settings.write' },
        schema: {
          tags: ['system'],
          summary: '修改系统配置 / Change system settings',
          body: Versioned(SystemSettingsSchema).strict(),
          response: { 200: Versioned(SystemSettingsSchema), ...errors },
        },
      },
      async (request) => accounts.updateSystemSettings(request.actor, request.body.value, request.body.version),
    )
  }
}
