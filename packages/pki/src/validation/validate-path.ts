import {
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_cRLDistributionPoints,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_extKeyUsage,
  id_ce_invalidityDate,
  id_ce_issuerAltName,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_codeSigning,
  id_kp_emailProtection,
  id_kp_OCSPSigning,
  id_kp_timeStamping,
} from '@peculiar/asn1-x509'
import { equalBytes } from '@yiqian/gm'
import { isPkiError, PkiError } from '../errors.js'
import { certIdMatches, parseNamedCertificate, parseOcspResponse, verifyOcspResponse } from '../ocsp/ocsp.js'
import {
  isRevoked,
  type KeyUsageName,
  type ParsedCertificate,
  type ParsedCrl,
  parseCertificate,
  parseCrl,
  verifyCertificateSignature,
  verifyCrlSignature,
} from '../x509/index.js'

export type ValidationPurpose =
  | 'any'
  | 'clientAuth'
  | 'emailProtection'
  | 'codeSigning'
  | 'timeStamping'
  | 'ocspSigning'
  | 'documentSigning'

export type CheckName =
  | 'signature'
  | 'validity'
  | 'basicConstraints'
  | 'pathLength'
  | 'keyUsage'
  | 'extendedKeyUsage'
  | 'nameChaining'
  | 'criticalExtensions'
  | 'revocation'

export type CheckStatus = 'passed' | 'failed' | 'indeterminate'

export interface CheckResult {
  readonly check: CheckName
  readonly status: CheckStatus
  /** English, with the specifics (dates, names, reason codes). */
  readonly reason: string
  /** A short Chinese summary for the console ("签名检查失败"); the specifics are in `reason`. */
  readonly reasonZh: string
}

export interface ChainEntry {
  readonly subject: string
  readonly issuer: string
  readonly serial: string
  /** 'target', 'intermediate' or 'trustAnchor'. */
  readonly role: 'target' | 'intermediate' | 'trustAnchor'
  readonly checks: readonly CheckResult[]
}

export interface ValidationReport {
  readonly status: CheckStatus
  /** From the target up to the trust anchor; empty when no path was found. */
  readonly chain: readonly ChainEntry[]
  readonly reason: string
  readonly reasonZh: string
}

export interface ValidatePathOptions {
  readonly target: Uint8Array
  readonly intermediates?: readonly Uint8Array[]
  readonly trustAnchors: readonly Uint8Array[]
  readonly at: Date
  readonly purpose?: ValidationPurpose
  /** Revocation evidence. Absent: revocation is not checked (and no 'revocation' check is reported). */
  readonly revocation?: { readonly crls?: readonly Uint8Array[]; readonly ocspResponses?: readonly Uint8Array[] }
  readonly sm2Id?: string | Uint8Array
  /** Longest accepted path, trust anchor included. */
  readonly maxPathLength?: number
}

/** RFC 9336 id-kp-documentSigning; Microsoft's document-signing EKU is accepted as well, as Chinese CAs issue it. */
const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36'
const MS_DOCUMENT_SIGNING = '1.3.6.1.4.1.311.10.3.12'
const ANY_EKU = '2.5.29.37.0'
const AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1'
const OCSP_NO_CHECK = '1.3.6.1.5.5.7.48.1.5'

const PURPOSE_EKUS: Record<Exclude<ValidationPurpose, 'any'>, readonly string[]> = {
  clientAuth: [id_kp_clientAuth],
  emailProtection: [id_kp_emailProtection],
  codeSigning: [id_kp_codeSigning],
  timeStamping: [id_kp_timeStamping],
  ocspSigning: [id_kp_OCSPSigning],
  documentSigning: [ID_KP_DOCUMENT_SIGNING, MS_DOCUMENT_SIGNING, id_kp_emailProtection],
}

/** Extensions this validator understands; any other marked critical fails the certificate (RFC 5280 §4.2). */
const UNDERSTOOD_EXTENSIONS = new Set<string>([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_extKeyUsage,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectAltName,
  id_ce_issuerAltName,
  // Policies are accepted as asserted: the hospital PKI has no policy mapping or explicit-policy requirement.
  id_ce_certificatePolicies,
  id_ce_cRLDistributionPoints,
  AUTHORITY_INFO_ACCESS,
  OCSP_NO_CHECK,
])

const MAX_PATH = 10

