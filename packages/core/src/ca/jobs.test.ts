import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createSigner } from '@yiqian/gm'
import { buildCertificate } from '@yiqian/pki'
import { describe, expect, it } from 'vitest'
import type { ActorContext } from '../access/principal.js'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import type { CaService } from './ca-service.js'
import type { CertificateAuthority, IssuedCertificate } from './certificate-authority.js'
import { markExpiredCertificates, refreshCrls, renewOcspResponders } from './jobs.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const at = (seconds: number) => new Date(T0 + seconds * 1000)
const DAY = 86_400

function certificate(overrides: Partial<IssuedCertificate> = {}): IssuedCertificate {
  return {
    kind: 'certificate',
    id: randomUUID(),
    serialHex: '0a1b',
    issuerId: 'ca-0000000000000001',
    subject: 'CN=王医生',
    staffId: 'staff-1',
    holderId: 'staff-1',
    holderActor: undefined,
    profile: 'staff-sign',
    ca: false,
    notBefore: at(-DAY),
    notAfter: at(0),
    status: 'active',
    statusChangedAt: at(-DAY),
    revocation: undefined,
    supersededBy: undefined,
    version: 1,
    der: new Uint8Array(8),
    createdAt: at(-DAY),
    ...overrides,
  }
}

/** Certificates in memory behind the two ports markExpired uses; `interfere` changes a row between read and write. */
function memory(certs: IssuedCertificate[], interfere?: (id: string) => void) {
  const rows = new Map(certs.map((c) => [c.id, c]))
  const audit: AuditEvent[] = []
  let units = 0
  const tx = {
    certificates: {
      find: async (id: string) => {
        const found = rows.get(id)
        interfere?.(id)
        return found
      },
      update: async (c: IssuedCertificate) => {
        const stored = rows.get(c.id)
        if (!stored || stored.version !== c.version - 1) return false
        rows.set(c.id, c)
        return true
      },
    },
    certificateJobs: {
      listExpiredIds: async (now: Date, limit: number) =>
        [...rows.values()]
          .filter((c) => (c.status === 'active' || c.status === 'suspended') && c.notAfter <= now)
          .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())
          .slice(0, limit)
          .map((c) => c.id),
      hasEndEntityCertificates: async (issuerId: string) =>
        [...rows.values()].some((c) => c.issuerId === issuerId && !c.ca && c.profile !== 'ocsp-signer'),
    },
    audit: { append: async (event: AuditEvent) => void audit.push(event) },
  }
  const uow: UnitOfWork = {
    read(fn) {
      return this.run(fn)
    },
    run: async (fn) => {
      units++
      return fn(tx as unknown as Repositories)
    },
  }
  return { uow, rows, audit, units: () => units }
}

describe('markExpiredCertificates', () => {
  it('expires active and suspended certificates past notAfter through the lifecycle, audited, in batches', async () => {
    const due = [
      certificate({ notAfter: at(-10) }),
      certificate({ notAfter: at(-5), status: 'suspended' }),
      certificate({ notAfter: at(0) }),
    ]
    const untouched = [
      certificate({ notAfter: at(1) }),
      certificate({ notAfter: at(-7), status: 'revoked' }),
      certificate({ notAfter: at(-8), status: 'expired' }),
    ]
    const m = memory([...due, ...untouched])
    const result = await markExpiredCertificates({ uow: m.uow, clock: { now: () => at(0) }, batchSize: 2 })
    expect(result).toEqual({ expired: 3, skipped: 0, batches: 2 })
    for (const c of due) {
      expect(m.rows.get(c.id)).toMatchObject({ status: 'expired', version: 2, statusChangedAt: at(0) })
    }
    for (const c of untouched) expect(m.rows.get(c.id)).toEqual(c)
    expect(m.audit.map((a) => [a.type, a.subject, a.actor, a.data?.from])).toEqual([
      ['certificate.expired', due[0]!.id, 'system', 'active'],
      ['certificate.expired', due[1]!.id, 'system', 'suspended'],
      ['certificate.expired', due[2]!.id, 'system', 'active'],
    ])
    expect(m.audit[0]?.data).toMatchObject({ to: 'expired', issuer: 'ca-0000000000000001' })
    // Nothing left: one more unit of work finds nothing.
    expect(await markExpiredCertificates({ uow: m.uow, clock: { now: () => at(0) } })).toEqual({
      expired: 0,
      skipped: 0,
      batches: 0,
    })
  })

  it('skips a certificate someone else changed between read and write, without an audit record', async () => {
    const raced = certificate({ notAfter: at(-3) })
    const plain = certificate({ notAfter: at(-2) })
    const m = memory([raced, plain], (id) => {
      // Another instance expires it first.
      if (id === raced.id) m.rows.set(id, { ...raced, status: 'expired', version: 2 })
    })
    const result = await markExpiredCertificates({ uow: m.uow, clock: { now: () => at(0) } })
    expect(result).toEqual({ expired: 1, skipped: 1, batches: 1 })
    expect(m.audit.map((a) => a.subject)).toEqual([plain.id])
  })
})

