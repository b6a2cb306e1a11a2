/**
 * Certificate profiles as data, in the manner of step-ca's provisioner templates: a profile says what a certificate
 * of its kind looks like (validity, key usages, subject fields, extensions, key algorithms) and `planCertificate`
 * turns a request into an explicit plan or a list of problems naming the field. Profiles are plain JSON so that a
 * hospital can store its own; `validateCertificateProfile` checks such a document before it is used.
 *
 * The plan's `extensions` has the shape of @yiqian/pki's `ExtensionsInput`, so the CA adapter hands it to
 * `buildCertificate` unchanged. The core does not import pki (dependency direction and package boundaries).
 */
import { parseIpAddress } from '../client-systems/ip-allow-list.js'
import { DomainError } from '../errors.js'
import { idNumberProblem, normaliseIdNumber } from '../organisation/id-number.js'
import { DER_NULL, generalName, objectIdentifier, sequence } from './der.js'

export const SUBJECT_KEY_ALGORITHMS = ['SM2', 'ECDSA-P256', 'RSA'] as const
export type SubjectKeyAlgorithm = (typeof SUBJECT_KEY_ALGORITHMS)[number]

/** What the CA adapter read from the request's SubjectPublicKeyInfo (never what the requester claims). */
export interface PublicKeyDescription {
  readonly algorithm: SubjectKeyAlgorithm
  /** RSA modulus length. */
  readonly bits?: number | undefined
}

/** RFC 5280 keyUsage bit names, the same names @yiqian/pki uses. */
export const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const
export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number]

/** Extended key usages by name (RFC 5280 §4.2.1.12); a profile may also give a dotted OID. */
export const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
}

export const CERTIFICATE_OIDS = {
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  /** RFC 6960 §4.2.2.2.1: the responder's certificate is not checked for revocation. */
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  /** GM/T 0015 个人身份标识码. */
  idCardNumber: '1.2.156.10260.4.1.1',
} as const

/** Subject attributes, in the order they are written (most significant first). */
export const SUBJECT_ATTRIBUTES = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber', 'emailAddress'] as const
export type SubjectAttribute = (typeof SUBJECT_ATTRIBUTES)[number]

export const ALT_NAME_TYPES = ['dns', 'ip', 'email'] as const
export type AltNameType = (typeof ALT_NAME_TYPES)[number]

const DAY = 86_400
const YEAR = 365 * DAY

export const PROFILE_LIMITS = {
  id: 32,
  name: 64,
  /** 30 years: the longest-lived root we would plan. */
  maxValiditySeconds: 30 * YEAR,
  maxBackdateSeconds: DAY,
  /** How far ahead a requested notBefore may lie. */
  maxFutureStartSeconds: 30 * DAY,
  subjectValue: 64,
  emailAddress: 128,
  altNames: 100,
  dnsName: 253,
  extendedKeyUsages: 16,
  rsaBits: { min: 2048, max: 16_384 },
  pathLength: 8,
} as const

export interface CertificateProfile {
  /** Lower-case letters, digits and hyphens, e.g. `staff-sign`. */
  readonly id: string
  readonly name: { readonly zh: string; readonly en: string }
  readonly validity: {
    readonly defaultSeconds: number
    readonly maxSeconds: number
    /** notBefore is set this far before `now` to tolerate relying parties with slow clocks. */
    readonly backdateSeconds: number
  }
  readonly keyAlgorithms: readonly SubjectKeyAlgorithm[]
  /** At least 2048. */
  readonly minRsaBits: number
  /** Written critical (RFC 5280 §4.2.1.3 says it SHOULD be). */
  readonly keyUsage: readonly KeyUsageName[]
  /** Empty purposes: no extendedKeyUsage extension. */
  readonly extendedKeyUsage: { readonly purposes: readonly string[]; readonly critical: boolean }
  /** Always written, critical. `null` path lengths: none by default / no upper bound. */
  readonly basicConstraints: {
    readonly ca: boolean
    readonly defaultPathLength: number | null
    readonly maxPathLength: number | null
  }
  readonly subject: { readonly required: readonly SubjectAttribute[]; readonly optional: readonly SubjectAttribute[] }
  readonly subjectAltName: { readonly types: readonly AltNameType[]; readonly required: boolean; readonly max: number }
  /** GM/T 0015 ID-card number extension (1.2.156.10260.4.1.1). */
  readonly identityExtension: 'forbidden' | 'optional' | 'required'
  readonly ocspNoCheck: boolean
  /** Whether the certificate points at the CRL and OCSP responder (not for roots and no-check OCSP signers). */
  readonly revocationInfo: boolean
  /** Self-signed: planned without an issuer. */
  readonly selfSigned: boolean
  /** An event certificate signs one thing; the signing use case refuses a second use. */
  readonly singleUse: boolean
}

const ALL_KEYS: readonly SubjectKeyAlgorithm[] = ['SM2', 'ECDSA-P256', 'RSA']
const ORGANISATIONAL: readonly SubjectAttribute[] = ['C', 'ST', 'L', 'O', 'OU']