const CHECK_ZH: Record<CheckName, string> = {
  signature: '签名',
  validity: '有效期',
  basicConstraints: '基本约束',
  pathLength: '路径长度约束',
  keyUsage: '密钥用法',
  extendedKeyUsage: '扩展密钥用法',
  nameChaining: '名称链接',
  criticalExtensions: '关键扩展',
  revocation: '吊销状态',
}
const STATUS_ZH: Record<CheckStatus, string> = { passed: '通过', failed: '失败', indeterminate: '无法确定' }

const result = (check: CheckName, status: CheckStatus, reason: string): CheckResult => ({
  check,
  status,
  reason,
  reasonZh: `${CHECK_ZH[check]}检查${STATUS_ZH[status]}`,
})
const passed = (check: CheckName, reason: string) => result(check, 'passed', reason)
const failed = (check: CheckName, reason: string) => result(check, 'failed', reason)
const indeterminate = (check: CheckName, reason: string) => result(check, 'indeterminate', reason)

/** Could `issuer` have issued `cert`: same name, and the key identifiers agree when both are present. */
function canIssue(issuer: ParsedCertificate, cert: ParsedCertificate): boolean {
  if (!equalBytes(issuer.subjectDer, cert.issuerDer)) return false
  const authorityKeyId = cert.extensions.authorityKeyIdentifier?.keyIdentifier
  const subjectKeyId = issuer.extensions.subjectKeyIdentifier?.keyIdentifier
  if (authorityKeyId && subjectKeyId) return equalBytes(authorityKeyId, subjectKeyId)
  return true
}

/** Depth-first from the target: every path through distinct certificates that ends at a trust anchor. */
function buildPath(
  target: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
  maxLength: number,
): ParsedCertificate[] | undefined {
  // Many same-named CAs could make the search exponential: a fixed budget of steps bounds hostile input.
  let budget = 1000
  const visit = (path: ParsedCertificate[]): ParsedCertificate[] | undefined => {
    const last = path[path.length - 1]!
    if (path.length >= maxLength || --budget < 0) return undefined
    for (const anchor of anchors) if (canIssue(anchor, last)) return [...path, anchor]
    for (const next of intermediates) {
      if (path.some((p) => equalBytes(p.der, next.der))) continue // no loops
      if (!canIssue(next, last)) continue
      const found = visit([...path, next])
      if (found) return found
    }
    return undefined
  }
  // The target may itself be a trust anchor (a self-signed certificate the caller trusts).
  if (anchors.some((a) => equalBytes(a.der, target.der))) return [target]
  return visit([target])
}

function validityCheck(cert: ParsedCertificate, at: Date): CheckResult {
  if (at < cert.notBefore)
    return failed('validity', `not yet valid at ${at.toISOString()} (from ${cert.notBefore.toISOString()})`)
  if (at > cert.notAfter)
    return failed('validity', `expired at ${at.toISOString()} (until ${cert.notAfter.toISOString()})`)
  return passed('validity', `valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`)
}

function criticalExtensionsCheck(cert: ParsedCertificate): CheckResult {
  // `all`, not `unknown`: x509 decodes extensions (GM/T 0015 identity numbers) this validator does not act on.
  const unknown = cert.extensions.all.filter((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid)).map((e) => e.oid)
  if (unknown.length > 0) return failed('criticalExtensions', `unrecognised critical extension ${unknown.join(', ')}`)
  return passed('criticalExtensions', 'every critical extension is understood')
}

async function signatureCheck(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  sm2Id?: string | Uint8Array,
): Promise<CheckResult> {
  try {
    const ok = await verifyCertificateSignature(cert, issuer, { sm2Id })
    return ok
      ? passed('signature', `signature verifies with the key of ${issuer.subjectString}`)
      : failed('signature', `signature does not verify with the key of ${issuer.subjectString}`)
  } catch (error) {
    if (isPkiError(error)) return failed('signature', error.message)
    throw error
  }
}

/** No keyUsage extension means no restriction (RFC 5280 §4.2.1.3). */
function hasUsage(cert: ParsedCertificate, usage: KeyUsageName): boolean {
  const keyUsage = cert.extensions.keyUsage
  return keyUsage === undefined || keyUsage.usages.includes(usage)
}

