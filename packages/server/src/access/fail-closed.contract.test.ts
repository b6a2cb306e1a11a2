import { testDialects } from '@yiqian/storage/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, signInAs, type TestApp } from '../testing.js'

// MLPS level 3: an action whose audit record cannot be written does not happen.
describe('audit fails closed', () => {
  let t: TestApp
  let sysadmin: SignedIn

  beforeAll(async () => {
    t = await createTestApp({ dialect: testDialects()[0] ?? 'sqlite' })
    sysadmin = await signInAs(t, ['sysadmin'])
  })
  afterAll(async () => t?.close())

  it('refuses reads and writes while the audit log cannot be appended, and writes nothing', async () => {
    const before = await t.services.accounts.list()
    // Removing the chain head makes every append fail, as a full disk or a broken table would.
    const head = await sql<{ seq: number; hash: string }>`select seq, hash from audit_head where id = 1`.execute(
      t.storage.db,
    )
    const row = head.rows[0]
    if (!row) throw new Error('no audit head')
    await sql`delete from audit_head`.execute(t.storage.db)
    try {
      const read = await t.app.inject({ method: 'GET', url: '/api/v1/accounts', headers: sysadmin.headers })
      expect(read.statusCode).toBe(500)
      expect(read.json().code).toBe('INTERNAL_ERROR')
      const write = await t.app.inject({
        method: 'POST',
        url: '/api/v1/accounts',
        headers: sysadmin.headers,
        payload: { username: 'li.na', displayName: '李娜' },
      })
      expect(write.statusCode).toBe(500)
    } finally {
      await sql`insert into audit_head (id, seq, hash) values (1, ${row.seq}, ${row.hash})`.execute(t.storage.db)
    }
    expect(await t.services.accounts.list()).toEqual(before)
    // With the log back, the same request works.
    const again = await t.app.inject({ method: 'GET', url: '/api/v1/accounts', headers: sysadmin.headers })
    expect(again.statusCode).toBe(200)
  })
})