function authority(overrides: Partial<CertificateAuthority> = {}): CertificateAuthority {
  return {
    id: `ca-${randomUUID().replace(/-/g, '').slice(0, 16)}`,
    name: 'CA',
    keyUri: 'soft:k',
    algorithm: 'ecdsa-p256',
    certificate: new Uint8Array(8),
    chain: [],
    parentId: undefined,
    status: 'active',
    crl: undefined,
    crlNumber: 1,
    crlNextUpdate: undefined,
    ocspResponder: undefined,
    createdAt: at(0),
    ...overrides,
  }
}

async function responderCertificate(notAfter: Date): Promise<Uint8Array> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return buildCertificate({
    issuer: [{ CN: 'OCSP' }],
    subject: [{ CN: 'OCSP' }],
    subjectPublicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    notBefore: at(-30 * DAY),
    notAfter,
    signer: createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
  })
}

/** A CA service that records what the jobs ask of it. */
function fakeCa(cas: CertificateAuthority[], failOn?: string) {
  const byId = new Map(cas.map((c) => [c.id, c]))
  const calls: { crl: string[]; provisioned: string[]; actors: ActorContext[] } = {
    crl: [],
    provisioned: [],
    actors: [],
  }
  const service = {
    list: async () => [...byId.values()],
    find: async (id: string) => byId.get(id)!,
    async crl(id: string, actor: ActorContext) {
      if (id === failOn) throw new Error('key store unavailable')
      calls.crl.push(id)
      calls.actors.push(actor)
      const ca = byId.get(id)!
      // The real service publishes only when the CRL is missing or due.
      if (!ca.crl) byId.set(id, { ...ca, crl: new Uint8Array(4), crlNumber: ca.crlNumber + 1 })
      return new Uint8Array(4)
    },
    async provisionOcspResponder(id: string, actor: ActorContext) {
      if (id === failOn) throw new Error('key store unavailable')
      calls.provisioned.push(id)
      calls.actors.push(actor)
      return byId.get(id)!
    },
  }
  return { ca: service as unknown as CaService, calls }
}

describe('refreshCrls', () => {
  it('asks for every active CA’s CRL and counts those that were republished; one failure does not stop the rest', async () => {
    const stale = authority()
    const fresh = authority({ crl: new Uint8Array(4) })
    const retired = authority({ status: 'retired' })
    const broken = authority()
    const { ca, calls } = fakeCa([stale, fresh, retired, broken], broken.id)
    const result = await refreshCrls({ ca })
    expect(calls.crl).toEqual([stale.id, fresh.id])
    expect(result).toMatchObject({ checked: 3, refreshed: 1, failed: 1 })
    expect(result.errors[0]).toContain(broken.id)
    expect(calls.actors[0]).toMatchObject({ actor: 'system', requestId: 'job:crl-refresh' })
  })
})

describe('renewOcspResponders', () => {
  it('renews a missing or soon-expiring responder of a CA that answers for end-entity certificates', async () => {
    const now = at(0)
    const root = authority()
    const rootWithLeaves = authority()
    const issuingMissing = authority({ parentId: root.id })
    const issuingSoon = authority({
      parentId: root.id,
      ocspResponder: { keyUri: 'soft:o1', certificate: await responderCertificate(at(6 * DAY)) },
    })
    const issuingFine = authority({
      parentId: root.id,
      ocspResponder: { keyUri: 'soft:o2', certificate: await responderCertificate(at(20 * DAY)) },
    })
    const retired = authority({ parentId: root.id, status: 'retired' })
    const m = memory([
      certificate({ issuerId: root.id, ca: true, profile: 'issuing-ca' }),
      certificate({ issuerId: root.id, profile: 'ocsp-signer' }),
      certificate({ issuerId: rootWithLeaves.id, profile: 'tls-server' }),
    ])
    const { ca, calls } = fakeCa([root, rootWithLeaves, issuingMissing, issuingSoon, issuingFine, retired])
    const result = await renewOcspResponders({ uow: m.uow, clock: { now: () => now }, ca })
    expect(calls.provisioned.sort()).toEqual([rootWithLeaves.id, issuingMissing.id, issuingSoon.id].sort())
    expect(result).toEqual({ checked: 4, renewed: 3, failed: 0, errors: [] })
    expect(calls.actors[0]).toMatchObject({ requestId: 'job:ocsp-responder-renewal' })
  })

  it('reports a CA whose renewal failed and carries on', async () => {
    const a = authority({ parentId: 'ca-0000000000000009' })
    const b = authority({ parentId: 'ca-0000000000000009' })
    const { ca, calls } = fakeCa([a, b], a.id)
    const result = await renewOcspResponders({ uow: memory([]).uow, clock: { now: () => at(0) }, ca })
    expect(calls.provisioned).toEqual([b.id])
    expect(result).toMatchObject({ checked: 2, renewed: 1, failed: 1 })
  })
})
