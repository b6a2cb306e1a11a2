/**
 * A large hospital's whole staff at once, on PostgreSQL: 6,300 applications with CSRs made in one bulk application
 * by one officer, approved by a second officer in one bulk approval, which issues all 6,300 certificates. Checked:
 * every application issued, one certificate per staff member, distinct serials, and a sample verified by OpenSSL.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ActorContext } from '@yiqian/core'
import { createSigner, generateSm2KeyPair, sm2PrivateKeyToPem } from '@yiqian/gm'
import { buildCsr, certificateToPem, csrToPem } from '@yiqian/pki'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, seedStaff, signInAs, type TestApp } from '../testing.js'

const STAFF = 6300
const system: ActorContext = { actor: 'system', actorRole: '', source: 'local', requestId: 'bulk-test' }

describe('postgres: a bulk approval issues 6,300 staff certificates', () => {
  let t: TestApp
  let dir: string

  /**
   * CSRs for fresh SM2 keys, made before the app exists: making 6,300 keeps the event loop busy for seconds, which the
   * app's overload guard (under-pressure) would answer with 503. The RA ignores their subject.
   */
  const csrPems: string[] = []

  beforeAll(async () => {
    for (let i = 0; i < STAFF; i++) {
      const { privateKey } = generateSm2KeyPair()
      csrPems.push(
        csrToPem(await buildCsr({ subject: [{ CN: `k${i}` }], signer: createSigner(sm2PrivateKeyToPem(privateKey)) })),
      )
    }
    t = await createTestApp({ dialect: 'postgres', ca: true })
    dir = mkdtempSync(join(tmpdir(), 'yiqian-bulk-'))
  }, 300_000)
  afterAll(async () => {
    await t?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('applies with CSRs, approves in bulk and issues every certificate', { timeout: 600_000 }, async () => {
    const ca = t.services.ca
    if (!ca) throw new Error('no CA')
    const { root, issuing } = await ca.createHierarchy(
      { algorithm: 'sm2', names: { root: { CN: 'Bulk Root', O: 'T' }, issuing: { CN: 'Bulk Issuing', O: 'T' } } },
      system,
    )
    const { staffIds } = await seedStaff(t, STAFF)
    const csrs = Object.fromEntries(staffIds.map((id, i) => [id, csrPems[i] as string]))
    const [a, b] = await Promise.all([signInAs(t, ['ra-officer']), signInAs(t, ['ra-officer'])])
    const applied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/ra/applications/bulk',
      headers: a.headers,
      payload: { profileId: 'staff-sign', staffIds, csrs },
    })
    expect(applied.statusCode, applied.body.slice(0, 500)).toBe(200)
    expect(applied.json()).toMatchObject({ created: STAFF, skipped: 0 })
    const ids = (applied.json().results as { applicationId: string }[]).map((r) => r.applicationId)

    const started = performance.now()
    const approved = await t.app.inject({
      method: 'POST',
      url: '/api/v1/ra/approvals',
      headers: b.headers,
      payload: { ids },
    })
    const seconds = (performance.now() - started) / 1000
    expect(approved.statusCode, approved.body.slice(0, 500)).toBe(200)
    expect(approved.json()).toMatchObject({ approved: 0, issued: STAFF, skipped: 0 })
    process.stdout.write(
      `bulk approval: ${STAFF} certificates issued in ${seconds.toFixed(1)} s (${(STAFF / seconds).toFixed(0)}/s)\n`,
    )

    const counts = await sql<{ n: string; staff: string; serials: string }>`
      select count(*) as n, count(distinct staff_id) as staff, count(distinct serial) as serials
      from certificates where issuer_id = ${issuing.id} and status = 'active' and staff_id is not null`.execute(
      t.storage.db,
    )
    expect(counts.rows[0]).toEqual({ n: String(STAFF), staff: String(STAFF), serials: String(STAFF) })
    const issuedApplications = await sql<{ n: string }>`
      select count(*) as n from certificate_applications where status = 'issued'`.execute(t.storage.db)
    expect(issuedApplications.rows[0]?.n).toBe(String(STAFF))

    // OpenSSL checks a sample, link by link (OpenSSL 3.0 applies the SM2 distid to the target certificate only).
    const sample = await sql<{ der: string }>`
      select der from certificates where issuer_id = ${issuing.id} and staff_id is not null order by serial limit 3`.execute(
      t.storage.db,
    )
    writeFileSync(join(dir, 'root.pem'), certificateToPem(root.certificate))
    writeFileSync(join(dir, 'issuing.pem'), certificateToPem(issuing.certificate))
    for (const [i, row] of sample.rows.entries()) {
      writeFileSync(join(dir, `leaf${i}.pem`), certificateToPem(new Uint8Array(Buffer.from(row.der, 'base64'))))
      const out = execFileSync(
        'openssl',
        ['verify', '-vfyopt', 'distid:1234567812345678', '-partial_chain', '-CAfile', 'issuing.pem', `leaf${i}.pem`],
        { cwd: dir, encoding: 'utf8' },
      )
      expect(out.trim()).toBe(`leaf${i}.pem: OK`)
    }
  })
})
