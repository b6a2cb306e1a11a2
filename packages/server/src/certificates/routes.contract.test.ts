/**
 * The certificate management API over the real app, CA and database: search and detail within the caller's scope,
 * downloads, revoke / suspend / resume with optimistic versions, the status answer for client systems, and the
 * report with its CSV and XLSX exports parsed back.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { ActorContext, CaService, CertificateAuthority, IssuedCertificate } from '@yiqian/core'
import { bytesToHex, generateSm2KeyPair, sm2PublicKeyToSpki, sm3 } from '@yiqian/gm'
import { certificateFromPem, parseCrl } from '@yiqian/pki'
import { testDepartment, testDialects, testStaffMember } from '@yiqian/storage/testing'
import { parse as parseCsv } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  caOf,
  createTestApp,
  type RegisteredClientSystem,
  registerClientSystem,
  type SignedIn,
  signInAs,
  type TestApp,
} from '../testing.js'

const actor: ActorContext = { actor: 'user:seed', actorRole: 'ra-officer', source: '127.0.0.1', requestId: 'seed' }
const DAY = 86_400_000

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
}

for (const dialect of testDialects()) {
  describe(`${dialect}: certificate management API`, () => {
    let t: TestApp
    let ca: CaService
    let root: CertificateAuthority
    let issuing: CertificateAuthority
    let officer: SignedIn
    let manager: SignedIn
    let clientSystem: RegisteredClientSystem
    const inst = `inst-${randomUUID()}`
    const cert: Record<'wang1' | 'wang2' | 'zhao' | 'eve' | 'server', IssuedCertificate> = {} as never
    let lapsed: IssuedCertificate

    const get = (url: string, who: SignedIn = officer) => t.app.inject({ method: 'GET', url, headers: who.headers })
    const post = (url: string, payload: object, who: SignedIn = officer) =>
      t.app.inject({ method: 'POST', url, payload, headers: who.headers })

    beforeAll(async () => {
      t = await createTestApp({ dialect, ca: true })
      ca = caOf(t)
      ;({ root, issuing } = await ca.createHierarchy(
        {
          algorithm: 'ecdsa-p256',
          names: {
            root: { O: '第一人民医院', CN: 'Yiqian Test Root' },
            issuing: { O: '第一人民医院', CN: 'Yiqian Test Issuing CA' },
          },
        },
        actor,
      ))
      const now = t.clock.now()
      const dept = (id: string, name: string, parentId?: string) =>
        testDepartment({ id, institutionId: inst, name, parentId, createdAt: now })
      const person = (id: string, name: string, departmentIds: string[]) =>
        testStaffMember({ id, institutionId: inst, name, departmentIds, createdAt: now })
      await t.services.uow.run(async (tx) => {
        await tx.institutions.insert({
          id: inst,
          code: 'H1',
          name: '第一人民医院',
          parentId: undefined,
          createdAt: now,
          version: 1,
        })
        await tx.departments.insertMany([
          dept('d-med', '内科'),
          dept('d-cardio', '心内科', 'd-med'),
          dept('d-surg', '外科'),
          dept('d-evil', '=HYPERLINK("http://x")'),
        ])
        await tx.staff.insertMany([
          person('s-wang', '王医生', ['d-cardio']),
          person('s-zhao', '赵护士', ['d-surg']),
          person('s-eve', '-伊芙', ['d-evil']),
        ])
      })
      const staffCert = (staffId: string, cn: string) =>
        ca.issueCertificate(
          {
            caId: issuing.id,
            profileId: 'staff-sign',
            subject: { C: 'CN', O: '第一人民医院', CN: cn, serialNumber: staffId },
            publicKey: sm2PublicKeyToSpki(generateSm2KeyPair().publicKey),
            staffId,
          },
          actor,
        )
      cert.wang1 = await staffCert('s-wang', '王医生')
      cert.wang2 = await staffCert('s-wang', '王医生 (2)')
      cert.zhao = await staffCert('s-zhao', '赵护士')
      cert.eve = await staffCert('s-eve', '+伊芙')
      cert.server = await ca.issueCertificate(
        {
          caId: issuing.id,
          profileId: 'tls-server',
          subject: { CN: 'his.hospital.local' },
          subjectAltName: { dns: ['his.hospital.local'] },
          publicKey: sm2PublicKeyToSpki(generateSm2KeyPair().publicKey),
        },
        actor,
      )
      // A certificate issued 400 days ago that lapsed five days ago (stored still 'active').
      lapsed = {
        ...cert.zhao,
        id: randomUUID(),
        serialHex: `7f${randomBytes(8).toString('hex')}`,
        notBefore: new Date(now.getTime() - 400 * DAY),
        notAfter: new Date(now.getTime() - 5 * DAY),
        createdAt: new Date(now.getTime() - 400 * DAY),
        statusChangedAt: new Date(now.getTime() - 400 * DAY),
      }
      await t.services.uow.run((tx) => tx.certificates.insert(lapsed))
      officer = await signInAs(t, ['ra-officer'])
      manager = await signInAs(t, ['dept-manager'], { departmentIds: ['d-med'] })
      clientSystem = await registerClientSystem(t)
    }, 120_000)
    afterAll(async () => t?.close())

    it('lists certificates with holder and department for an RA officer', async () => {
      const response = await get('/api/v1/certificates?profile=staff-sign&limit=10')
      expect(response.statusCode).toBe(200)
      const page = response.json()
      expect(page.total).toBe(5)
      expect(page.items.map((i: { id: string }) => i.id)).toEqual([
        cert.eve.id,
        cert.zhao.id,
        cert.wang2.id,
        cert.wang1.id,
        lapsed.id,
      ])
      expect(page.items[3]).toEqual({
        id: cert.wang1.id,
        serial: cert.wang1.serialHex,
        issuerId: issuing.id,
        subject: cert.wang1.subject,
        staffId: 's-wang',
        staffName: '王医生',
        departmentId: 'd-cardio',
        departmentName: '心内科',
        profile: 'staff-sign',
        status: 'active',
        notBefore: cert.wang1.notBefore.toISOString(),
        notAfter: cert.wang1.notAfter.toISOString(),
        statusChangedAt: cert.wang1.statusChangedAt.toISOString(),
        revocation: null,
        version: 1,
      })
      expect(page.items[0].serial).toMatch(/^[0-9a-f]+$/)
      expect(page.items[4].status).toBe('expired')
      const all = (await get('/api/v1/certificates')).json()
      // + the issuing CA's certificate (issued by the root) and the OCSP responder's.
      expect(all.total).toBe(8)
    })

    it('searches by subject, serial prefix, status, staff, department subtree and expiry window', async () => {
      const ids = async (query: string) =>
        (await get(`/api/v1/certificates?${query}`)).json().items.map((i: { id: string }) => i.id)
      expect(await ids(`q=${encodeURIComponent('王医生')}`)).toEqual([cert.wang2.id, cert.wang1.id])
      expect(await ids(`q=${cert.zhao.serialHex.slice(0, 12).toUpperCase()}`)).toEqual([cert.zhao.id])
      expect(await ids(`serial=${cert.zhao.serialHex.toUpperCase()}`)).toEqual([cert.zhao.id])
      expect(await ids('status=expired')).toEqual([lapsed.id])
      expect(await ids('staffId=s-zhao')).toEqual([cert.zhao.id, lapsed.id])
      expect(await ids('departmentId=d-med')).toEqual([cert.wang2.id, cert.wang1.id])
      expect(await ids('expiringWithinDays=1')).toEqual([])
      expect((await ids('expiringWithinDays=3650')).length).toBe(7)
    })

    it('answers 400 naming the field for bad query input', async () => {
      for (const [query, field] of [
        ['status=valid', 'status'],
        ['limit=1000', 'limit'],
        ['serial=xyz', 'serial'],
        ['expiringWithinDays=-1', 'expiringWithinDays'],
        [`q=${'x'.repeat(201)}`, 'q'],
        ['unknown=1', ''],
      ]) {
        const response = await get(`/api/v1/certificates?${query}`)
        expect(response.statusCode, query).toBe(400)
        expect(response.headers['content-type']).toContain('application/problem+json')
        if (field) expect(JSON.stringify(response.json().errors), query).toContain(field)
      }
    })

    it('limits a department manager to their department subtree', async () => {
      const page = (await get('/api/v1/certificates', manager)).json()
      expect(page.items.map((i: { id: string }) => i.id)).toEqual([cert.wang2.id, cert.wang1.id])
      expect(page.total).toBe(2)
      expect((await get('/api/v1/certificates?departmentId=d-surg', manager)).json()).toEqual({ items: [], total: 0 })
      expect((await get(`/api/v1/certificates/${cert.wang1.id}`, manager)).statusCode).toBe(200)
      const hidden = await get(`/api/v1/certificates/${cert.zhao.id}`, manager)
      expect(hidden.statusCode).toBe(404)
      expect(hidden.json().code).toBe('CERTIFICATE_NOT_FOUND')
      expect((await get(`/api/v1/certificates/${cert.server.id}/download`, manager)).statusCode).toBe(404)
    })

    it('shows one certificate with PEM, fingerprints, key algorithm and its audit history', async () => {
      const response = await get(`/api/v1/certificates/${cert.wang1.id}`)
      expect(response.statusCode).toBe(200)
      const detail = response.json()
      expect(certificateFromPem(detail.pem)).toEqual(cert.wang1.der)
      expect(detail.fingerprintSha256).toBe(createHash('sha256').update(cert.wang1.der).digest('hex'))
      expect(detail.fingerprintSm3).toBe(bytesToHex(sm3(cert.wang1.der)))
      expect(detail).toMatchObject({
        id: cert.wang1.id,
        issuerName: 'Yiqian Test Issuing CA',
        keyAlgorithm: 'SM2',
        supersededBy: null,
        departmentName: '心内科',
      })
      expect(detail.history).toEqual([
        expect.objectContaining({
          type: 'certificate.issued',
          actor: 'user:seed',
          data: expect.objectContaining({ serial: cert.wang1.serialHex }),
        }),
      ])
      expect((await get(`/api/v1/certificates/${randomUUID()}`)).json().code).toBe('CERTIFICATE_NOT_FOUND')
    })

    it('downloads PEM, DER and the chain with a file name', async () => {
      const pem = await get(`/api/v1/certificates/${cert.wang1.id}/download?format=pem`)
      expect(pem.statusCode).toBe(200)
      expect(pem.headers['content-type']).toContain('application/x-pem-file')
      expect(pem.headers['content-disposition']).toBe(`attachment; filename="${cert.wang1.serialHex}.pem"`)
      expect(certificateFromPem(pem.body)).toEqual(cert.wang1.der)
      const der = await get(`/api/v1/certificates/${cert.wang1.id}/download?format=der`)
      expect(der.headers['content-type']).toBe('application/pkix-cert')
      expect(new Uint8Array(der.rawPayload)).toEqual(cert.wang1.der)
      const chain = await get(`/api/v1/certificates/${cert.wang1.id}/download?format=chain`)
      expect(pemBlocks(chain.body).map((b) => certificateFromPem(b))).toEqual([
        cert.wang1.der,
        issuing.certificate,
        root.certificate,
      ])
      const bad = await get(`/api/v1/certificates/${cert.wang1.id}/download?format=p12`)
      expect(bad.statusCode).toBe(400)
      expect(JSON.stringify(bad.json().errors)).toContain('format')
    })

    it('reports by department: issued and current states, scoped for a department manager', async () => {
      const response = await get('/api/v1/reports/certificates?groupBy=department')
      expect(response.statusCode).toBe(200)
      const report = response.json()
      expect(report).toMatchObject({ groupBy: 'department', from: null, to: null })
      const row = (key: string | null) => report.rows.find((r: { key: string | null }) => r.key === key)
      expect(row('d-cardio')).toEqual({
        key: 'd-cardio',
        label: '心内科',
        issued: 2,
        active: 2,
        suspended: 0,
        revoked: 0,
        expired: 0,
        expiringIn30Days: 0,
      })
      expect(row('d-surg')).toMatchObject({ issued: 2, active: 1, expired: 1 })
      // The issuing CA, the OCSP responder and the TLS server certificate have no holder.
      expect(row(null)).toMatchObject({ label: '无科室 / no department', issued: 3 })
      // The delegated OCSP responder's certificate lives 30 days: it is the one expiring soon.
      expect(report.totals).toEqual({ issued: 8, active: 7, suspended: 0, revoked: 0, expired: 1, expiringIn30Days: 1 })

      const windowed = (
        await get(
          `/api/v1/reports/certificates?groupBy=department&from=${new Date(t.clock.now().getTime() - 30 * DAY).toISOString().slice(0, 10)}`,
        )
      ).json()
      expect(windowed.totals.issued).toBe(7)
      expect(windowed.from).toMatch(/T00:00:00.000Z$/)

      const scoped = (await get('/api/v1/reports/certificates?groupBy=institution', manager)).json()
      expect(scoped.rows).toEqual([expect.objectContaining({ key: inst, label: '第一人民医院', issued: 2, active: 2 })])
      const byProfile = (await get('/api/v1/reports/certificates?groupBy=profile')).json()
      expect(byProfile.rows.find((r: { key: string }) => r.key === 'staff-sign')).toMatchObject({ issued: 5 })

      const bad = await get('/api/v1/reports/certificates?groupBy=person')
      expect(bad.statusCode).toBe(400)
      expect(JSON.stringify(bad.json().errors)).toContain('groupBy')
      const backwards = await get('/api/v1/reports/certificates?from=2026-02-01&to=2026-01-01')
      expect(backwards.statusCode).toBe(400)
      expect(backwards.json().errors).toEqual([expect.objectContaining({ field: 'body.to' })])
    })

    it('exports the report as CSV (BOM, zh/en header, formula-safe) and XLSX, audited', async () => {
      const json = (await get('/api/v1/reports/certificates?groupBy=department')).json()
      const csv = await get('/api/v1/reports/certificates?groupBy=department&format=csv')
      expect(csv.statusCode).toBe(200)
      expect(csv.headers['content-type']).toContain('text/csv')
      expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="certificates-department-\d{8}\.csv"$/)
      expect(csv.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]))
      const records: string[][] = parseCsv(csv.body, { bom: true })
      expect(records[0]).toEqual([
        '分组 / Key',
        '名称 / Name',
        '签发 / Issued',
        '有效 / Active',
        '冻结 / Suspended',
        '吊销 / Revoked',
        '过期 / Expired',
        '30 天内到期 / Expiring in 30 days',
      ])
      const body = records.slice(1, -1)
      expect(body.length).toBe(json.rows.length)
      for (const [i, row] of json.rows.entries()) {
        expect(body[i]?.slice(2).map(Number)).toEqual([
          row.issued,
          row.active,
          row.suspended,
          row.revoked,
          row.expired,
          row.expiringIn30Days,
        ])
      }
      expect(records.at(-1)?.slice(1, 3)).toEqual(['合计 / Total', String(json.totals.issued)])
      const evil = body.find((r) => r[0] === 'd-evil')
      expect(evil?.[1]).toBe(`'=HYPERLINK("http://x")`)

      const xlsx = await get('/api/v1/reports/certificates?groupBy=department&format=xlsx')
      expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      const workbook = new ExcelJS.Workbook()
      await workbook.xlsx.load(xlsx.rawPayload as never)
      const sheet = workbook.worksheets[0]
      if (!sheet) throw new Error('no worksheet')
      expect(sheet.getRow(1).getCell(3).value).toBe('签发 / Issued')
      const values: unknown[][] = []
      sheet.eachRow((r, n) => {
        if (n > 1) values.push((r.values as unknown[]).slice(1))
      })
      expect(values.length).toBe(json.rows.length + 1)
      const evilRow = values.find((v) => v[0] === 'd-evil')
      expect(evilRow?.[1]).toBe(`'=HYPERLINK("http://x")`)
      expect(evilRow?.slice(2)).toEqual([1, 1, 0, 0, 0, 0])
      expect(values.at(-1)?.[2]).toBe(json.totals.issued)

      const audited = await t.services.uow.run((tx) =>
        tx.audit.query({ typePrefix: 'report.exported' }, { limit: 10, order: 'asc' }),
      )
      expect(audited.map((r) => [r.actor, r.data?.format, r.data?.groupBy])).toEqual([
        [`user:${officer.account.id}`, 'csv', 'department'],
        [`user:${officer.account.id}`, 'xlsx', 'department'],
      ])
    })

    it('revokes with the version read; a stale version is 409, a second revocation INVALID_TRANSITION', async () => {
      const url = `/api/v1/certificates/${cert.wang2.id}/revocation`
      const stale = await post(url, { reason: 'keyCompromise', version: 7 })
      expect(stale.statusCode).toBe(409)
      expect(stale.json().code).toBe('VERSION_CONFLICT')
      const badReason = await post(url, { reason: 'lostPhone', version: 1 })
      expect(badReason.statusCode).toBe(400)
      expect(JSON.stringify(badReason.json().errors)).toContain('reason')
      const noVersion = await post(url, { reason: 'keyCompromise' })
      expect(JSON.stringify(noVersion.json().errors)).toContain('version')

      const invalidityDate = new Date(t.clock.now().getTime() - DAY).toISOString()
      const revoked = await post(url, { reason: 'keyCompromise', comment: '手机丢失', invalidityDate, version: 1 })
      expect(revoked.statusCode).toBe(200)
      expect(revoked.json()).toMatchObject({
        id: cert.wang2.id,
        status: 'revoked',
        version: 2,
        revocation: { reason: 'keyCompromise', invalidityDate },
      })
      const again = await post(url, { reason: 'superseded', version: 2 })
      expect(again.statusCode).toBe(409)
      expect(again.json().code).toBe('INVALID_TRANSITION')
      // The CA republished its CRL with the serial on it.
      const crl = parseCrl(await ca.crl(issuing.id))
      expect(crl.revoked.map((r) => r.serialHex)).toContain(cert.wang2.serialHex)
      const history = (await get(`/api/v1/certificates/${cert.wang2.id}`)).json().history
      expect(history.map((h: { type: string }) => h.type)).toEqual(['certificate.issued', 'certificate.revoked'])
      expect(history[1].actor).toBe(`user:${officer.account.id}`)
      // A department manager may read but not change.
      const denied = await post(`/api/v1/certificates/${cert.wang1.id}/suspension`, { version: 1 }, manager)
      expect(denied.statusCode).toBe(403)
    })

    it('suspends and resumes, and client systems see each state through the status API', async () => {
      const status = async (serial: string, extra = '') => {
        const url = `/api/v1/certificates/status?serial=${serial}${extra}`
        const response = await t.app.inject({ method: 'GET', url, headers: clientSystem.sign('GET', url) })
        expect(response.statusCode, response.body).toBe(200)
        return response.json()
      }
      expect(await status(cert.zhao.serialHex.toUpperCase())).toEqual({
        serial: cert.zhao.serialHex,
        issuerId: issuing.id,
        status: 'good',
        notBefore: cert.zhao.notBefore.toISOString(),
        notAfter: cert.zhao.notAfter.toISOString(),
        subject: cert.zhao.subject,
        staffId: 's-zhao',
      })
      const suspended = await post(`/api/v1/certificates/${cert.zhao.id}/suspension`, { comment: '休假', version: 1 })
      expect(suspended.json()).toMatchObject({ status: 'suspended', version: 2 })
      expect((await status(cert.zhao.serialHex, `&issuerId=${issuing.id}`)).status).toBe('suspended')
      const staleResume = await post(`/api/v1/certificates/${cert.zhao.id}/resumption`, { version: 1 })
      expect(staleResume.json().code).toBe('VERSION_CONFLICT')
      const resumed = await post(`/api/v1/certificates/${cert.zhao.id}/resumption`, { version: 2 })
      expect(resumed.json()).toMatchObject({ status: 'active', version: 3 })
      expect((await status(cert.zhao.serialHex)).status).toBe('good')
      const resumeActive = await post(`/api/v1/certificates/${cert.zhao.id}/resumption`, { version: 3 })
      expect(resumeActive.json().code).toBe('INVALID_TRANSITION')

      expect(await status(cert.wang2.serialHex)).toMatchObject({
        status: 'revoked',
        revocation: { reason: 'keyCompromise' },
      })
      expect((await status(lapsed.serialHex)).status).toBe('expired')
      expect(await status('0badc0de')).toEqual({
        serial: '0badc0de',
        issuerId: null,
        status: 'unknown',
        notBefore: null,
        notAfter: null,
        subject: null,
        staffId: null,
      })
      const badUrl = '/api/v1/certificates/status?serial=not-hex'
      const bad = await t.app.inject({ method: 'GET', url: badUrl, headers: clientSystem.sign('GET', badUrl) })
      expect(bad.statusCode).toBe(400)
      expect(JSON.stringify(bad.json().errors)).toContain('serial')
      // RA officers may ask too; department managers may not.
      expect((await get(`/api/v1/certificates/status?serial=${cert.zhao.serialHex}`)).json().status).toBe('good')
      expect((await get(`/api/v1/certificates/status?serial=${cert.zhao.serialHex}`, manager)).statusCode).toBe(403)
    })

    it('reports the changed states afterwards', async () => {
      const report = (await get('/api/v1/reports/certificates?groupBy=department')).json()
      expect(report.totals).toMatchObject({ issued: 8, active: 6, revoked: 1, suspended: 0, expired: 1 })
      expect(report.rows.find((r: { key: string }) => r.key === 'd-cardio')).toMatchObject({ active: 1, revoked: 1 })
    })
  })
}

describe('certificate changes without a CA', () => {
  it('answer 503 CA_UNAVAILABLE while reads still work', async () => {
    const t = await createTestApp()
    try {
      const officer = await signInAs(t, ['ra-officer'])
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/certificates', headers: officer.headers })
      expect(list.json()).toEqual({ items: [], total: 0 })
      const revoke = await t.app.inject({
        method: 'POST',
        url: `/api/v1/certificates/${randomUUID()}/revocation`,
        headers: officer.headers,
        payload: { reason: 'keyCompromise', version: 1 },
      })
      expect(revoke.statusCode).toBe(503)
      expect(revoke.json().code).toBe('CA_UNAVAILABLE')
    } finally {
      await t.close()
    }
  })
})
