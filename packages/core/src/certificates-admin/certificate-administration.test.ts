import { describe, expect, it, vi } from 'vitest'
import type { Principal } from '../access/principal.js'
import type { CaService } from '../ca/ca-service.js'
import type { IssuedCertificate } from '../ca/certificate-authority.js'
import type { Department, StaffMember } from '../organisation/organisation.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import { createCertificateAdministration } from './certificate-administration.js'
import type { CertificateListing } from './certificate-listing.js'

const now = new Date('2026-11-28T08:00:00Z')
const clock = { now: () => now }
const actor = { actor: 'user:o', actorRole: 'ra-officer', source: 'test', requestId: 'r' }
const officer: Principal = { kind: 'user', id: 'o', name: 'o', roles: ['ra-officer'], departmentIds: [] }
const manager: Principal = { kind: 'user', id: 'm', name: 'm', roles: ['dept-manager'], departmentIds: ['d-med'] }

const listing: CertificateListing = {
  id: 'c1',
  serialHex: '5a01',
  issuerId: 'ca-0123456789abcdef',
  subject: 'CN=赵护士',
  staffId: 's-zhao',
  staffName: '赵护士',
  departmentId: 'd-surg',
  departmentName: '外科',
  institutionId: 'i',
  profile: 'staff-sign',
  ca: false,
  status: 'active',
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2027-01-01T00:00:00Z'),
  statusChangedAt: new Date('2026-01-01T00:00:00Z'),
  revocation: undefined,
  supersededBy: undefined,
  version: 3,
  createdAt: new Date('2026-01-01T00:00:00Z'),
}

const dept = (id: string, parentId?: string) => ({ id, parentId }) as Department

function fakeUow(extra: { bySerial?: IssuedCertificate[] } = {}): UnitOfWork {
  const tx = {
    certificateQueries: { listing: async (id: string) => (id === listing.id ? listing : undefined) },
    staff: {
      find: async (id: string) =>
        id === 's-zhao' ? ({ departmentIds: ['d-surg'] } as unknown as StaffMember) : undefined,
    },
    departments: { list: async () => [dept('d-med'), dept('d-cardio', 'd-med'), dept('d-surg')] },
    certificates: {
      listBySerial: async () => extra.bySerial ?? [],
      findBySerial: async () => extra.bySerial?.[0],
    },
  } as unknown as Repositories
  return { run: (fn) => fn(tx), read: (fn) => fn(tx) }
}

function fakeCa() {
  return { revoke: vi.fn(), suspend: vi.fn(), resume: vi.fn() } as unknown as CaService & {
    revoke: ReturnType<typeof vi.fn>
  }
}

describe('certificate changes', () => {
  it('refuse a stale version before asking the CA', async () => {
    const ca = fakeCa()
    const admin = createCertificateAdministration({ uow: fakeUow(), clock, ca })
    await expect(admin.change(officer, actor, 'c1', { type: 'suspend' }, 2)).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { field: 'version', version: 3 },
    })
    expect(ca.suspend).not.toHaveBeenCalled()
  })

  it('ask the CA by serial and issuer when the version matches', async () => {
    const ca = fakeCa()
    const admin = createCertificateAdministration({ uow: fakeUow(), clock, ca })
    const view = await admin.change(officer, actor, 'c1', { type: 'revoke', reason: 'keyCompromise' }, 3)
    expect(ca.revoke).toHaveBeenCalledWith({ serial: '5a01', caId: listing.issuerId }, 'keyCompromise', actor, {
      invalidityDate: undefined,
      comment: undefined,
    })
    expect(view.id).toBe('c1')
  })

  it('answer CA_UNAVAILABLE without a CA, and not found outside a manager’s departments', async () => {
    await expect(
      createCertificateAdministration({ uow: fakeUow(), clock }).change(officer, actor, 'c1', { type: 'resume' }, 3),
    ).rejects.toMatchObject({ code: 'CA_UNAVAILABLE' })
    const admin = createCertificateAdministration({ uow: fakeUow(), clock, ca: fakeCa() })
    await expect(admin.detail(manager, 'c1')).rejects.toMatchObject({ code: 'CERTIFICATE_NOT_FOUND' })
    await expect(admin.change(manager, actor, 'c1', { type: 'resume' }, 3)).rejects.toMatchObject({
      code: 'CERTIFICATE_NOT_FOUND',
    })
  })
})

describe('certificate status for relying systems', () => {
  it('answers unknown for a serial nobody issued, and asks for the issuer when serials collide', async () => {
    const admin = createCertificateAdministration({ uow: fakeUow(), clock })
    expect(await admin.status({ serial: '00AB' })).toMatchObject({ serial: 'ab', status: 'unknown' })
    await expect(admin.status({ serial: 'zz' })).rejects.toMatchObject({ details: { field: 'serial' } })
    const two = [{ issuerId: 'a' }, { issuerId: 'b' }] as IssuedCertificate[]
    await expect(
      createCertificateAdministration({ uow: fakeUow({ bySerial: two }), clock }).status({ serial: 'ab' }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { field: 'issuerId' } })
  })

  it('reads an active certificate past notAfter as expired', async () => {
    const lapsed = {
      ...listing,
      status: 'active',
      notAfter: new Date('2026-11-01T00:00:00Z'),
    } as unknown as IssuedCertificate
    const admin = createCertificateAdministration({ uow: fakeUow({ bySerial: [lapsed] }), clock })
    expect((await admin.status({ serial: '5a01' })).status).toBe('expired')
  })

  it('refuses an expiry window out of range, naming it', async () => {
    const admin = createCertificateAdministration({ uow: fakeUow(), clock })
    await expect(admin.search(officer, { offset: 0, limit: 10, expiringWithinDays: 5000 })).rejects.toMatchObject({
      details: { field: 'expiringWithinDays' },
    })
  })
})