/**
 * What a built-in profile is unless it says otherwise: an end-entity certificate, issued by a CA, with no extended
 * key usage, no alternative names, no ID-card extension, pointing at the CRL and OCSP responder, used repeatedly.
 */
const PROFILE_DEFAULTS = {
  minRsaBits: 2048,
  extendedKeyUsage: { purposes: [], critical: false },
  basicConstraints: { ca: false, defaultPathLength: null, maxPathLength: null },
  subjectAltName: { types: [], required: false, max: 0 },
  identityExtension: 'forbidden',
  ocspNoCheck: false,
  revocationInfo: true,
  selfSigned: false,
  singleUse: false,
} as const satisfies Partial<CertificateProfile>

/** What both CA profiles share. */
const CA_PROFILE = {
  keyAlgorithms: ALL_KEYS,
  minRsaBits: 3072,
  keyUsage: ['keyCertSign', 'cRLSign'],
  subject: { required: ['CN', 'O'], optional: ['C', 'ST', 'L', 'OU'] },
} as const satisfies Partial<CertificateProfile>

function profile(
  p: Pick<CertificateProfile, 'id' | 'name' | 'validity' | 'keyAlgorithms' | 'keyUsage' | 'subject'> &
    Partial<CertificateProfile>,
): CertificateProfile {
  return { ...PROFILE_DEFAULTS, ...p }
}

/** The built-in profiles. Custom ones are validated with validateCertificateProfile before use. */
export const BUILT_IN_PROFILES: Readonly<Record<string, CertificateProfile>> = {
  'staff-sign': profile({
    id: 'staff-sign',
    name: { zh: '个人移动证书', en: 'Staff signing certificate' },
    validity: { defaultSeconds: 2 * YEAR, maxSeconds: 2 * YEAR, backdateSeconds: 60 },
    // Two-party SM2: the phone and the server each hold a share; RSA and ECDSA cannot be split that way here.
    keyAlgorithms: ['SM2'],
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    subject: { required: ['CN', 'serialNumber', 'O'], optional: ['C', 'ST', 'L', 'OU'] },
    subjectAltName: { types: ['email'], required: false, max: 2 },
    identityExtension: 'optional',
  }),
  event: profile({
    id: 'event',
    name: { zh: '事件证书', en: 'Event certificate' },
    validity: { defaultSeconds: 30 * 60, maxSeconds: DAY, backdateSeconds: 60 },
    keyAlgorithms: ['SM2', 'ECDSA-P256'],
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    subject: { required: ['CN'], optional: [...ORGANISATIONAL, 'serialNumber'] },
    identityExtension: 'optional',
    singleUse: true,
  }),
  tsa: profile({
    id: 'tsa',
    name: { zh: '时间戳服务证书', en: 'Timestamp authority certificate' },
    validity: { defaultSeconds: 5 * YEAR, maxSeconds: 10 * YEAR, backdateSeconds: 60 },
    keyAlgorithms: ALL_KEYS,
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    // RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, critical.
    extendedKeyUsage: { purposes: ['timeStamping'], critical: true },
    subject: { required: ['CN'], optional: ORGANISATIONAL },
  }),
  'ocsp-signer': profile({
    id: 'ocsp-signer',
    name: { zh: 'OCSP 响应签名证书', en: 'OCSP responder certificate' },
    // With id-pkix-ocsp-nocheck the certificate cannot be revoked in practice, so it lives briefly (RFC 6960).
    validity: { defaultSeconds: 30 * DAY, maxSeconds: 90 * DAY, backdateSeconds: 60 },
    keyAlgorithms: ALL_KEYS,
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: { purposes: ['OCSPSigning'], critical: false },
    subject: { required: ['CN'], optional: ORGANISATIONAL },
    ocspNoCheck: true,
    revocationInfo: false,
  }),
  'tls-server': profile({
    id: 'tls-server',
    name: { zh: 'TLS 服务器证书', en: 'TLS server certificate' },
    // The CA/Browser Forum limit; hospital intranets are not bound by it, but it is a safe default.
    validity: { defaultSeconds: 397 * DAY, maxSeconds: 397 * DAY, backdateSeconds: 60 },
    keyAlgorithms: ALL_KEYS,
    // digitalSignature only: TLS 1.3 and ECDHE suites; RSA key transport (keyEncipherment) is not offered.
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: { purposes: ['serverAuth'], critical: false },
    subject: { required: [], optional: [...ORGANISATIONAL, 'CN'] },
    subjectAltName: { types: ['dns', 'ip'], required: true, max: PROFILE_LIMITS.altNames },
  }),
  'issuing-ca': profile({
    ...CA_PROFILE,
    id: 'issuing-ca',
    name: { zh: '签发 CA 证书', en: 'Issuing CA certificate' },
    validity: { defaultSeconds: 10 * YEAR, maxSeconds: 15 * YEAR, backdateSeconds: 60 },
    // Issues end-entity certificates only.
    basicConstraints: { ca: true, defaultPathLength: 0, maxPathLength: 0 },
  }),
  'root-ca': profile({
    ...CA_PROFILE,
    id: 'root-ca',
    name: { zh: '根 CA 证书', en: 'Root CA certificate' },
    validity: { defaultSeconds: 20 * YEAR, maxSeconds: 30 * YEAR, backdateSeconds: 60 },
    basicConstraints: { ca: true, defaultPathLength: 1, maxPathLength: null },
    revocationInfo: false,
    selfSigned: true,
  }),
}

