import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'
import { UTF8_BOM } from './export-format.js'
import { runAuditCheckpointJob } from './jobs.js'

// The auditor's API inside the real app: access control, filters, export, verification, checkpoints.

for (const dialect of testDialects()) {
  describe(`${dialect}: /api/v1/audit`, () => {
    let t: TestApp
    let auditor: SignedIn
    let sysadmin: SignedIn

    const get = (url: string, who: SignedIn = auditor) => t.app.inject({ url, headers: who.headers })

    beforeAll(async () => {
      t = await createTestApp({ dialect })
      auditor = await signInAs(t, ['auditor'])
      sysadmin = await signInAs(t, ['sysadmin'])
      await t.services.uow.run(async (tx) => {
        await tx.audit.append({ type: 'test.created', actor: 'user:甲', subject: 'doc-1', data: { 名称: '出院小结' } })
        await tx.audit.append({
          type: 'test.updated',
          actor: 'user:乙',
          subject: 'doc-1',
          data: { note: '=HYPERLINK("http://evil")', quote: 'a "b", c\nd' },
          outcome: 'denied',
          source: '10.9.9.9',
        })
        await tx.audit.append({ type: 'test.created', actor: 'user:甲', subject: 'doc-2', outcome: 'failure' })
      })
    })
    afterAll(async () => t?.close())

    it('lets the auditor search with filters and cursor paging, and nobody else', async () => {
      const all = await get('/api/v1/audit/events?type=test.&order=asc')
      expect(all.statusCode, all.body).toBe(200)
      expect(all.json().items.map((r: { type: string; actor: string }) => [r.type, r.actor])).toEqual([
        ['test.created', 'user:甲'],
        ['test.updated', 'user:乙'],
        ['test.created', 'user:甲'],
      ])
      expect(all.json().nextCursor).toBeNull()

      const filtered = await get(
        `/api/v1/audit/events?type=test.&actor=${encodeURIComponent('user:甲')}&outcome=failure&subject=doc-2`,
      )
      expect(filtered.json().items).toHaveLength(1)
      expect((await get('/api/v1/audit/events?type=test.&source=10.9.9.9')).json().items[0]).toMatchObject({
        type: 'test.updated',
        outcome: 'denied',
      })
      const future = new Date(Date.now() + 3_600_000).toISOString()
      expect((await get(`/api/v1/audit/events?type=test.&from=${future}`)).json().items).toEqual([])

      const first = (await get('/api/v1/audit/events?type=test.&limit=2')).json()
      expect(first.items).toHaveLength(2)
      const second = (await get(`/api/v1/audit/events?type=test.&limit=2&cursor=${first.nextCursor}`)).json()
      expect([...first.items, ...second.items].map((r: { seq: number }) => r.seq)).toEqual(
        all
          .json()
          .items.map((r: { seq: number }) => r.seq)
          .reverse(),
      )

      const one = await get(`/api/v1/audit/events/${first.items[0].seq}`)
      expect(one.statusCode).toBe(200)
      expect(one.json()).toMatchObject({ seq: first.items[0].seq, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })

      for (const url of [
        '/api/v1/audit/events',
        '/api/v1/audit/export',
        '/api/v1/audit/verify',
        '/api/v1/audit/checkpoints',
      ]) {
        const denied = await get(url, sysadmin)
        expect(denied.statusCode, url).toBe(403)
        expect(denied.headers['content-type']).toMatch(/problem\+json/)
      }
      expect((await t.app.inject({ url: '/api/v1/audit/events' })).statusCode).toBe(401)
    })

    it.each([
      ['/api/v1/audit/events?limit=501', 'query.limit'],
      ['/api/v1/audit/events?outcome=maybe', 'query.outcome'],
      ['/api/v1/audit/events?from=yesterday', 'query.from'],
      ['/api/v1/audit/events?type=a%25b', 'query.type'],
      [`/api/v1/audit/events?actor=${'x'.repeat(201)}`, 'query.actor'],
      ['/api/v1/audit/events?cursor=-1', 'query.cursor'],
      ['/api/v1/audit/events?unknown=1', 'query'],
      ['/api/v1/audit/events/0', 'params.seq'],
      ['/api/v1/audit/export?format=xlsx', 'query.format'],
      ['/api/v1/audit/checkpoints?limit=1000', 'query.limit'],
    ])('rejects %s naming %s', async (url, field) => {
      const response = await get(url)
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
      expect(JSON.stringify(response.json().errors)).toContain(field)
    })

    it('rejects a time range that ends before it starts, and answers 404 for a missing record', async () => {
      const range = await get('/api/v1/audit/events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')
      expect(range.statusCode).toBe(400)
      expect(range.json().detail).toContain('query.to')
      const missing = await get('/api/v1/audit/events/999999')
      expect(missing.statusCode).toBe(404)
      expect(missing.json()).toMatchObject({ code: 'AUDIT_RECORD_NOT_FOUND' })
    })

    it('exports CSV with a BOM and a header, quoting and defusing formulas, and JSON Lines', async () => {
      const csv = await t.app.inject({ url: '/api/v1/audit/export?type=test.&format=csv', headers: auditor.headers })
      expect(csv.statusCode, csv.body).toBe(200)
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="yiqian-audit-\d{8}T\d{6}\.csv"$/)
      expect(csv.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]))
      const text = csv.body.slice(UTF8_BOM.length)
      const lines = text.split('\r\n')
      expect(lines[0]).toBe('seq,at,type,actor,actor_role,subject,outcome,source,request_id,data,prev_hash,hash')
      expect(text).toContain('出院小结')
      expect(csv.headers['x-audit-export-rows']).toBe('3')
      // The data cell is one quoted field; a value starting with "=" never reaches Excel as a formula.
      expect(text).toContain('"{""note"":""=HYPERLINK(\\""http://evil\\"")""')

      const jsonl = await t.app.inject({
        url: '/api/v1/audit/export?type=test.&format=jsonl',
        headers: auditor.headers,
      })
      expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
      const rows = jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(rows[0]).toMatchObject({ export: 'yiqian-audit/v1', rows: 3, filters: { type: 'test.' } })
      expect(rows.slice(1).map((r) => r.type)).toEqual(['test.created', 'test.updated', 'test.created'])
      expect(rows[1].data).toEqual({ 名称: '出院小结' })
    })

    it('verifies the trail, lists the signed checkpoints with their keys, and reports tampering', async () => {
      expect((await runAuditCheckpointJob(t.services, { force: true })).status).toBe('issued')
      const checkpoints = await get('/api/v1/audit/checkpoints')
      expect(checkpoints.statusCode, checkpoints.body).toBe(200)
      const body = checkpoints.json()
      expect(body.items).toHaveLength(1)
      expect(body.items[0]).toMatchObject({ algorithm: 'SM2-SM3', timestampToken: null, keyId: body.keys[0].keyId })
      expect(body.keys[0].publicKeyPem).toMatch(/BEGIN PUBLIC KEY/)

      const ok = await get('/api/v1/audit/verify')
      expect(ok.statusCode, ok.body).toBe(200)
      expect(ok.json()).toMatchObject({ status: 'ok', broken: null, checkpointsChecked: 1 })
      expect(ok.json().rowsChecked).toBeGreaterThan(3)

      const target = (await get('/api/v1/audit/events?type=test.updated')).json().items[0].seq
      await t.storage.db.updateTable('audit_events').set({ actor: 'user:丙' }).where('seq', '=', target).execute()
      const broken = (await get('/api/v1/audit/verify')).json()
      expect(broken).toMatchObject({ status: 'broken', broken: { seq: target, reason: 'hash-mismatch' } })
      expect(broken.broken.message.zh).toContain(`第 ${target} 条`)
      await t.storage.db.updateTable('audit_events').set({ actor: 'user:乙' }).where('seq', '=', target).execute()
    })

    it('offers no way to change or delete audit records', async () => {
      for (const method of ['DELETE', 'PUT', 'PATCH', 'POST'] as const) {
        const response = await t.app.inject({
          method,
          url: '/api/v1/audit/events/1',
          headers: auditor.headers,
          payload: {},
        })
        expect(response.statusCode, method).toBeGreaterThanOrEqual(400)
        expect([404, 405]).toContain(response.statusCode)
      }
      const routes = t.app.printRoutes({ commonPrefix: false })
      expect(routes).not.toMatch(/audit[^\n]*\((?:DELETE|PUT|PATCH|POST)/)
    })
  })
}
