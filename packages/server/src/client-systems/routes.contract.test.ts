import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { Clock } from '@yiqian/core'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'
import { createClientSystemAuthenticator } from './authenticator.js'

// The routes and the authenticator inside the real app: access control, audit, error handling.
const SCOPE = { departmentIds: ['*'], documentTypes: ['emr.note'] }

function signed(credentials: { appId: string; secret: string }, method: string, path: string, at: number) {
  const nonce = randomBytes(12).toString('base64url')
  const canonical = ['YIQIAN-HMAC-SM3', method, path, String(at), nonce, createHash('sm3').digest('hex')].join('\n')
  return {
    'x-yiqian-app-id': credentials.appId,
    'x-yiqian-timestamp': String(at),
    'x-yiqian-nonce': nonce,
    'x-yiqian-signature': createHmac('sm3', credentials.secret).update(canonical).digest('base64'),
  }
}

for (const dialect of testDialects()) {
  describe(`${dialect}: /api/v1/client-systems in the app`, () => {
    let t: TestApp
    let sysadmin: SignedIn
    let secadmin: SignedIn
    let auditor: SignedIn
    const clock: Clock = { now: () => new Date() }

    beforeAll(async () => {
      t = await createTestApp({
        dialect,
        clock,
        services: (base) => ({ ...base, authenticators: [createClientSystemAuthenticator(base)] }),
      })
      sysadmin = await signInAs(t, ['sysadmin'])
      secadmin = await signInAs(t, ['secadmin'])
      auditor = await signInAs(t, ['auditor'])
    })
    afterAll(async () => t?.close())

    it('lets the system administrator register, read, change and rotate, auditing each change', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/client-systems',
        headers: sysadmin.headers,
        payload: { code: 'lis', name: '检验信息系统', ipAllowList: ['10.0.0.0/8'], scope: SCOPE },
      })
      expect(created.statusCode, created.body).toBe(201)
      const { system, secret } = created.json()
      expect(system).toMatchObject({ code: 'LIS', name: '检验信息系统', version: 1 })

      const read = await t.app.inject({ url: `/api/v1/client-systems/${system.id}`, headers: secadmin.headers })
      expect(read.statusCode).toBe(200)
      expect(read.body).not.toContain(secret)

      const changed = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/client-systems/${system.id}`,
        headers: sysadmin.headers,
        payload: { version: 1, enabled: false },
      })
      expect(changed.json()).toMatchObject({ enabled: false, version: 2 })
      const rotated = await t.app.inject({
        method: 'POST',
        url: `/api/v1/client-systems/${system.id}/secret-rotation`,
        headers: sysadmin.headers,
        payload: {},
      })
      expect(rotated.statusCode).toBe(200)

      const audit = await t.storage.db
        .selectFrom('audit_events')
        .selectAll()
        .where('subject', '=', system.id)
        .orderBy('seq')
        .execute()
      expect(audit.map((a) => a.type)).toEqual([
        'client-system.registered',
        'client-system.disabled',
        'client-system.secret-rotated',
      ])
      expect(audit.every((a) => a.actor === `user:${sysadmin.account.id}`)).toBe(true)
      for (const a of audit) {
        expect(a.data).not.toContain(secret)
        expect(a.data).not.toContain(rotated.json().secret)
      }
    })

    it.each([
      ['GET', '/api/v1/client-systems', () => auditor],
      ['POST', '/api/v1/client-systems', () => secadmin],
      ['POST', '/api/v1/client-systems', () => auditor],
    ] as const)('refuses %s %s to other roles with a 403 problem', async (method, url, who) => {
      const res = await t.app.inject({
        method,
        url,
        headers: who().headers,
        ...(method === 'POST' && { payload: { code: 'X', name: 'x', scope: SCOPE } }),
      })
      expect(res.statusCode).toBe(403)
      expect(res.json()).toMatchObject({ code: 'PERMISSION_DENIED' })
    })

    it('answers 400 naming the field for an invalid CIDR', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/client-systems',
        headers: sysadmin.headers,
        payload: { code: 'BAD', name: 'x', ipAllowList: ['10.0.0.0/8', '300.1.1.1'], scope: SCOPE },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().errors).toEqual([expect.objectContaining({ field: 'body.ipAllowList.1' })])
    })

    it('authenticates a signed request through the access control: known system, but not permitted here', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/client-systems',
        headers: sysadmin.headers,
        payload: { code: 'HIS', name: '住院医生工作站', scope: SCOPE },
      })
      const { system, secret } = created.json()
      const path = '/api/v1/client-systems?page=1'
      const ok = await t.app.inject({
        url: path,
        headers: signed({ appId: system.appId, secret }, 'GET', path, Date.now()),
      })
      // Authenticated (not 401) as a client system, which holds no client-systems.read permission.
      expect(ok.statusCode).toBe(403)
      const bad = await t.app.inject({
        url: path,
        headers: signed({ appId: system.appId, secret: 'x'.repeat(43) }, 'GET', path, Date.now()),
      })
      expect(bad.statusCode).toBe(401)
      expect(bad.json().detail).toMatch(/bad-signature$/)
      const denied = await t.storage.db
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', 'access.denied')
        .where('actor', '=', `client-system:${system.id}`)
        .execute()
      expect(denied).toHaveLength(1)
    })
  })
}