export const BUILT_IN_PROFILE_IDS = Object.keys(BUILT_IN_PROFILES)

/** A problem with one field of a request or a profile document, in Chinese and English. */
export interface FieldProblem {
  readonly field: string
  readonly zh: string
  readonly en: string
}

/** What planCertificate is asked for. */
export interface CertificateRequest {
  readonly subject: Readonly<Partial<Record<SubjectAttribute, string>>>
  readonly subjectAltName?:
    | {
        readonly dns?: readonly string[] | undefined
        readonly ip?: readonly string[] | undefined
        readonly email?: readonly string[] | undefined
      }
    | undefined
  /** Resident ID-card number for the GM/T 0015 extension; sealed at rest elsewhere, written into the certificate. */
  readonly idCardNumber?: string | undefined
  readonly publicKey: PublicKeyDescription
  readonly notBefore?: Date | undefined
  readonly notAfter?: Date | undefined
  /** CA profiles only. */
  readonly pathLength?: number | undefined
}

/** What the plan needs to know about the issuing CA. */
export interface IssuerFacts {
  readonly notBefore: Date
  readonly notAfter: Date
  readonly ca: boolean
  /** The issuer's own basicConstraints pathLenConstraint, when it has one. */
  readonly pathLength?: number | undefined
}

export interface PlanContext {
  readonly now: Date
  /** Absent only for a self-signed root. */
  readonly issuer?: IssuerFacts | undefined
  /** Where relying parties find revocation status, added to profiles with `revocationInfo`. */
  readonly revocation?:
    | {
        readonly crl?: readonly string[] | undefined
        readonly ocsp?: readonly string[] | undefined
        readonly caIssuers?: readonly string[] | undefined
      }
    | undefined
}

/** Extensions in the shape of @yiqian/pki's ExtensionsInput. */
export interface PlannedExtensions {
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength?: number; readonly critical: boolean }
  readonly keyUsage: readonly KeyUsageName[]
  /** Non-critical EKU as OIDs; a critical one travels in `custom`. */
  readonly extKeyUsage?: readonly string[]
  /** DNS and e-mail names; a list with IP addresses travels in `custom`. */
  readonly subjectAltName?: readonly ({ readonly dns: string } | { readonly email: string })[]
  readonly idCardNumber?: string
  readonly crlDistributionPoints?: readonly string[]
  readonly authorityInfoAccess?: { readonly ocsp?: readonly string[]; readonly caIssuers?: readonly string[] }
  readonly custom?: readonly { readonly oid: string; readonly critical: boolean; readonly value: Uint8Array }[]
}

/** Everything the builder needs except the keys, serial and issuer, decided and explicit. */
export interface CertificatePlan {
  readonly profile: string
  /** One attribute per RDN, most significant first (pki's NameList). */
  readonly subject: readonly Readonly<Record<string, string>>[]
  /** Whole seconds. */
  readonly notBefore: Date
  readonly notAfter: Date
  /** True when the issuer's validity shortened what was asked for. */
  readonly clippedToIssuer: boolean
  readonly keyAlgorithm: SubjectKeyAlgorithm
  readonly singleUse: boolean
  readonly extensions: PlannedExtensions
}

export type PlanOutcome =
  | { readonly ok: true; readonly plan: CertificatePlan }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] }

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]+$/
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/
const EMAIL = /^[\x21-\x3f\x41-\x7e]{1,64}@[A-Za-z0-9.-]{1,190}$/

function seconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000)
}

function isDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime())
}

function subjectValueProblem(attribute: SubjectAttribute, value: string): { zh: string; en: string } | undefined {
  if (value.length === 0) return { zh: '不能为空', en: 'must not be empty' }
  if (/\p{Cc}/u.test(value)) return { zh: '含有控制字符', en: 'contains control characters' }
  const max = attribute === 'emailAddress' ? PROFILE_LIMITS.emailAddress : PROFILE_LIMITS.subjectValue
  if ([...value].length > max) return { zh: `最多 ${max} 个字符`, en: `at most ${max} characters` }
  if (attribute === 'C' && !/^[A-Z]{2}$/.test(value)) {
    return { zh: '应为两位大写国家代码，如 CN', en: 'must be a two-letter country code such as CN' }
  }
  if (attribute === 'serialNumber' && !PRINTABLE.test(value)) {
    return { zh: "只能包含字母、数字、空格和 '()+,-./:=?", en: "only letters, digits, blanks and '()+,-./:=?" }
  }
  if (attribute === 'emailAddress' && !EMAIL.test(value)) return { zh: '邮箱格式不正确', en: 'not an e-mail address' }
  return undefined
}