function leafUsageChecks(cert: ParsedCertificate, purpose: ValidationPurpose): CheckResult[] {
  if (purpose === 'any') {
    return [passed('keyUsage', 'no purpose requested'), passed('extendedKeyUsage', 'no purpose requested')]
  }
  const checks: CheckResult[] = []
  const needsNonRepudiation =
    purpose === 'documentSigning' || purpose === 'emailProtection' || purpose === 'timeStamping'
  const ku = cert.extensions.keyUsage?.usages
  if (ku === undefined) checks.push(passed('keyUsage', 'no keyUsage extension: unrestricted'))
  else if (ku.includes('digitalSignature')) checks.push(passed('keyUsage', 'keyUsage includes digitalSignature'))
  else if (needsNonRepudiation && ku.includes('nonRepudiation')) {
    checks.push(passed('keyUsage', 'keyUsage includes nonRepudiation'))
  } else {
    checks.push(
      failed('keyUsage', `keyUsage lacks digitalSignature${needsNonRepudiation ? ' and nonRepudiation' : ''}`),
    )
  }
  const wanted = PURPOSE_EKUS[purpose]
  const eku = cert.extensions.extKeyUsage?.purposes
  if (!eku) {
    // RFC 3161 and RFC 6960 make the EKU mandatory for TSA and delegated OCSP certificates.
    if (purpose === 'timeStamping' || purpose === 'ocspSigning') {
      checks.push(failed('extendedKeyUsage', `a ${purpose} certificate needs extKeyUsage ${wanted[0]}`))
    } else checks.push(passed('extendedKeyUsage', 'no extKeyUsage extension: unrestricted'))
  } else if (eku.some((e) => wanted.includes(e))) {
    checks.push(passed('extendedKeyUsage', `extKeyUsage allows ${purpose}`))
  } else if (eku.includes(ANY_EKU) && purpose !== 'timeStamping' && purpose !== 'ocspSigning') {
    checks.push(passed('extendedKeyUsage', 'extKeyUsage includes anyExtendedKeyUsage'))
  } else {
    checks.push(failed('extendedKeyUsage', `extKeyUsage (${eku.join(', ')}) does not allow ${purpose}`))
  }
  return checks
}

function issuerChecks(
  cert: ParsedCertificate,
  caCertsBelow: number,
  purpose: ValidationPurpose,
  isAnchor: boolean,
): CheckResult[] {
  const checks: CheckResult[] = []
  const bc = cert.extensions.basicConstraints
  if (!bc?.ca) checks.push(failed('basicConstraints', 'issues certificates but basicConstraints CA is not true'))
  else checks.push(passed('basicConstraints', 'basicConstraints CA:true'))
  const pathLen = bc?.ca ? bc.pathLength : undefined
  if (pathLen === undefined) checks.push(passed('pathLength', 'no pathLenConstraint'))
  else if (caCertsBelow > pathLen) {
    checks.push(failed('pathLength', `pathLenConstraint ${pathLen} but ${caCertsBelow} CA certificates follow it`))
  } else checks.push(passed('pathLength', `pathLenConstraint ${pathLen}, ${caCertsBelow} CA certificates follow it`))
  if (hasUsage(cert, 'keyCertSign')) {
    checks.push(
      passed('keyUsage', cert.extensions.keyUsage ? 'keyUsage includes keyCertSign' : 'no keyUsage extension'),
    )
  } else checks.push(failed('keyUsage', 'keyUsage lacks keyCertSign'))
  // A CA's EKU, when present, constrains what it may issue for (as OpenSSL and Windows enforce); anchors are trusted.
  const eku = cert.extensions.extKeyUsage?.purposes
  if (!isAnchor && purpose !== 'any' && eku) {
    const ok = eku.some((e) => PURPOSE_EKUS[purpose].includes(e) || e === ANY_EKU)
    checks.push(
      ok
        ? passed('extendedKeyUsage', `CA extKeyUsage allows ${purpose}`)
        : failed('extendedKeyUsage', `CA extKeyUsage (${eku.join(', ')}) does not allow ${purpose}`),
    )
  }
  return checks
}

// parseCrl decodes authorityKeyIdentifier, cRLNumber and the reason code itself; the rest stay in otherExtensions.
const CRL_UNDERSTOOD = new Set<string>([id_ce_authorityKeyIdentifier, id_ce_cRLNumber, id_ce_issuerAltName])
const ENTRY_UNDERSTOOD = new Set<string>([id_ce_invalidityDate])

type Evidence = { readonly result: CheckResult; readonly decisive: boolean }

/**
 * What one CRL says about `cert` at `at`. A CRL issued after `at` is usable too (it knows every revocation up to
 * its issue): that is what lets a signature made before a later revocation keep validating.
 */
