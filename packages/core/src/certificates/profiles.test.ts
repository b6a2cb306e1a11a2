import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import {
  BUILT_IN_PROFILE_IDS,
  BUILT_IN_PROFILES,
  builtInProfile,
  type CertificateProfile,
  type CertificateRequest,
  type FieldProblem,
  type IssuerFacts,
  type PlanContext,
  parseCertificateProfile,
  planCertificate,
  planCertificateOrThrow,
  staffCertificateRequest,
  validateCertificateProfile,
} from './profiles.js'

const now = new Date('2026-03-01T08:00:00.500Z')
const issuer: IssuerFacts = {
  notBefore: new Date('2025-01-01T00:00:00Z'),
  notAfter: new Date('2035-01-01T00:00:00Z'),
  ca: true,
  pathLength: 1,
}
const context: PlanContext = {
  now,
  issuer,
  revocation: { crl: ['http://ca.example.org/crl/1.crl'], ocsp: ['http://ca.example.org/ocsp'] },
}
const sm2 = { algorithm: 'SM2' } as const
const p256 = { algorithm: 'ECDSA-P256' } as const
const MINUTE = 60_000
const DAY = 86_400_000

const staffRequest = (over: Partial<CertificateRequest> = {}): CertificateRequest => ({
  ...staffCertificateRequest({
    name: '王医生',
    employeeNumber: 'E0123',
    departmentName: '心内科',
    institutionName: '某某省人民医院',
    idCardNumber: '11010519491231002X',
    publicKey: sm2,
  }),
  ...over,
})