export function dnsNameProblem(name: string): { zh: string; en: string } | undefined {
  if (name.length === 0 || name.length > PROFILE_LIMITS.dnsName) {
    return { zh: `域名长度应为 1–${PROFILE_LIMITS.dnsName}`, en: `must be 1–${PROFILE_LIMITS.dnsName} characters` }
  }
  if (name.startsWith('*.')) return { zh: '不签发通配符证书', en: 'wildcard names are not issued' }
  if (!name.split('.').every((label) => DNS_LABEL.test(label))) {
    return { zh: '不是合法的域名（仅限 ASCII，中文域名请先转为 punycode）', en: 'not a DNS name (ASCII; use punycode)' }
  }
  return undefined
}

/**
 * Checks `request` against `profile` and returns every problem, or the plan. Subject values are trimmed and NFC
 * normalised; validity is clipped to the issuer's; the key algorithm must be one the profile allows.
 */
export function planCertificate(
  profile: CertificateProfile,
  request: CertificateRequest,
  context: PlanContext,
): PlanOutcome {
  const problems: FieldProblem[] = []
  const add = (field: string, p: { zh: string; en: string }) => problems.push({ field, ...p })
  const { now, issuer } = context

  // Issuer
  if (profile.selfSigned && issuer) add('issuer', { zh: '根证书应自签发', en: 'a root certificate is self-signed' })
  if (!profile.selfSigned) {
    if (!issuer) add('issuer', { zh: '缺少签发 CA', en: 'an issuing CA is required' })
    else if (!issuer.ca) add('issuer', { zh: '签发者不是 CA 证书', en: 'the issuer is not a CA certificate' })
    else if (now.getTime() < issuer.notBefore.getTime() || now.getTime() >= issuer.notAfter.getTime()) {
      add('issuer', { zh: '签发 CA 证书不在有效期内', en: 'the issuing CA certificate is not within its validity' })
    }
  }

  // Subject
  const subject: Record<string, string>[] = []
  const given = request.subject ?? {}
  for (const key of Object.keys(given)) {
    if (!(SUBJECT_ATTRIBUTES as readonly string[]).includes(key)) {
      add(`subject.${key}`, { zh: '不支持的主题属性', en: 'unsupported subject attribute' })
    }
  }
  for (const attribute of SUBJECT_ATTRIBUTES) {
    const raw = given[attribute]
    const required = profile.subject.required.includes(attribute)
    const allowed = required || profile.subject.optional.includes(attribute)
    if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
      if (required) add(`subject.${attribute}`, { zh: '必填', en: 'is required' })
      continue
    }
    if (typeof raw !== 'string') {
      add(`subject.${attribute}`, { zh: '应为文本', en: 'must be text' })
      continue
    }
    if (!allowed) {
      add(`subject.${attribute}`, { zh: `${profile.id} 证书不允许此属性`, en: `not allowed in ${profile.id}` })
      continue
    }
    const value = raw.normalize('NFC').trim()
    const problem = subjectValueProblem(attribute, value)
    if (problem) add(`subject.${attribute}`, problem)
    else subject.push({ [attribute]: value })
  }

  // Subject alternative names
  const san = request.subjectAltName ?? {}
  const lists: [AltNameType, readonly string[]][] = ALT_NAME_TYPES.map((t) => [
    t,
    Array.isArray(san[t]) ? (san[t] as readonly string[]) : [],
  ])
  const total = lists.reduce((n, [, l]) => n + l.length, 0)
  const sanNames: ({ dns: string } | { email: string })[] = []
  const sanDer: Uint8Array[] = []
  let hasIp = false
  const disallowed = lists.filter(([type, list]) => list.length > 0 && !profile.subjectAltName.types.includes(type))
  for (const [type] of disallowed) {
    add(`subjectAltName.${type}`, { zh: `${profile.id} 证书不允许此类备用名称`, en: `not allowed in ${profile.id}` })
  }
  if (disallowed.length === 0 && total > profile.subjectAltName.max) {
    add('subjectAltName', {
      zh: `最多 ${profile.subjectAltName.max} 个备用名称`,
      en: `at most ${profile.subjectAltName.max} alternative names`,
    })
  } else if (disallowed.length === 0) {
    for (const [type, list] of lists) {
      for (const [i, raw] of list.entries()) {
        const field = `subjectAltName.${type}[${i}]`
        const value = typeof raw === 'string' ? raw.trim() : ''
        if (type === 'ip') {
          const bytes = parseIpAddress(value)
          if (!bytes) add(field, { zh: '不是合法的 IP 地址', en: 'not an IP address' })
          else {
            hasIp = true
            sanDer.push(generalName('ip', bytes))
          }
          continue
        }
        const problem =
          type === 'dns'
            ? dnsNameProblem(value.toLowerCase())
            : EMAIL.test(value)
              ? undefined
              : { zh: '邮箱格式不正确', en: 'not an e-mail address' }
        if (problem) add(field, problem)
        else {
          const name = type === 'dns' ? value.toLowerCase() : value
          sanNames.push(type === 'dns' ? { dns: name } : { email: name })
          sanDer.push(generalName(type, name))
        }
      }
    }
    if (profile.subjectAltName.required && total === 0) {
      add('subjectAltName', { zh: '至少需要一个域名或 IP 地址', en: 'at least one DNS name or IP address is required' })
    }
  }

  // GM/T 0015 identity extension
  let idCardNumber: string | undefined
  if (request.idCardNumber !== undefined && request.idCardNumber !== '') {
    if (profile.identityExtension === 'forbidden') {
      add('idCardNumber', { zh: `${profile.id} 证书不含身份证号`, en: `not allowed in ${profile.id}` })
    } else {
      const value = normaliseIdNumber(String(request.idCardNumber))
      const problem = idNumberProblem('resident', value)
      if (problem) add('idCardNumber', problem)
      else idCardNumber = value
    }
  } else if (profile.identityExtension === 'required') add('idCardNumber', { zh: '必填', en: 'is required' })

  // Key
  const key = request.publicKey
  if (!key || !profile.keyAlgorithms.includes(key.algorithm)) {
    add('publicKey.algorithm', {
      zh: `${profile.id} 证书只接受 ${profile.keyAlgorithms.join('、')} 密钥`,
      en: `${profile.id} accepts ${profile.keyAlgorithms.join(', ')} keys only`,
    })
  } else if (key.algorithm === 'RSA') {
    const min = Math.max(PROFILE_LIMITS.rsaBits.min, profile.minRsaBits)
    const bits = key.bits ?? 0
    if (!Number.isSafeInteger(bits) || bits < min || bits > PROFILE_LIMITS.rsaBits.max) {
      add('publicKey.bits', { zh: `RSA 密钥至少 ${min} 位`, en: `RSA keys need at least ${min} bits` })
    }
  }

  // Basic constraints
  let pathLength: number | undefined
  if (profile.basicConstraints.ca) {
    const { defaultPathLength, maxPathLength } = profile.basicConstraints
    const asked = request.pathLength ?? defaultPathLength ?? undefined
    if (asked !== undefined) {
      if (!Number.isSafeInteger(asked) || asked < 0) {
        add('pathLength', { zh: '应为非负整数', en: 'must be a non-negative integer' })
      } else if (maxPathLength !== null && asked > maxPathLength) {
        add('pathLength', { zh: `最大为 ${maxPathLength}`, en: `at most ${maxPathLength}` })
      } else if (!profile.selfSigned && issuer?.pathLength !== undefined && asked > issuer.pathLength - 1) {
        // RFC 5280 §4.2.1.9: the issuer's pathLenConstraint bounds every CA below it.
        add('pathLength', {
          zh: `签发 CA 的路径长度限制为 ${issuer.pathLength}，不能签发路径长度 ${asked} 的 CA`,
          en: `the issuer's pathLenConstraint ${issuer.pathLength} does not allow a CA with pathLength ${asked}`,
        })
      } else pathLength = asked
    }
  } else if (request.pathLength !== undefined) {
    add('pathLength', { zh: '只有 CA 证书有路径长度', en: 'only CA certificates have a path length' })
  }

  // Validity
  let notBefore = seconds(new Date(now.getTime() - profile.validity.backdateSeconds * 1000))
  let notAfter = notBefore
  let clippedToIssuer = false
  const start = request.notBefore
  const end = request.notAfter
  let validityOk = true
  if (start !== undefined) {
    if (!isDate(start)) {
      add('notBefore', { zh: '不是合法的时间', en: 'not a valid time' })
      validityOk = false
    } else if (start.getTime() < now.getTime() - profile.validity.backdateSeconds * 1000) {
      add('notBefore', { zh: '不能早于当前时间', en: 'must not lie in the past' })
      validityOk = false
    } else if (start.getTime() > now.getTime() + PROFILE_LIMITS.maxFutureStartSeconds * 1000) {
      add('notBefore', { zh: '最多提前 30 天', en: 'at most 30 days ahead' })
      validityOk = false
    } else notBefore = seconds(start)
  }
  if (end !== undefined && !isDate(end)) {
    add('notAfter', { zh: '不是合法的时间', en: 'not a valid time' })
    validityOk = false
  }
  if (validityOk) {
    // Duration is measured from the requested start (or now), so the backdating allowance does not count against it.
    const from = start ?? now
    notAfter = seconds(end ?? new Date(from.getTime() + profile.validity.defaultSeconds * 1000))
    if (notAfter.getTime() <= from.getTime()) {
      add('notAfter', { zh: '应晚于生效时间', en: 'must be after the start of validity' })
    } else if (notAfter.getTime() - from.getTime() > profile.validity.maxSeconds * 1000) {
      add('notAfter', {
        zh: `有效期最长 ${describeSeconds(profile.validity.maxSeconds).zh}`,
        en: `validity is at most ${describeSeconds(profile.validity.maxSeconds).en}`,
      })
    } else if (issuer && problems.every((p) => p.field !== 'issuer')) {
      if (notBefore.getTime() < issuer.notBefore.getTime()) {
        notBefore = seconds(issuer.notBefore)
        clippedToIssuer = true
      }
      if (notAfter.getTime() > issuer.notAfter.getTime()) {
        notAfter = seconds(issuer.notAfter)
        clippedToIssuer = true
      }
      if (notAfter.getTime() <= notBefore.getTime()) {
        add('notAfter', { zh: '签发 CA 证书即将到期', en: 'the issuing CA certificate expires too soon' })
      }
    }
  }

  if (problems.length > 0) return { ok: false, problems }

  // Extensions
  const custom: { oid: string; critical: boolean; value: Uint8Array }[] = []
  const ekuOids = profile.extendedKeyUsage.purposes.map((p) => EXTENDED_KEY_USAGES[p] ?? p)
  const revocation = context.revocation ?? {}
  const crl = revocation.crl ?? []
  const ocsp = revocation.ocsp ?? []
  const caIssuers = revocation.caIssuers ?? []
  if (ekuOids.length > 0 && profile.extendedKeyUsage.critical) {
    custom.push({ oid: CERTIFICATE_OIDS.extKeyUsage, critical: true, value: sequence(ekuOids.map(objectIdentifier)) })
  }
  if (hasIp) custom.push({ oid: CERTIFICATE_OIDS.subjectAltName, critical: false, value: sequence(sanDer) })
  if (profile.ocspNoCheck) custom.push({ oid: CERTIFICATE_OIDS.ocspNoCheck, critical: false, value: DER_NULL })
  const extensions: PlannedExtensions = {
    basicConstraints: {
      ca: profile.basicConstraints.ca,
      critical: true,
      ...(pathLength !== undefined && { pathLength }),
    },
    keyUsage: [...profile.keyUsage],
    ...(ekuOids.length > 0 && !profile.extendedKeyUsage.critical && { extKeyUsage: ekuOids }),
    ...(sanNames.length > 0 && !hasIp && { subjectAltName: sanNames }),
    ...(idCardNumber !== undefined && { idCardNumber }),
    ...(profile.revocationInfo && crl.length > 0 && { crlDistributionPoints: [...crl] }),
    ...(profile.revocationInfo &&
      ocsp.length + caIssuers.length > 0 && { authorityInfoAccess: { ocsp: [...ocsp], caIssuers: [...caIssuers] } }),
    ...(custom.length > 0 && { custom }),
  }
  return {
    ok: true,
    plan: {
      profile: profile.id,
      subject,
      notBefore,
      notAfter,
      clippedToIssuer,
      keyAlgorithm: key.algorithm,
      singleUse: profile.singleUse,
      extensions,
    },
  }
}