async function crlEvidence(
  crl: ParsedCrl,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
  sm2Id?: string | Uint8Array,
): Promise<Evidence | undefined> {
  if (!equalBytes(crl.issuerDer, issuer.subjectDer)) return undefined // someone else's CRL
  const note = (reason: string): Evidence => ({ result: indeterminate('revocation', reason), decisive: false })
  if (!hasUsage(issuer, 'cRLSign')) return note(`${issuer.subjectString} may not sign CRLs (no cRLSign)`)
  let ok = false
  try {
    ok = await verifyCrlSignature(crl, issuer, { sm2Id })
  } catch (error) {
    if (!isPkiError(error)) throw error
  }
  if (!ok) return note(`a CRL from ${issuer.subjectString} has a signature that does not verify`)
  // Delta CRLs, partitioned CRLs (issuingDistributionPoint) and the like are not complete lists: not usable here.
  // parseCrl lifts the delta indicator out of otherExtensions; RFC 5280 §5.2.4 has it always critical.
  const critical =
    crl.deltaCrlIndicator !== undefined
      ? id_ce_deltaCRLIndicator
      : crl.otherExtensions.find((e) => e.critical && !CRL_UNDERSTOOD.has(e.oid))?.oid
  if (critical) return note(`a CRL from ${issuer.subjectString} has unsupported critical extension ${critical}`)
  if (crl.nextUpdate && crl.nextUpdate < at)
    return note(`the CRL from ${issuer.subjectString} expired before ${at.toISOString()}`)
  const entry = isRevoked(crl, cert.serial)
  if (!entry)
    return { result: passed('revocation', `not on the CRL of ${crl.thisUpdate.toISOString()}`), decisive: true }
  const entryCritical = entry.otherExtensions.find((e) => e.critical && !ENTRY_UNDERSTOOD.has(e.oid))
  if (entryCritical) return note(`the CRL entry has unsupported critical extension ${entryCritical.oid}`)
  const reason = entry.reason ?? 'unspecified'
  const revokedAt = entry.date
  if (revokedAt <= at) {
    return {
      result: failed('revocation', `revoked on ${revokedAt.toISOString()} (CRL), reason ${reason}`),
      decisive: true,
    }
  }
  return {
    result: passed('revocation', `revoked on ${revokedAt.toISOString()} (${reason}), after ${at.toISOString()}`),
    decisive: true,
  }
}

async function ocspEvidence(
  der: Uint8Array,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
  sm2Id?: string | Uint8Array,
): Promise<Evidence | undefined> {
  let parsed: ReturnType<typeof parseOcspResponse>
  try {
    parsed = parseOcspResponse(der)
  } catch (error) {
    if (isPkiError(error)) return undefined
    throw error
  }
  const single = parsed.responses.find((r) => certIdMatches(r.certId, issuer, cert.serial))
  if (!single) return undefined // about another certificate
  const note = (reason: string): Evidence => ({ result: indeterminate('revocation', reason), decisive: false })
  const verified = await verifyOcspResponse(parsed, { issuer, ...(sm2Id !== undefined && { sm2Id }) })
  if (verified.status !== 'passed') {
    const why = verified.checks.find((c) => c.status === 'failed')?.reason ?? 'not authentic'
    return note(`an OCSP response for serial ${cert.serialHex} is not usable: ${why}`)
  }
  if (single.nextUpdate && single.nextUpdate < at) return note(`the OCSP response expired before ${at.toISOString()}`)
  const s = single.certStatus
  switch (s.status) {
    case 'good':
      return { result: passed('revocation', `OCSP: good (${verified.responder})`), decisive: true }
    case 'unknown':
      return note(`OCSP: the responder does not know serial ${cert.serialHex}`)
    case 'revoked':
      if (s.revocationTime <= at) {
        return {
          result: failed(
            'revocation',
            `revoked on ${s.revocationTime.toISOString()} (OCSP), reason ${s.reason ?? 'unspecified'}`,
          ),
          decisive: true,
        }
      }
      return {
        result: passed('revocation', `OCSP: revoked on ${s.revocationTime.toISOString()}, after ${at.toISOString()}`),
        decisive: true,
      }
  }
}

async function revocationCheck(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  crls: readonly ParsedCrl[],
  ocsp: readonly Uint8Array[],
  at: Date,
  sm2Id?: string | Uint8Array,
): Promise<CheckResult> {
  const evidence: Evidence[] = []
  for (const crl of crls) {
    const e = await crlEvidence(crl, cert, issuer, at, sm2Id)
    if (e) evidence.push(e)
  }
  for (const der of ocsp) {
    const e = await ocspEvidence(der, cert, issuer, at, sm2Id)
    if (e) evidence.push(e)
  }
  // Any authentic revocation before `at` wins; otherwise any authentic statement that it was good then.
  const revoked = evidence.find((e) => e.decisive && e.result.status === 'failed')
  if (revoked) return revoked.result
  const good = evidence.find((e) => e.decisive && e.result.status === 'passed')
  if (good) return good.result
  if (evidence.length > 0) return evidence.map((e) => e.result)[0]!
  return indeterminate(
    'revocation',
    `no CRL or OCSP response from ${issuer.subjectString} covers serial ${cert.serialHex}`,
  )
}

