import { REMINDER_POLICY_KEY } from '@yiqian/core'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'

const SECRET = 'his-webhook-secret-0123456789'

for (const dialect of testDialects()) {
  describe(`${dialect}: /api/v1/reminders`, () => {
    let t: TestApp
    let secadmin: SignedIn
    let officer: SignedIn
    let auditor: SignedIn

    beforeAll(async () => {
      t = await createTestApp({ dialect })
      secadmin = await signInAs(t, ['secadmin'])
      officer = await signInAs(t, ['ra-officer'])
      auditor = await signInAs(t, ['auditor'])
    })
    afterAll(async () => t?.close())

    const get = (who: SignedIn, url: string) => t.app.inject({ method: 'GET', url, headers: who.headers })
    const put = (who: SignedIn, payload: unknown) =>
      t.app.inject({ method: 'PUT', url: '/api/v1/reminders/policy', headers: who.headers, payload: payload as object })

    it('shows the default policy at version 0', async () => {
      const response = await get(officer, '/api/v1/reminders/policy')
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({ daysBefore: [30, 7, 1], inApp: true, webhook: null, version: 0 })
    })

    it('only reminders.write may change it; reminders.read is needed to look', async () => {
      const body = { daysBefore: [14], inApp: true, webhook: null, version: 0 }
      expect((await put(officer, body)).statusCode).toBe(403)
      expect((await get(auditor, '/api/v1/reminders/policy')).statusCode).toBe(403)
      expect((await get(auditor, '/api/v1/reminders')).statusCode).toBe(403)
    })

    it('sets a webhook whose secret is sealed, never shown, kept when left out, and audits the change', async () => {
      const set = await put(secadmin, {
        daysBefore: [7, 60, 1],
        inApp: false,
        webhook: { url: 'https://his.hospital.local/hooks/yiqian', secret: SECRET },
        version: 0,
      })
      expect(set.statusCode).toBe(200)
      expect(set.json()).toEqual({
        daysBefore: [60, 7, 1],
        inApp: false,
        webhook: { url: 'https://his.hospital.local/hooks/yiqian', secretSet: true },
        version: 1,
      })
      expect(set.body).not.toContain(SECRET)
      const stored = await t.services.uow.run((tx) => tx.settings.get(REMINDER_POLICY_KEY))
      expect(JSON.stringify(stored?.value)).not.toContain(SECRET)

      // The URL changes, the secret is left out: the stored one stays.
      const moved = await put(secadmin, {
        daysBefore: [30],
        inApp: true,
        webhook: { url: 'https://his2.hospital.local/hooks' },
        version: 1,
      })
      expect(moved.statusCode).toBe(200)
      expect(moved.json()).toMatchObject({
        version: 2,
        webhook: { url: 'https://his2.hospital.local/hooks', secretSet: true },
      })
      const after = await t.services.uow.run((tx) => tx.settings.get(REMINDER_POLICY_KEY))
      const sealedOf = (setting: { value: unknown } | undefined) =>
        (setting?.value as { webhook?: { sealedSecret?: string } } | undefined)?.webhook?.sealedSecret
      expect(sealedOf(after)).toBeTypeOf('string')
      expect(sealedOf(after)).toBe(sealedOf(stored))
      expect((await get(officer, '/api/v1/reminders/policy')).json()).toEqual(moved.json())

      const audit = await t.services.uow.run((tx) => tx.audit.head())
      expect(audit.seq).toBeGreaterThan(0)
      const rows = await t.services.db
        .selectFrom('audit_events')
        .select(['type', 'actor', 'data'])
        .where('type', '=', 'reminders.policy.changed')
        .orderBy('seq')
        .execute()
      expect(rows).toHaveLength(2)
      expect(rows[0]?.actor).toBe(`user:${secadmin.account.id}`)
      expect(rows.map((r) => r.data).join()).not.toContain(SECRET)
      expect(JSON.parse(rows[0]!.data)).toMatchObject({
        daysBefore: { from: [30, 7, 1], to: [60, 7, 1] },
        webhookUrl: { from: null, to: 'https://his.hospital.local/hooks/yiqian' },
        secretChanged: true,
      })
    })

    it('refuses a stale version with 409', async () => {
      const current = (await get(secadmin, '/api/v1/reminders/policy')).json() as { version: number }
      const stale = await put(secadmin, { daysBefore: [7], inApp: true, webhook: null, version: current.version - 1 })
      expect(stale.statusCode).toBe(409)
      expect(stale.json()).toMatchObject({ code: 'VERSION_CONFLICT' })
    })

    it.each([
      ['a threshold of 0 days', { daysBefore: [0] }, 'daysBefore'],
      ['six thresholds', { daysBefore: [1, 2, 3, 4, 5, 6] }, 'daysBefore'],
      ['a repeated threshold', { daysBefore: [7, 7] }, 'daysBefore'],
      ['an ftp URL', { webhook: { url: 'ftp://his.hospital.local/x', secret: SECRET } }, 'webhook.url'],
      [
        'a URL with credentials',
        { webhook: { url: 'https://a:b@his.hospital.local/', secret: SECRET } },
        'webhook.url',
      ],
      ['a short secret', { webhook: { url: 'https://his.hospital.local/', secret: 'short' } }, 'webhook.secret'],
      ['inApp not a boolean', { inApp: 'yes' }, 'inApp'],
    ])('refuses %s with a problem naming %s', async (_, change, field) => {
      const current = (await get(secadmin, '/api/v1/reminders/policy')).json() as { version: number }
      const response = await put(secadmin, {
        daysBefore: [30, 7],
        inApp: true,
        webhook: null,
        version: current.version,
        ...change,
      })
      expect(response.statusCode).toBe(400)
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/)
      expect(JSON.stringify(response.json())).toContain(field)
    })

    it('requires the secret when the webhook is first set', async () => {
      const cleared = (
        await put(secadmin, {
          daysBefore: [30],
          inApp: true,
          webhook: null,
          version: ((await get(secadmin, '/api/v1/reminders/policy')).json() as { version: number }).version,
        })
      ).json() as { version: number }
      const response = await put(secadmin, {
        daysBefore: [30],
        inApp: true,
        webhook: { url: 'https://his.hospital.local/hooks' },
        version: cleared.version,
      })
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ code: 'INVALID_INPUT' })
      expect(JSON.stringify(response.json())).toContain('webhook.secret')
    })

    it('lists reminders (none yet) and refuses an unknown status', async () => {
      const list = await get(officer, '/api/v1/reminders?status=pending&limit=10')
      expect(list.statusCode).toBe(200)
      expect(list.json()).toEqual({ items: [], total: 0 })
      const bad = await get(officer, '/api/v1/reminders?status=lost')
      expect(bad.statusCode).toBe(400)
      expect(JSON.stringify(bad.json())).toContain('status')
    })
  })
}