function describeSeconds(s: number): { zh: string; en: string } {
  if (s % YEAR === 0) return { zh: `${s / YEAR} 年`, en: `${s / YEAR} year(s)` }
  if (s % DAY === 0) return { zh: `${s / DAY} 天`, en: `${s / DAY} day(s)` }
  if (s % 60 === 0) return { zh: `${s / 60} 分钟`, en: `${s / 60} minute(s)` }
  return { zh: `${s} 秒`, en: `${s} second(s)` }
}

/** The request for a staff member's signing certificate: CN = name, serialNumber = 工号, OU = department, O = institution. */
export function staffCertificateRequest(input: {
  readonly name: string
  readonly employeeNumber: string
  readonly departmentName?: string | undefined
  readonly institutionName: string
  readonly idCardNumber?: string | undefined
  readonly publicKey: PublicKeyDescription
  readonly country?: string | undefined
}): CertificateRequest {
  return {
    subject: {
      C: input.country ?? 'CN',
      O: input.institutionName,
      ...(input.departmentName ? { OU: input.departmentName } : {}),
      CN: input.name,
      serialNumber: input.employeeNumber,
    },
    idCardNumber: input.idCardNumber,
    publicKey: input.publicKey,
  }
}

export type ProfileOutcome =
  | { readonly ok: true; readonly profile: CertificateProfile }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] }

