import { randomBytes } from 'node:crypto'
import type { CertificateAuthority, IssuedCertificate, UnitOfWork } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isUniqueViolation } from '../errors.js'
import { openTestStorage, testAuthority, testCertificate, testDialects } from '../testing.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const at = (seconds: number) => new Date(T0 + seconds * 1000)

function authority(overrides: Partial<CertificateAuthority> = {}): CertificateAuthority {
  return testAuthority({ name: '医签 SM2 根 CA', createdAt: at(0), ...overrides })
}

function certificate(issuerId: string, overrides: Partial<IssuedCertificate> = {}): IssuedCertificate {
  return testCertificate(issuerId, {
    subject: 'C=CN, O=某某省人民医院, CN=王医生',
    holderActor: 'user:u1',
    notBefore: at(0),
    notAfter: at(86_400),
    ...overrides,
  })
}

for (const kind of testDialects()) {
  describe(`${kind}: certificate authorities and certificates`, () => {
    let uow: UnitOfWork
    let close = async () => {}

    beforeAll(async () => {
      ;({ uow, close } = await openTestStorage(kind, { now: () => at(0) }))
    })
    afterAll(() => close())

    it('stores a CA with its chain and bytes intact, and lists it', async () => {
      const root = authority()
      const issuing = authority({
        name: 'Issuing',
        algorithm: 'ecdsa-p256',
        parentId: root.id,
        chain: [root.certificate],
        createdAt: at(1),
      })
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(root)
        await tx.certificateAuthorities.insert(issuing)
      })
      const found = await uow.run((tx) => tx.certificateAuthorities.find(issuing.id))
      expect(found).toEqual(issuing)
      expect(await uow.run((tx) => tx.certificateAuthorities.find('ca-0000000000000000'))).toBeUndefined()
      const ids = (await uow.run((tx) => tx.certificateAuthorities.list())).map((c) => c.id)
      expect(ids.indexOf(root.id)).toBeLessThan(ids.indexOf(issuing.id))
    })

    it('saves a CRL only over the number it read (optimistic locking)', async () => {
      const ca = authority()
      await uow.run((tx) => tx.certificateAuthorities.insert(ca))
      const crl = { der: new Uint8Array(randomBytes(200)), number: 1, nextUpdate: at(604_800) }
      expect(await uow.run((tx) => tx.certificateAuthorities.saveCrl(ca.id, crl, 0))).toBe(true)
      // A second writer that read number 0 too loses.
      expect(await uow.run((tx) => tx.certificateAuthorities.saveCrl(ca.id, { ...crl, number: 1 }, 0))).toBe(false)
      const saved = await uow.run((tx) => tx.certificateAuthorities.find(ca.id))
      expect(saved?.crl).toEqual(crl.der)
      expect(saved?.crlNumber).toBe(1)
      expect(saved?.crlNextUpdate).toEqual(crl.nextUpdate)
    })

    it('stores the delegated OCSP responder', async () => {
      const ca = authority()
      await uow.run((tx) => tx.certificateAuthorities.insert(ca))
      const responder = { keyUri: 'soft:ocsp-0123456789abcdef', certificate: new Uint8Array(randomBytes(500)) }
      await uow.run((tx) => tx.certificateAuthorities.saveOcspResponder(ca.id, responder))
      expect((await uow.run((tx) => tx.certificateAuthorities.find(ca.id)))?.ocspResponder).toEqual(responder)
    })

    it('stores certificates; the serial is unique per issuer, not across issuers', async () => {
      const a = authority()
      const b = authority()
      await uow.run(async (tx) => {
        await tx.certificateAuthorities.insert(a)
        await tx.certificateAuthorities.insert(b)
      })
      const one = certificate(a.id)
      await uow.run((tx) => tx.certificates.insert(one))
      expect(await uow.run((tx) => tx.certificates.find(one.id))).toEqual(one)
      expect(await uow.run((tx) => tx.certificates.findBySerial(a.id, one.serialHex))).toEqual(one)
      expect(await uow.run((tx) => tx.certificates.findBySerial(b.id, one.serialHex))).toBeUndefined()

      const duplicate = certificate(a.id, { serialHex: one.serialHex })
      const error = await uow.run((tx) => tx.certificates.insert(duplicate)).catch((e: unknown) => e)
      expect(isUniqueViolation(error)).toBe(true)

      const other = certificate(b.id, { serialHex: one.serialHex, staffId: undefined, holderActor: undefined })
      await uow.run((tx) => tx.certificates.insert(other))
      const both = await uow.run((tx) => tx.certificates.listBySerial(one.serialHex))
      expect(both.map((c) => c.issuerId).sort()).toEqual([a.id, b.id].sort())
      expect(both.find((c) => c.issuerId === b.id)?.staffId).toBeUndefined()
    })

    it('updates with a version check, keeping the revocation, and lists what a CRL must carry', async () => {
      const ca = authority()
      await uow.run((tx) => tx.certificateAuthorities.insert(ca))
      const active = certificate(ca.id, { staffId: 'staff-crl' })
      const toRevoke = certificate(ca.id, { staffId: 'staff-crl' })
      const toSuspend = certificate(ca.id)
      const expiredRevoked = certificate(ca.id, {
        notAfter: at(10),
        status: 'revoked',
        revocation: { reason: 'keyCompromise', at: at(5), by: 'user:o', invalidityDate: undefined },
      })
      await uow.run(async (tx) => {
        for (const c of [active, toRevoke, toSuspend, expiredRevoked]) await tx.certificates.insert(c)
      })
      const revoked: IssuedCertificate = {
        ...toRevoke,
        status: 'revoked',
        statusChangedAt: at(100),
        revocation: { reason: 'keyCompromise', at: at(100), by: 'user:officer', invalidityDate: at(50) },
        version: 2,
      }
      expect(await uow.run((tx) => tx.certificates.update(revoked))).toBe(true)
      // Same version again: somebody else already saved version 2.
      expect(await uow.run((tx) => tx.certificates.update({ ...revoked, status: 'active' }))).toBe(false)
      expect(await uow.run((tx) => tx.certificates.find(toRevoke.id))).toEqual(revoked)
      await uow.run((tx) =>
        tx.certificates.update({ ...toSuspend, status: 'suspended', statusChangedAt: at(200), version: 2 }),
      )

      const listed = await uow.run((tx) => tx.certificates.listRevoked(ca.id, at(1000)))
      expect(listed.map((c) => c.id).sort()).toEqual([toRevoke.id, toSuspend.id].sort())
      const mine = await uow.run((tx) => tx.certificates.listByStaff('staff-crl'))
      expect(mine.map((c) => c.id).sort()).toEqual([active.id, toRevoke.id].sort())
    })

    it('a failed unit of work leaves no certificate behind', async () => {
      const ca = authority()
      await uow.run((tx) => tx.certificateAuthorities.insert(ca))
      const c = certificate(ca.id)
      await expect(
        uow.run(async (tx) => {
          await tx.certificates.insert(c)
          throw new Error('signing failed')
        }),
      ).rejects.toThrow('signing failed')
      expect(await uow.run((tx) => tx.certificates.find(c.id))).toBeUndefined()
    })
  })
}
