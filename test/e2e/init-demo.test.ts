import { execFileSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { systemClock } from '@yiqian/core'
import { certificateToPem, parseCertificate } from '@yiqian/pki'
import { openStorage, repositoriesOf } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, startServer, yiqian } from './harness.js'

interface DemoFile {
  warning: string
  staff: { staffId: string; employeeNumber: string; name: string; certificateSerial: string; clientShare: unknown }[]
}

// `yiqian init --demo --hierarchy ecdsa-p256` on an empty data folder, then the real server: the SM2 and ECDSA
// hierarchies exist, 24 test staff hold certificates, and what the server publishes verifies with OpenSSL.
for (const kind of testDialects()) {
  describe(`${kind}: yiqian init --demo`, () => {
    let db: TestDatabase
    let env: NodeJS.ProcessEnv

    beforeAll(async () => {
      db = await createTestDatabase(kind)
      env = { YIQIAN_DATA: db.dataDir, ...(db.databaseUrl && { DATABASE_URL: db.databaseUrl }) }
    })
    afterAll(async () => {
      await db?.drop()
    })

    it('creates the hierarchies and at least 20 test staff with certificates, once', { timeout: 120_000 }, async () => {
      const first = await finish(yiqian(['init', '--demo', '--hierarchy', 'ecdsa-p256'], env))
      expect(first.code, first.stderr).toBe(0)
      expect(first.stderr).toContain('(sm2)')
      expect(first.stderr).toContain('(ecdsa-p256)')
      const sharesFile = join(db.dataDir, 'demo-phone-shares.json')
      expect(statSync(sharesFile).mode & 0o777).toBe(0o600)
      const demo = JSON.parse(readFileSync(sharesFile, 'utf8')) as DemoFile
      expect(demo.warning).toContain('TEST')
      expect(demo.staff.length).toBeGreaterThanOrEqual(20)
      for (const member of demo.staff) {
        expect(member.name).toContain('测试')
        expect(member.employeeNumber).toMatch(/^TEST\d{3}$/)
        expect(member.certificateSerial).toMatch(/^[0-9a-f]+$/)
      }
      // A second run creates nothing more.
      const second = await finish(yiqian(['init', '--demo'], env))
      expect(second.code, second.stderr).toBe(0)
      expect(second.stderr).not.toContain('演示数据')
      expect(second.stderr).not.toContain('已创建 CA')

      // What the server publishes: the SM2 chain of a demo certificate, checked by OpenSSL link by link (OpenSSL
      // 3.0 applies the SM2 distinguishing ID to the target certificate only).
      const storage = openStorage({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })
      const { cas, leaf } = await storage.db.transaction().execute(async (trx) => {
        const tx = repositoriesOf(trx, systemClock)
        const list = await tx.certificateAuthorities.list()
        const found = await tx.certificates.listBySerial(demo.staff[0]?.certificateSerial as string)
        return { cas: list, leaf: found[0] }
      })
      await storage.close()
      expect(cas.map((c) => c.algorithm).sort()).toEqual(['ecdsa-p256', 'ecdsa-p256', 'sm2', 'sm2'])
      if (!leaf) throw new Error('demo certificate not stored')
      expect(leaf).toMatchObject({ status: 'active', profile: 'staff-sign', staffId: demo.staff[0]?.staffId })
      const issuing = cas.find((c) => c.id === leaf.issuerId)
      const root = cas.find((c) => c.id === issuing?.parentId)
      if (!issuing || !root) throw new Error('no chain')
      const server = await startServer(env)
      try {
        const get = async (path: string) => {
          const res = await fetch(`${server.url}${path}`)
          expect(res.status, path).toBe(200)
          return new Uint8Array(await res.arrayBuffer())
        }
        const dir = db.dataDir
        writeFileSync(join(dir, 'root.pem'), certificateToPem(await get(`/pki/ca/${root.id}.crt`)))
        writeFileSync(join(dir, 'issuing.pem'), certificateToPem(await get(`/pki/ca/${issuing.id}.crt`)))
        writeFileSync(join(dir, 'leaf.pem'), certificateToPem(leaf.der))
        writeFileSync(join(dir, 'issuing.crl'), await get(`/pki/crl/${issuing.id}.crl`))
        const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' }).trim()
        const distid = ['-vfyopt', 'distid:1234567812345678']
        expect(openssl('verify', ...distid, '-CAfile', 'root.pem', 'issuing.pem')).toBe('issuing.pem: OK')
        expect(openssl('verify', ...distid, '-partial_chain', '-CAfile', 'issuing.pem', 'leaf.pem')).toBe(
          'leaf.pem: OK',
        )
        expect(openssl('crl', '-inform', 'DER', '-in', 'issuing.crl', '-noout', '-text')).toContain(
          'No Revoked Certificates',
        )
        const subject = parseCertificate(leaf.der).subjectString
        expect(subject).toContain(`serialNumber=${demo.staff[0]?.employeeNumber}`)
        expect(subject).toContain('测试')
      } finally {
        expect(await server.stop()).toBe(0)
      }
    })
  })
}