const PROFILE_KEYS = [
  'id',
  'name',
  'validity',
  'keyAlgorithms',
  'minRsaBits',
  'keyUsage',
  'extendedKeyUsage',
  'basicConstraints',
  'subject',
  'subjectAltName',
  'identityExtension',
  'ocspNoCheck',
  'revocationInfo',
  'selfSigned',
  'singleUse',
] as const

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d{0,9})){1,20}$/

/**
 * Checks a profile document (e.g. parsed JSON a hospital stored) field by field and returns it typed, or every
 * problem. Unknown fields are refused so that a typo cannot silently drop a constraint.
 */
export function validateCertificateProfile(document: unknown): ProfileOutcome {
  const problems: FieldProblem[] = []
  const add = (field: string, zh: string, en: string) => problems.push({ field, zh, en })
  if (!isRecord(document)) return { ok: false, problems: [{ field: '', zh: '应为对象', en: 'must be an object' }] }
  const d = document
  for (const key of Object.keys(d)) {
    if (!(PROFILE_KEYS as readonly string[]).includes(key)) add(key, '未知字段', 'unknown field')
  }
  const int = (field: string, value: unknown, min: number, max: number): value is number => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return true
    add(field, `应为 ${min}–${max} 之间的整数`, `must be an integer in ${min}–${max}`)
    return false
  }
  const bool = (field: string, value: unknown) => {
    if (typeof value !== 'boolean') add(field, '应为 true 或 false', 'must be true or false')
  }
  const listOf = <T extends string>(field: string, value: unknown, allowed: readonly T[], max: number): T[] => {
    if (!Array.isArray(value) || value.length > max) {
      add(field, `应为最多 ${max} 项的列表`, `must be a list of at most ${max} items`)
      return []
    }
    const out: T[] = []
    for (const [i, item] of value.entries()) {
      if (!allowed.includes(item as T)) add(`${field}[${i}]`, '不支持的取值', `must be one of ${allowed.join(', ')}`)
      else if (out.includes(item as T)) add(`${field}[${i}]`, '重复', 'repeated')
      else out.push(item as T)
    }
    return out
  }

  if (typeof d.id !== 'string' || !new RegExp(`^[a-z][a-z0-9-]{1,${PROFILE_LIMITS.id - 1}}$`).test(d.id)) {
    add(
      'id',
      '只能包含小写字母、数字和连字符，以字母开头',
      'lower-case letters, digits and hyphens, starting with a letter',
    )
  }
  if (!isRecord(d.name)) add('name', '应包含 zh 和 en', 'must have zh and en')
  else {
    for (const lang of ['zh', 'en'] as const) {
      const v = d.name[lang]
      if (typeof v !== 'string' || v.trim() === '' || [...v].length > PROFILE_LIMITS.name) {
        add(`name.${lang}`, `1–${PROFILE_LIMITS.name} 个字符`, `1–${PROFILE_LIMITS.name} characters`)
      }
    }
  }
  if (!isRecord(d.validity)) add('validity', '必填', 'is required')
  else {
    const v = d.validity
    const okMax = int('validity.maxSeconds', v.maxSeconds, 60, PROFILE_LIMITS.maxValiditySeconds)
    const okDef = int('validity.defaultSeconds', v.defaultSeconds, 60, PROFILE_LIMITS.maxValiditySeconds)
    int('validity.backdateSeconds', v.backdateSeconds, 0, PROFILE_LIMITS.maxBackdateSeconds)
    if (okMax && okDef && (v.defaultSeconds as number) > (v.maxSeconds as number)) {
      add('validity.defaultSeconds', '不能超过最长有效期', 'must not exceed maxSeconds')
    }
  }
  const keyAlgorithms = listOf('keyAlgorithms', d.keyAlgorithms, SUBJECT_KEY_ALGORITHMS, SUBJECT_KEY_ALGORITHMS.length)
  if (Array.isArray(d.keyAlgorithms) && keyAlgorithms.length === 0 && d.keyAlgorithms.length === 0) {
    add('keyAlgorithms', '至少一种', 'at least one')
  }
  int('minRsaBits', d.minRsaBits, PROFILE_LIMITS.rsaBits.min, PROFILE_LIMITS.rsaBits.max)
  const keyUsage = listOf('keyUsage', d.keyUsage, KEY_USAGE_NAMES, KEY_USAGE_NAMES.length)
  if (Array.isArray(d.keyUsage) && d.keyUsage.length === 0) add('keyUsage', '至少一项', 'at least one')
  if (!isRecord(d.extendedKeyUsage)) add('extendedKeyUsage', '必填', 'is required')
  else {
    const { purposes, critical } = d.extendedKeyUsage
    bool('extendedKeyUsage.critical', critical)
    if (!Array.isArray(purposes) || purposes.length > PROFILE_LIMITS.extendedKeyUsages) {
      add('extendedKeyUsage.purposes', '应为列表', 'must be a list')
    } else {
      for (const [i, p] of purposes.entries()) {
        if (typeof p !== 'string' || (EXTENDED_KEY_USAGES[p] === undefined && !DOTTED_OID.test(p))) {
          add(`extendedKeyUsage.purposes[${i}]`, '应为已知用途名或 OID', 'must be a known purpose name or a dotted OID')
        }
      }
      if (critical === true && purposes.length === 0) {
        add('extendedKeyUsage.critical', '没有用途时不能为关键扩展', 'cannot be critical without purposes')
      }
    }
  }
  if (!isRecord(d.basicConstraints)) add('basicConstraints', '必填', 'is required')
  else {
    const { ca, defaultPathLength, maxPathLength } = d.basicConstraints
    bool('basicConstraints.ca', ca)
    for (const [field, value] of [
      ['defaultPathLength', defaultPathLength],
      ['maxPathLength', maxPathLength],
    ] as const) {
      if (value === null) continue
      if (ca !== true) add(`basicConstraints.${field}`, '非 CA 证书应为 null', 'must be null for a non-CA profile')
      else int(`basicConstraints.${field}`, value, 0, PROFILE_LIMITS.pathLength)
    }
    if (
      typeof defaultPathLength === 'number' &&
      typeof maxPathLength === 'number' &&
      defaultPathLength > maxPathLength
    ) {
      add('basicConstraints.defaultPathLength', '不能超过最大路径长度', 'must not exceed maxPathLength')
    }
    // RFC 5280 §4.2.1.3/§4.2.1.9: keyCertSign goes with cA; a CA signs certificates.
    if (ca === true && !keyUsage.includes('keyCertSign'))
      add('keyUsage', 'CA 证书需要 keyCertSign', 'a CA needs keyCertSign')
    if (ca === false && (keyUsage.includes('keyCertSign') || keyUsage.includes('cRLSign'))) {
      add('keyUsage', '非 CA 证书不能有 keyCertSign 或 cRLSign', 'only a CA has keyCertSign or cRLSign')
    }
  }
  if (!isRecord(d.subject)) add('subject', '必填', 'is required')
  else {
    const required = listOf('subject.required', d.subject.required, SUBJECT_ATTRIBUTES, SUBJECT_ATTRIBUTES.length)
    const optional = listOf('subject.optional', d.subject.optional, SUBJECT_ATTRIBUTES, SUBJECT_ATTRIBUTES.length)
    for (const a of optional) {
      if (required.includes(a)) add('subject.optional', `${a} 已是必填`, `${a} is already required`)
    }
  }
  let sanRequired = false
  if (!isRecord(d.subjectAltName)) add('subjectAltName', '必填', 'is required')
  else {
    const types = listOf('subjectAltName.types', d.subjectAltName.types, ALT_NAME_TYPES, ALT_NAME_TYPES.length)
    bool('subjectAltName.required', d.subjectAltName.required)
    int('subjectAltName.max', d.subjectAltName.max, 0, PROFILE_LIMITS.altNames)
    sanRequired = d.subjectAltName.required === true
    if (sanRequired && (types.length === 0 || d.subjectAltName.max === 0)) {
      add('subjectAltName.required', '没有允许的备用名称', 'no alternative names are allowed')
    }
  }
  if (!['forbidden', 'optional', 'required'].includes(d.identityExtension as string)) {
    add('identityExtension', '应为 forbidden、optional 或 required', 'must be forbidden, optional or required')
  }
  for (const key of ['ocspNoCheck', 'revocationInfo', 'selfSigned', 'singleUse'] as const) bool(key, d[key])
  if (d.selfSigned === true && isRecord(d.basicConstraints) && d.basicConstraints.ca !== true) {
    add('selfSigned', '只有根 CA 证书自签发', 'only a root CA is self-signed')
  }
  if (
    isRecord(d.subject) &&
    Array.isArray(d.subject.required) &&
    d.subject.required.length === 0 &&
    !sanRequired &&
    problems.length === 0
  ) {
    add('subject.required', '主题与备用名称不能都为空', 'a certificate needs a subject or a required alternative name')
  }
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, profile: structuredClone(d) as unknown as CertificateProfile }
}

