import { randomUUID } from 'node:crypto'
import { type Clock, hashPassword, newAccount, type Role, totpCode, verifyAuditChain } from '@yiqian/core'
import { testDialects } from '@yiqian/storage/testing'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'

/** A clock the test moves by hand (idle timeouts, lockout cool-down, TOTP steps). */
function manualClock(start: string): Clock & { advance(ms: number): void } {
  let now = new Date(start).getTime()
  return {
    now: () => new Date(now),
    advance(ms) {
      now += ms
    },
  }
}

function cookieOf(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'yiqian_session')
  if (!cookie) throw new Error(`no session cookie in ${response.statusCode} ${response.body}`)
  return `yiqian_session=${cookie.value}`
}

async function auditTrail(t: TestApp) {
  return t.services.uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
}

for (const dialect of testDialects()) {
  describe(`${dialect}: console sign-in and access control`, () => {
    const clock = manualClock('2026-11-28T08:00:00.000Z')
    let t: TestApp

    beforeAll(async () => {
      t = await createTestApp({ dialect, clock })
    })
    afterAll(async () => t?.close())

    /** An account as the system administrator makes it: a one-time password, no TOTP, must change the password. */
    async function freshAccount(roles: string[], password = 'One-time-Pass-123') {
      const id = randomUUID()
      const username = `user-${id.slice(0, 8)}`
      const account = newAccount({
        id,
        username,
        displayName: '新用户',
        roles: roles as Role[],
        passwordHash: await hashPassword(password),
        mustChangePassword: true,
        createdAt: clock.now(),
      })
      await t.services.uow.run((tx) => tx.accounts.insert(account))
      return { id, username, password }
    }

    const login = (payload: Record<string, unknown>, ip = '10.0.0.1') =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload, remoteAddress: ip })

    it('takes a new administrator through password change and TOTP enrolment before anything else', async () => {
      const { username, password } = await freshAccount(['secadmin'])
      const first = await login({ username, password })
      expect(first.statusCode).toBe(200)
      expect(first.json()).toMatchObject({ stage: 'password-change', permissions: [] })
      const cookie = cookieOf(first)
      const csrf = first.json().csrfToken as string
      const headers = { cookie, 'x-csrf-token': csrf }

      const early = await t.app.inject({ method: 'GET', url: '/api/v1/accounts', headers })
      expect(early.statusCode).toBe(403)
      expect(early.json().code).toBe('PASSWORD_CHANGE_REQUIRED')

      const weak = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers,
        payload: { currentPassword: password, newPassword: 'short' },
      })
      expect(weak.statusCode).toBe(400)
      expect(weak.json()).toMatchObject({ code: 'PASSWORD_POLICY' })
      expect(weak.json().errors[0].field).toBe('body.newPassword')

      const changed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers,
        payload: { currentPassword: password, newPassword: 'A-much-better-Passw0rd' },
      })
      expect(changed.json()).toEqual({ stage: 'totp-enrolment' })

      const stillEarly = await t.app.inject({ method: 'GET', url: '/api/v1/roles', headers })
      expect(stillEarly.json().code).toBe('SECOND_FACTOR_REQUIRED')

      const enrolment = await t.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrolment', headers })
      expect(enrolment.statusCode).toBe(200)
      const { secret, ticket, uri } = enrolment.json()
      expect(uri).toContain(`secret=${secret}`)
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/totp/confirmation',
        headers,
        payload: { ticket, code: totpCode(secret, new Date(clock.now().getTime() + 300_000)) },
      })
      expect(wrong.json().code).toBe('SECOND_FACTOR_INVALID')
      const confirmed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/totp/confirmation',
        headers,
        payload: { ticket, code: totpCode(secret, clock.now()) },
      })
      expect(confirmed.json()).toEqual({ stage: 'active' })

      const roles = await t.app.inject({ method: 'GET', url: '/api/v1/roles', headers })
      expect(roles.statusCode).toBe(200)

      // The next sign-in needs the code, and the code just used cannot be replayed.
      const noCode = await login({ username, password: 'A-much-better-Passw0rd' })
      expect(noCode.json().code).toBe('SECOND_FACTOR_REQUIRED')
      const replayed = await login({
        username,
        password: 'A-much-better-Passw0rd',
        totpCode: totpCode(secret, clock.now()),
      })
      expect(replayed.json().code).toBe('SECOND_FACTOR_INVALID')
      clock.advance(30_000)
      const next = await login({
        username,
        password: 'A-much-better-Passw0rd',
        totpCode: totpCode(secret, clock.now()),
      })
      expect(next.json()).toMatchObject({ stage: 'active' })
    })

    it('locks an account after the configured failures, and unlocks after the cool-down', async () => {
      const { username, password } = await freshAccount(['ra-officer'])
      for (let i = 0; i < 4; i++) {
        expect((await login({ username, password: 'wrong' }, '10.0.1.1')).json().code).toBe('INVALID_CREDENTIALS')
      }
      const fifth = await login({ username, password: 'wrong' }, '10.0.1.1')
      expect(fifth.statusCode).toBe(423)
      expect(fifth.headers['retry-after']).toBe(String(15 * 60))
      // Locked: even the right password is refused.
      const right = await login({ username, password }, '10.0.1.1')
      expect(right.json().code).toBe('ACCOUNT_LOCKED')
      clock.advance(15 * 60_000 + 1000)
      expect((await login({ username, password }, '10.0.1.1')).statusCode).toBe(200)

      const failures = (await auditTrail(t)).filter(
        (r) => r.type === 'session.sign-in-failed' && r.data?.username === username,
      )
      expect(failures.map((r) => r.data?.reason)).toEqual([
        'wrong-password',
        'wrong-password',
        'wrong-password',
        'wrong-password',
        'wrong-password-locked',
        'locked',
      ])
      expect(failures.every((r) => r.source === '10.0.1.1' && r.outcome !== 'success')).toBe(true)
    })

    it('throttles password spraying from one address across accounts', async () => {
      clock.advance(60 * 60_000)
      for (let i = 0; i < 20; i++) {
        expect((await login({ username: `nobody-${i}`, password: 'Summer2026!' }, '10.0.2.2')).statusCode).toBe(401)
      }
      const throttled = await login({ username: 'nobody-x', password: 'Summer2026!' }, '10.0.2.2')
      expect(throttled.statusCode).toBe(429)
      expect(throttled.json().code).toBe('SIGN_IN_THROTTLED')
      // Another address is not affected.
      expect((await login({ username: 'nobody-x', password: 'Summer2026!' }, '10.0.2.3')).json().code).toBe(
        'INVALID_CREDENTIALS',
      )
    })

    it('refuses unsafe requests without the CSRF token and requests without a session', async () => {
      const secadmin = await signInAs(t, ['secadmin'])
      const policy = await t.app.inject({ method: 'GET', url: '/api/v1/policies/security', headers: secadmin.headers })
      expect(policy.statusCode).toBe(200)
      const { cookie } = secadmin.headers
      const noCsrf = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/policies/security',
        headers: { cookie },
        payload: policy.json(),
      })
      expect(noCsrf.statusCode).toBe(403)
      expect(noCsrf.json().code).toBe('PERMISSION_DENIED')
      const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/policies/security' })
      expect(anonymous.statusCode).toBe(401)
      expect(anonymous.json().code).toBe('UNAUTHENTICATED')
    })

    it('ends a disabled user’s session at once and an idle one after the timeout', async () => {
      const sysadmin = await signInAs(t, ['sysadmin'])
      const officer = await signInAs(t, ['ra-officer'])
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: officer.headers })).statusCode,
      ).toBe(200)
      const disable = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/accounts/${officer.account.id}`,
        headers: sysadmin.headers,
        payload: { version: 2, status: 'disabled' },
      })
      expect(disable.statusCode).toBe(200)
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: officer.headers })).statusCode,
      ).toBe(401)
      // The account stays refused at sign-in, after the password was checked.
      const again = await login({
        username: officer.account.username,
        password: officer.password,
        totpCode: totpCode(officer.totpSecret, clock.now()),
      })
      expect(again.json().code).toBe('ACCOUNT_DISABLED')

      clock.advance(16 * 60_000)
      const idle = await t.app.inject({ method: 'GET', url: '/api/v1/accounts', headers: sysadmin.headers })
      expect(idle.statusCode).toBe(401)
    })

    it('keeps the three administrators apart', async () => {
      const sysadmin: SignedIn = await signInAs(t, ['sysadmin'])
      const secadmin = await signInAs(t, ['secadmin'])
      const auditor = await signInAs(t, ['auditor'])
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/accounts',
        headers: sysadmin.headers,
        payload: { username: 'zhang.wei', displayName: '张伟' },
      })
      expect(created.statusCode).toBe(201)
      const { account, initialPassword } = created.json()
      expect(initialPassword).toMatch(/^\S{24}$/)
      expect(account.roles).toEqual([])

      const assign = (who: SignedIn, roles: string[], id = account.id, version = 1) =>
        t.app.inject({
          method: 'PUT',
          url: `/api/v1/accounts/${id}/roles`,
          headers: who.headers,
          payload: { version, roles, departmentIds: [] },
        })
      expect((await assign(sysadmin, ['auditor'])).statusCode).toBe(403)
      expect((await assign(auditor, ['auditor'])).statusCode).toBe(403)
      const two = await assign(secadmin, ['sysadmin', 'auditor'])
      expect(two.statusCode).toBe(409)
      expect(two.json()).toMatchObject({ code: 'ROLE_CONFLICT', errors: [{ field: 'body.roles' }] })
      const self = await assign(secadmin, ['secadmin', 'ra-officer'], secadmin.account.id, 2)
      expect(self.json().code).toBe('PERMISSION_DENIED')
      expect((await assign(secadmin, ['auditor'])).statusCode).toBe(200)

      const settings = await t.app.inject({ method: 'GET', url: '/api/v1/system/settings', headers: secadmin.headers })
      expect(settings.statusCode).toBe(403)
      const sysSettings = await t.app.inject({
        method: 'GET',
        url: '/api/v1/system/settings',
        headers: sysadmin.headers,
      })
      const changed = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/system/settings',
        headers: sysadmin.headers,
        payload: { version: 0, value: { ...sysSettings.json().value, organisationName: '某某市第一人民医院' } },
      })
      expect(changed.statusCode).toBe(200)
      const tooShort = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/system/settings',
        headers: sysadmin.headers,
        payload: { version: 1, value: { organisationName: 'x', auditRetentionDays: 30 } },
      })
      expect(tooShort.statusCode).toBe(400)
      expect(tooShort.json().errors[0].field).toBe('body.value.auditRetentionDays')

      for (const [method, url] of [
        ['POST', '/api/v1/accounts'],
        ['PUT', '/api/v1/policies/security'],
        ['PUT', '/api/v1/system/settings'],
      ] as const) {
        const response = await t.app.inject({ method, url, headers: auditor.headers, payload: {} })
        expect(response.statusCode, `${method} ${url}`).toBe(403)
      }
    })

    it('audits every access and refusal in one intact chain', async () => {
      const trail = await auditTrail(t)
      expect(() => verifyAuditChain(trail)).not.toThrow()
      const types = new Set(trail.map((r) => r.type))
      for (const type of [
        'session.signed-in',
        'session.sign-in-failed',
        'access',
        'access.denied',
        'account.password-changed',
        'account.totp-enrolled',
        'account.created',
        'account.roles-assigned',
        'account.updated',
        'system.settings-updated',
      ]) {
        expect(types, type).toContain(type)
      }
      const denied = trail.filter((r) => r.type === 'access.denied')
      expect(denied.every((r) => r.outcome === 'denied' && r.source && r.requestId)).toBe(true)
      expect(trail.filter((r) => r.type === 'access').every((r) => r.actor.startsWith('user:') && r.actorRole)).toBe(
        true,
      )
    })
  })
}

describe('the bootstrap account', () => {
  it('is disabled once three other accounts hold the three administrator roles', async () => {
    const t = await createTestApp({ dialect: testDialects()[0] ?? 'sqlite' })
    try {
      const bootstrap = newAccount({
        id: randomUUID(),
        username: 'admin',
        displayName: '初始管理员',
        roles: ['sysadmin', 'secadmin', 'auditor'],
        passwordHash: await hashPassword('Bootstrap-Passw0rd'),
        mustChangePassword: false,
        createdAt: t.clock.now(),
      })
      await t.services.uow.run((tx) => tx.accounts.insert(bootstrap))
      const secadmin = await signInAs(t, ['secadmin'])
      const create = async (username: string) => {
        const created = await t.app.inject({
          method: 'POST',
          url: '/api/v1/accounts',
          headers: (await signInAs(t, ['sysadmin'])).headers,
          payload: { username, displayName: username },
        })
        return created.json().account.id as string
      }
      const auditorId = await create('auditor.one')
      const assign = (id: string, roles: string[]) =>
        t.app.inject({
          method: 'PUT',
          url: `/api/v1/accounts/${id}/roles`,
          headers: secadmin.headers,
          payload: { version: 1, roles, departmentIds: [] },
        })
      // sysadmin and secadmin are held (by the signed-in helpers' accounts); the auditor role completes the set.
      expect((await t.services.accounts.get(bootstrap.id)).status).toBe('active')
      expect((await assign(auditorId, ['auditor'])).statusCode).toBe(200)
      expect((await t.services.accounts.get(bootstrap.id)).status).toBe('disabled')
      const trail = await auditTrail(t)
      expect(trail.at(-1)).toMatchObject({ type: 'account.bootstrap-retired', subject: bootstrap.id })
    } finally {
      await t.close()
    }
  })
})