const GOOD_REQUESTS: Record<string, [CertificateRequest, PlanContext]> = {
  'staff-sign': [staffRequest(), context],
  event: [
    { subject: { CN: '李患者', serialNumber: 'EV-20260301-0001', O: '某某省人民医院' }, publicKey: sm2 },
    context,
  ],
  tsa: [{ subject: { CN: '医签时间戳服务', O: '某某省人民医院', C: 'CN' }, publicKey: p256 }, context],
  'ocsp-signer': [{ subject: { CN: '医签 OCSP', O: '某某省人民医院' }, publicKey: p256 }, context],
  'tls-server': [
    { subject: { CN: 'yiqian.hospital.local' }, subjectAltName: { dns: ['yiqian.hospital.local'] }, publicKey: p256 },
    context,
  ],
  'issuing-ca': [
    { subject: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 签发 CA' }, publicKey: sm2 },
    { ...context, issuer: { ...issuer, notAfter: new Date('2045-01-01T00:00:00Z') } },
  ],
  'root-ca': [{ subject: { C: 'CN', O: '某某省人民医院', CN: '医签 SM2 根 CA' }, publicKey: sm2 }, { now }],
}

function plan(profileId: string, request: CertificateRequest, ctx: PlanContext = context) {
  return planCertificate(builtInProfile(profileId), request, ctx)
}

function problemsOf(profileId: string, request: CertificateRequest, ctx: PlanContext = context): FieldProblem[] {
  const outcome = plan(profileId, request, ctx)
  if (outcome.ok) throw new Error('expected problems')
  for (const p of outcome.problems) {
    expect(p.zh.length).toBeGreaterThan(0)
    expect(p.en.length).toBeGreaterThan(0)
  }
  return [...outcome.problems]
}

const fields = (list: FieldProblem[]) => list.map((p) => p.field)

describe('built-in profiles', () => {
  it('are the seven the issue asks for', () => {
    expect(BUILT_IN_PROFILE_IDS.sort()).toEqual(
      ['event', 'issuing-ca', 'ocsp-signer', 'root-ca', 'staff-sign', 'tls-server', 'tsa'].sort(),
    )
  })

  it.each(BUILT_IN_PROFILE_IDS)('%s is valid and survives a JSON round trip', (id) => {
    const json = JSON.parse(JSON.stringify(BUILT_IN_PROFILES[id])) as unknown
    const outcome = validateCertificateProfile(json)
    expect(outcome).toEqual({ ok: true, profile: BUILT_IN_PROFILES[id] })
  })

  it('an unknown profile is CERTIFICATE_PROFILE_NOT_FOUND, also for inherited names', () => {
    for (const id of ['nope', 'toString', '__proto__']) {
      expect(() => builtInProfile(id)).toThrowError(expect.objectContaining({ code: 'CERTIFICATE_PROFILE_NOT_FOUND' }))
    }
  })
})

describe('planCertificate: each built-in profile', () => {
  it('staff-sign: CN name, serialNumber employee number, OU department, O institution, ID-card extension', () => {
    const outcome = plan('staff-sign', ...GOOD_REQUESTS['staff-sign']!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    const p = outcome.plan
    expect(p.subject).toEqual([
      { C: 'CN' },
      { O: '某某省人民医院' },
      { OU: '心内科' },
      { CN: '王医生' },
      { serialNumber: 'E0123' },
    ])
    expect(p.notBefore).toEqual(new Date('2026-03-01T07:59:00Z')) // backdated a minute, whole seconds
    expect(p.notAfter).toEqual(new Date('2028-02-29T08:00:00Z')) // 2 × 365 days
    expect(p.extensions).toEqual({
      basicConstraints: { ca: false, critical: true },
      keyUsage: ['digitalSignature', 'nonRepudiation'],
      idCardNumber: '11010519491231002X',
      crlDistributionPoints: ['http://ca.example.org/crl/1.crl'],
      authorityInfoAccess: { ocsp: ['http://ca.example.org/ocsp'], caIssuers: [] },
    })
    expect(p).toMatchObject({ profile: 'staff-sign', keyAlgorithm: 'SM2', singleUse: false, clippedToIssuer: false })
  })

  it('staff-sign without an ID-card number has no identity extension', () => {
    const outcome = plan('staff-sign', staffRequest({ idCardNumber: undefined }))
    expect(outcome.ok && outcome.plan.extensions.idCardNumber).toBe(undefined)
    expect(outcome.ok).toBe(true)
  })

  it('event: 30 minutes by default, single use', () => {
    const outcome = plan('event', ...GOOD_REQUESTS.event!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    expect(outcome.plan.notAfter.getTime() - now.getTime()).toBeLessThanOrEqual(30 * MINUTE)
    expect(outcome.plan.notAfter.getTime() - now.getTime()).toBeGreaterThan(30 * MINUTE - 1000)
    expect(outcome.plan.singleUse).toBe(true)
  })

  it('tsa: a critical extendedKeyUsage carrying timeStamping only (raw, since pki writes EKU non-critical)', () => {
    const outcome = plan('tsa', ...GOOD_REQUESTS.tsa!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    const e = outcome.plan.extensions
    expect(e.extKeyUsage).toBeUndefined()
    expect(e.keyUsage).toEqual(['digitalSignature', 'nonRepudiation'])
    expect(e.custom).toEqual([
      {
        oid: '2.5.29.37',
        critical: true,
        value: Uint8Array.from([0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08]),
      },
    ])
  })

  it('ocsp-signer: OCSPSigning, ocsp-nocheck, no revocation pointers', () => {
    const outcome = plan('ocsp-signer', ...GOOD_REQUESTS['ocsp-signer']!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    const e = outcome.plan.extensions
    expect(e.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.9'])
    expect(e.custom).toEqual([{ oid: '1.3.6.1.5.5.7.48.1.5', critical: false, value: Uint8Array.of(5, 0) }])
    expect(e.crlDistributionPoints).toBeUndefined()
    expect(e.authorityInfoAccess).toBeUndefined()
  })

  it('tls-server: serverAuth and the DNS names; IP addresses move the SAN into a raw extension', () => {
    const outcome = plan('tls-server', ...GOOD_REQUESTS['tls-server']!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    expect(outcome.plan.extensions.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    expect(outcome.plan.extensions.subjectAltName).toEqual([{ dns: 'yiqian.hospital.local' }])
    const withIp = plan('tls-server', {
      subject: {},
      subjectAltName: { dns: ['Yiqian.Hospital.Local'], ip: ['10.1.2.3'] },
      publicKey: { algorithm: 'RSA', bits: 3072 },
    })
    if (!withIp.ok) throw new Error(JSON.stringify(withIp.problems))
    expect(withIp.plan.subject).toEqual([])
    expect(withIp.plan.extensions.subjectAltName).toBeUndefined()
    const san = withIp.plan.extensions.custom?.find((c) => c.oid === '2.5.29.17')
    // SEQUENCE { [2] "yiqian.hospital.local", [7] 0a010203 }
    expect(Buffer.from(san!.value).toString('hex')).toBe(
      `301d8215${Buffer.from('yiqian.hospital.local').toString('hex')}87040a010203`,
    )
  })

  it('issuing-ca: CA, pathLen 0, keyCertSign + cRLSign', () => {
    const outcome = plan('issuing-ca', ...GOOD_REQUESTS['issuing-ca']!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    expect(outcome.plan.extensions.basicConstraints).toEqual({ ca: true, critical: true, pathLength: 0 })
    expect(outcome.plan.extensions.keyUsage).toEqual(['keyCertSign', 'cRLSign'])
  })

  it('root-ca: self-signed, pathLen 1 by default, 20 years, no revocation pointers', () => {
    const outcome = plan('root-ca', ...GOOD_REQUESTS['root-ca']!)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems))
    expect(outcome.plan.extensions.basicConstraints).toEqual({ ca: true, critical: true, pathLength: 1 })
    expect(outcome.plan.notAfter).toEqual(new Date('2046-02-24T08:00:00Z'))
    expect(outcome.plan.extensions.crlDistributionPoints).toBeUndefined()
  })
})

describe('planCertificate: validation failures name the field', () => {
  it('missing CN (and the other required staff fields)', () => {
    const list = problemsOf('staff-sign', staffRequest({ subject: { O: '某某省人民医院', CN: '  ' } }))
    expect(fields(list)).toEqual(['subject.CN', 'subject.serialNumber'])
  })

  it('validity too long', () => {
    const list = problemsOf('event', {
      subject: { CN: '李患者' },
      publicKey: sm2,
      notAfter: new Date(now.getTime() + DAY + 1000),
    })
    expect(list).toEqual([expect.objectContaining({ field: 'notAfter', en: 'validity is at most 1 day(s)' })])
    expect(
      plan('event', { subject: { CN: '李患者' }, publicKey: sm2, notAfter: new Date(now.getTime() + DAY) }).ok,
    ).toBe(true)
  })

  it('wrong key algorithm', () => {
    expect(fields(problemsOf('staff-sign', staffRequest({ publicKey: p256 })))).toEqual(['publicKey.algorithm'])
    expect(fields(problemsOf('event', { subject: { CN: 'x' }, publicKey: { algorithm: 'RSA', bits: 4096 } }))).toEqual([
      'publicKey.algorithm',
    ])
  })

  it('RSA shorter than the profile minimum', () => {
    const tls = { subject: {}, subjectAltName: { dns: ['a.example'] } }
    expect(fields(problemsOf('tls-server', { ...tls, publicKey: { algorithm: 'RSA', bits: 1024 } }))).toEqual([
      'publicKey.bits',
    ])
    expect(fields(problemsOf('tls-server', { ...tls, publicKey: { algorithm: 'RSA' } }))).toEqual(['publicKey.bits'])
    const ca = GOOD_REQUESTS['issuing-ca']!
    expect(fields(problemsOf('issuing-ca', { ...ca[0], publicKey: { algorithm: 'RSA', bits: 2048 } }, ca[1]))).toEqual([
      'publicKey.bits',
    ])
  })

  it('TLS without a SAN', () => {
    expect(fields(problemsOf('tls-server', { subject: { CN: 'yiqian.hospital.local' }, publicKey: p256 }))).toEqual([
      'subjectAltName',
    ])
  })

  it('bad, wildcard and non-ASCII names, bad IP addresses', () => {
    const list = problemsOf('tls-server', {
      subject: {},
      subjectAltName: { dns: ['ok.example', '*.example', '医院.中国', '-bad.example'], ip: ['10.1.2.300'] },
      publicKey: p256,
    })
    expect(fields(list)).toEqual([
      'subjectAltName.dns[1]',
      'subjectAltName.dns[2]',
      'subjectAltName.dns[3]',
      'subjectAltName.ip[0]',
    ])
  })

  it('SAN types and counts the profile does not allow', () => {
    expect(fields(problemsOf('tsa', { ...GOOD_REQUESTS.tsa![0], subjectAltName: { dns: ['tsa.example'] } }))).toEqual([
      'subjectAltName.dns',
    ])
    const many = Array.from({ length: 101 }, (_, i) => `h${i}.example`)
    expect(fields(problemsOf('tls-server', { subject: {}, subjectAltName: { dns: many }, publicKey: p256 }))).toEqual([
      'subjectAltName',
    ])
  })

  it('CA pathLen above the profile maximum or the issuer constraint', () => {
    const [request, ctx] = GOOD_REQUESTS['issuing-ca']!
    expect(problemsOf('issuing-ca', { ...request, pathLength: 1 }, ctx)).toEqual([
      expect.objectContaining({ field: 'pathLength', en: 'at most 0' }),
    ])
    const underPathZero = { ...ctx, issuer: { ...ctx.issuer!, pathLength: 0 } }
    expect(problemsOf('issuing-ca', request, underPathZero)).toEqual([
      expect.objectContaining({ field: 'pathLength', en: expect.stringContaining('pathLenConstraint 0') }),
    ])
    expect(fields(problemsOf('issuing-ca', { ...request, pathLength: -1 }, ctx))).toEqual(['pathLength'])
    expect(fields(problemsOf('staff-sign', staffRequest({ pathLength: 0 })))).toEqual(['pathLength'])
  })

  it('issuer: a root is self-signed, everything else needs a valid CA issuer', () => {
    const [root] = GOOD_REQUESTS['root-ca']!
    expect(fields(problemsOf('root-ca', root, context))).toEqual(['issuer'])
    expect(fields(problemsOf('staff-sign', staffRequest(), { now }))).toEqual(['issuer'])
    expect(fields(problemsOf('staff-sign', staffRequest(), { now, issuer: { ...issuer, ca: false } }))).toEqual([
      'issuer',
    ])
    const expired = { now, issuer: { ...issuer, notAfter: new Date('2026-01-01T00:00:00Z') } }
    expect(fields(problemsOf('staff-sign', staffRequest(), expired))).toEqual(['issuer'])
  })

  it('validity is clipped to the issuer', () => {
    const ctx = { now, issuer: { ...issuer, notAfter: new Date('2027-01-01T00:00:00Z') } }
    const outcome = plan('staff-sign', staffRequest(), ctx)
    expect(outcome).toMatchObject({ ok: true, plan: { clippedToIssuer: true, notAfter: ctx.issuer.notAfter } })
  })

  it('notBefore in the past, too far ahead, after notAfter', () => {
    const base = { subject: { CN: '李患者' }, publicKey: sm2 }
    expect(fields(problemsOf('event', { ...base, notBefore: new Date(now.getTime() - 2 * MINUTE) }))).toEqual([
      'notBefore',
    ])
    expect(fields(problemsOf('event', { ...base, notBefore: new Date(now.getTime() + 31 * DAY) }))).toEqual([
      'notBefore',
    ])
    expect(fields(problemsOf('event', { ...base, notAfter: new Date(now.getTime() - 1000) }))).toEqual(['notAfter'])
    expect(fields(problemsOf('event', { ...base, notAfter: new Date(Number.NaN) }))).toEqual(['notAfter'])
  })

  it('subject attributes: unknown, not allowed, too long, control characters, country, serialNumber charset', () => {
    const list = problemsOf('staff-sign', {
      ...staffRequest(),
      subject: {
        ...staffRequest().subject,
        C: 'China',
        CN: '王'.repeat(65),
        OU: 'a\u0007b',
        serialNumber: '工号1',
        emailAddress: 'wang@example.org',
        title: 'x',
      } as CertificateRequest['subject'],
    })
    expect(fields(list).sort()).toEqual(
      ['subject.title', 'subject.C', 'subject.OU', 'subject.CN', 'subject.serialNumber', 'subject.emailAddress'].sort(),
    )
  })

  it('ID-card number: checked, and refused where the profile forbids it', () => {
    expect(fields(problemsOf('staff-sign', staffRequest({ idCardNumber: '110105194912310021' })))).toEqual([
      'idCardNumber',
    ])
    expect(fields(problemsOf('tsa', { ...GOOD_REQUESTS.tsa![0], idCardNumber: '11010519491231002X' }))).toEqual([
      'idCardNumber',
    ])
  })

  it('every problem is reported at once, and planCertificateOrThrow names the first field', () => {
    const request = { subject: {}, publicKey: { algorithm: 'RSA', bits: 1024 } } as const
    const list = problemsOf('staff-sign', request)
    expect(fields(list)).toEqual(['subject.O', 'subject.CN', 'subject.serialNumber', 'publicKey.algorithm'])
    try {
      planCertificateOrThrow(builtInProfile('staff-sign'), request, context)
      expect.unreachable()
    } catch (error) {
      expect(isDomainError(error, 'CERTIFICATE_REQUEST_INVALID')).toBe(true)
      if (!isDomainError(error)) throw error
      expect(error.details.field).toBe('subject.O')
      expect(error.details.problems).toHaveLength(4)
    }
  })
})

describe('validateCertificateProfile', () => {
  const base = (): Record<string, unknown> => structuredClone(BUILT_IN_PROFILES['staff-sign']) as never
  const reject = (doc: unknown): string[] => {
    const outcome = validateCertificateProfile(doc)
    if (outcome.ok) throw new Error('expected problems')
    return outcome.problems.map((p) => p.field)
  }

  it.each([
    ['not an object', () => [], ['']],
    ['unknown field', () => ({ ...base(), maxUses: 1 }), ['maxUses']],
    ['bad id', () => ({ ...base(), id: 'Staff Sign' }), ['id']],
    ['missing name', () => ({ ...base(), name: { zh: '个人证书' } }), ['name.en']],
    [
      'default above max',
      () => ({ ...base(), validity: { defaultSeconds: 7200, maxSeconds: 3600, backdateSeconds: 0 } }),
      ['validity.defaultSeconds'],
    ],
    [
      'validity beyond 30 years',
      () => ({ ...base(), validity: { defaultSeconds: 60, maxSeconds: 31 * 365 * 86400, backdateSeconds: 0 } }),
      ['validity.maxSeconds'],
    ],
    ['unknown key algorithm', () => ({ ...base(), keyAlgorithms: ['DSA'] }), ['keyAlgorithms[0]']],
    ['no key algorithm', () => ({ ...base(), keyAlgorithms: [] }), ['keyAlgorithms']],
    ['RSA under 2048', () => ({ ...base(), minRsaBits: 1024 }), ['minRsaBits']],
    ['unknown key usage', () => ({ ...base(), keyUsage: ['signing'] }), ['keyUsage[0]']],
    ['end entity with keyCertSign', () => ({ ...base(), keyUsage: ['digitalSignature', 'keyCertSign'] }), ['keyUsage']],
    [
      'CA without keyCertSign',
      () => ({
        ...base(),
        keyUsage: ['cRLSign'],
        basicConstraints: { ca: true, defaultPathLength: 0, maxPathLength: 0 },
      }),
      ['keyUsage'],
    ],
    [
      'path length on an end entity',
      () => ({ ...base(), basicConstraints: { ca: false, defaultPathLength: 0, maxPathLength: null } }),
      ['basicConstraints.defaultPathLength'],
    ],
    [
      'bad EKU',
      () => ({ ...base(), extendedKeyUsage: { purposes: ['anything goes'], critical: false } }),
      ['extendedKeyUsage.purposes[0]'],
    ],
    [
      'critical EKU without purposes',
      () => ({ ...base(), extendedKeyUsage: { purposes: [], critical: true } }),
      ['extendedKeyUsage.critical'],
    ],
    [
      'unknown subject attribute',
      () => ({ ...base(), subject: { required: ['CN', 'title'], optional: [] } }),
      ['subject.required[1]'],
    ],
    [
      'required SAN with none allowed',
      () => ({ ...base(), subjectAltName: { types: [], required: true, max: 0 } }),
      ['subjectAltName.required'],
    ],
    ['bad identity setting', () => ({ ...base(), identityExtension: 'maybe' }), ['identityExtension']],
    ['self-signed end entity', () => ({ ...base(), selfSigned: true }), ['selfSigned']],
    ['flag not boolean', () => ({ ...base(), singleUse: 'yes' }), ['singleUse']],
  ] as const)('refuses %s', (_, make, expected) => {
    expect(reject(make())).toEqual(expected)
  })

  it('accepts a custom profile, e.g. a nurse certificate with a dotted-OID EKU', () => {
    const custom: CertificateProfile = {
      ...BUILT_IN_PROFILES['staff-sign']!,
      id: 'nurse-sign',
      name: { zh: '护士签名证书', en: 'Nurse signing certificate' },
      validity: { defaultSeconds: 365 * 86400, maxSeconds: 365 * 86400, backdateSeconds: 0 },
      extendedKeyUsage: { purposes: ['1.2.156.112562.2.1.1.1'], critical: false },
    }
    const profile = parseCertificateProfile(JSON.parse(JSON.stringify(custom)))
    const outcome = planCertificate(profile, staffRequest(), context)
    expect(outcome.ok && outcome.plan.extensions.extKeyUsage).toEqual(['1.2.156.112562.2.1.1.1'])
  })

  it('parseCertificateProfile throws CERTIFICATE_PROFILE_INVALID naming the fields', () => {
    expect(() => parseCertificateProfile({ ...base(), id: '' })).toThrowError(
      expect.objectContaining({
        code: 'CERTIFICATE_PROFILE_INVALID',
        details: expect.objectContaining({ field: 'id' }),
      }),
    )
  })
})