/** A built-in profile by id; CERTIFICATE_PROFILE_NOT_FOUND otherwise. */
export function builtInProfile(id: string): CertificateProfile {
  const found = Object.hasOwn(BUILT_IN_PROFILES, id) ? BUILT_IN_PROFILES[id] : undefined
  if (!found) {
    throw new DomainError('CERTIFICATE_PROFILE_NOT_FOUND', `证书模板 ${id} 不存在 / no certificate profile ${id}`, {
      field: 'profile',
    })
  }
  return found
}

function problemError(
  code: 'CERTIFICATE_REQUEST_INVALID' | 'CERTIFICATE_PROFILE_INVALID',
  list: readonly FieldProblem[],
) {
  const lines = list.map((p) => `${p.field}: ${p.zh} / ${p.en}`)
  return new DomainError(code, lines.join('; '), {
    field: list[0]?.field ?? '',
    problems: lines,
    fields: list.map((p) => ({ field: p.field, zh: p.zh, en: p.en })),
  })
}

/** planCertificate for use cases: the plan, or CERTIFICATE_REQUEST_INVALID listing every field problem. */
export function planCertificateOrThrow(
  profile: CertificateProfile,
  request: CertificateRequest,
  context: PlanContext,
): CertificatePlan {
  const outcome = planCertificate(profile, request, context)
  if (!outcome.ok) throw problemError('CERTIFICATE_REQUEST_INVALID', outcome.problems)
  return outcome.plan
}

/** validateCertificateProfile for use cases: the profile, or CERTIFICATE_PROFILE_INVALID listing every problem. */
export function parseCertificateProfile(document: unknown): CertificateProfile {
  const outcome = validateCertificateProfile(document)
  if (!outcome.ok) throw problemError('CERTIFICATE_PROFILE_INVALID', outcome.problems)
  return outcome.profile
}