function overall(checks: readonly CheckResult[]): CheckStatus {
  if (checks.some((c) => c.status === 'failed')) return 'failed'
  if (checks.some((c) => c.status === 'indeterminate')) return 'indeterminate'
  return 'passed'
}

/**
 * RFC 5280 path validation, the subset a hospital PKI needs, returning a report of every check on every
 * certificate. Malformed target or trust anchors throw a typed PkiError; a malformed intermediate is skipped.
 */
export async function validatePath(options: ValidatePathOptions): Promise<ValidationReport> {
  const { at, purpose = 'any', sm2Id } = options
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new PkiError('INVALID_ARGUMENT', '`at` must be a Date')
  const target = parseNamedCertificate(options.target, 'target certificate')
  const anchors = options.trustAnchors.map((der, i) => parseNamedCertificate(der, `trust anchor ${i + 1}`))
  const intermediates: ParsedCertificate[] = []
  for (const der of options.intermediates ?? []) {
    try {
      intermediates.push(parseCertificate(der))
    } catch (error) {
      if (!isPkiError(error)) throw error
    }
  }
  const maxLength = Math.min(options.maxPathLength ?? MAX_PATH, MAX_PATH)
  const path = buildPath(target, intermediates, anchors, maxLength)
  if (!path) {
    return {
      status: 'failed',
      chain: [],
      reason: `no path from ${target.subjectString} (issuer ${target.issuerString}) to a trust anchor within ${maxLength} certificates`,
      reasonZh: `找不到从 ${target.subjectString} 到受信任根证书的证书路径`,
    }
  }
  const crls: ParsedCrl[] = []
  for (const der of options.revocation?.crls ?? []) {
    try {
      crls.push(parseCrl(der))
    } catch (error) {
      if (!isPkiError(error)) throw error
    }
  }
  const ocsp = options.revocation?.ocspResponses ?? []
  const chain: ChainEntry[] = []
  for (const [i, cert] of path.entries()) {
    const isAnchor = i === path.length - 1
    const issuer = path[i + 1]
    const checks: CheckResult[] = []
    if (isAnchor) {
      checks.push(passed('signature', 'trust anchor: trusted directly'))
      checks.push(validityCheck(cert, at))
    } else if (issuer) {
      checks.push(await signatureCheck(cert, issuer, sm2Id))
      checks.push(validityCheck(cert, at))
      checks.push(
        equalBytes(cert.issuerDer, issuer.subjectDer)
          ? passed('nameChaining', `issuer name matches the subject of ${issuer.subjectString}`)
          : failed('nameChaining', `issuer ${cert.issuerString} differs from ${issuer.subjectString}`),
      )
    }
    if (i > 0) checks.push(...issuerChecks(cert, i - 1, purpose, isAnchor))
    else if (!isAnchor) checks.push(...leafUsageChecks(cert, purpose))
    if (!isAnchor) checks.push(criticalExtensionsCheck(cert))
    if (!isAnchor && issuer && options.revocation) {
      checks.push(await revocationCheck(cert, issuer, crls, ocsp, at, sm2Id))
    }
    chain.push({
      subject: cert.subjectString,
      issuer: cert.issuerString,
      serial: cert.serialHex,
      role: i === 0 && !isAnchor ? 'target' : isAnchor ? 'trustAnchor' : 'intermediate',
      checks,
    })
  }
  const all = chain.flatMap((c) => c.checks.map((check) => ({ ...check, subject: c.subject })))
  const status = overall(all)
  const first = all.find((c) => c.status === status)
  const reason =
    status === 'passed'
      ? `valid path of ${chain.length} certificates to ${chain[chain.length - 1]?.subject}`
      : `${first?.check} ${status} for ${first?.subject}: ${first?.reason}`
  const reasonZh =
    status === 'passed'
      ? `证书链验证通过（共 ${chain.length} 张证书）`
      : `${first?.subject} 的${first ? CHECK_ZH[first.check] : ''}检查${STATUS_ZH[status]}`
  return { status, chain, reason, reasonZh }
}
