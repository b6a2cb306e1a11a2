import {
  CMSVersion,
  ContentInfo,
  IssuerAndSerialNumber,
  id_data,
  id_signedData,
  SignedData,
  type SignerInfo,
} from '@peculiar/asn1-cms'
import { OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  BasicConstraints,
  Certificate,
  GeneralName,
  GeneralNames,
  id_ce_basicConstraints,
  Time,
} from '@peculiar/asn1-x509'
import { equalBytes, type SignatureAlgorithm, type Signer } from '@yiqian/gm'
import { OID, signatureAlgorithmOf, verifyStructure } from '../algorithms.js'
import { decodeDer, encodeDer } from '../der.js'
import { isPkiError, PkiError } from '../errors.js'
import { signatureAlgorithmDer } from '../x509/certificate.js'
import {
  derGeneralizedTime,
  derOctetString,
  derOid,
  derSmallInteger,
  derTime,
  sequence,
  tlv,
} from '../x509/der-build.js'
import {
  compareDer,
  DIGEST_OID,
  type DigestName,
  digest,
  digestAlgorithmIdentifier,
  digestNameOf,
  sha1,
} from './digest.js'
import {
  AttributeSet,
  EssCertIdV2,
  IssuerSerial,
  ObjectIdentifierValue,
  SigningCertificate,
  SigningCertificateV2,
} from './ess.js'

/** Content types and attribute types used here (RFC 5652, RFC 5035, GM/T 0010). */
export const CMS_OID = {
  data: id_data,
  signedData: id_signedData,
  gmData: '1.2.156.10197.6.1.4.2.1',
  gmSignedData: '1.2.156.10197.6.1.4.2.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signatureTimeStampToken: '1.2.840.113549.1.9.16.2.14',
} as const

export interface SignCmsOptions {
  readonly content: Uint8Array
  readonly detached: boolean
  readonly signer: Signer
  /** The signer's certificate, DER. */
  readonly certificate: Uint8Array
  /** Further certificates to carry (intermediates), DER. */
  readonly chain?: readonly Uint8Array[]
  /** Default now. */
  readonly signingTime?: Date
  /** eContentType; default id-data (or the GM/T 0010 data OID with `gmt0010`). */
  readonly contentType?: string
  /** GM/T 0010 content-type OIDs instead of the RFC 5652 ones. */
  readonly gmt0010?: boolean
}

export function digestForSignature(algorithm: SignatureAlgorithm): DigestName {
  return algorithm === 'SM2-SM3' ? 'SM3' : 'SHA-256'
}

/** The raw schema object, for CMS internals; readers of certificates use x509.parseCertificate. */
export function decodeCertificate(der: Uint8Array, what = 'certificate'): Certificate {
  return decodeDer(der, Certificate, what)
}

/** ESSCertIDv2 for `certificate`: its hash and issuerSerial (RFC 5035 §5.4.1.1). */
export function essCertIdV2(certificateDer: Uint8Array, hash: DigestName): SigningCertificateV2 {
  const certificate = decodeCertificate(certificateDer)
  const tbs = certificate.tbsCertificate
  return new SigningCertificateV2({
    certs: [
      new EssCertIdV2({
        hashAlgorithm: hash === 'SHA-256' ? undefined : digestAlgorithmIdentifier(hash),
        certHash: new OctetString(digest(hash, certificateDer)),
        issuerSerial: new IssuerSerial({
          issuer: new GeneralNames([new GeneralName({ directoryName: tbs.issuer })]),
          serialNumber: tbs.serialNumber,
        }),
      }),
    ],
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Signing

const OID_CONTENT_TYPE = derOid('1.2.840.113549.1.9.3')
const OID_MESSAGE_DIGEST = derOid('1.2.840.113549.1.9.4')
const OID_SIGNING_TIME = derOid('1.2.840.113549.1.9.5')
const OID_SIGNING_CERTIFICATE_V2 = derOid('1.2.840.113549.1.9.16.2.47')
const OID_SIGNED_DATA = derOid('1.2.840.113549.1.7.2')
const GM_DATA = '1.2.156.10197.6.1.4.2.1'
const OID_GM_SIGNED_DATA = derOid('1.2.156.10197.6.1.4.2.2')

export interface CmsWriterOptions {
  readonly signer: Signer
  /** The signer's certificate, DER. */
  readonly certificate: Uint8Array
  /** Further certificates for the certificate set (issuing CA, …), DER. */
  readonly chain?: readonly Uint8Array[]
  /** eContentType; id-data by default (GM/T 0010 data with `gmt0010`). */
  readonly contentType?: string
  /** GM/T 0010 object identifiers: ContentInfo signedData 1.2.156.10197.6.1.4.2.2, data …2.1. */
  readonly gmt0010?: boolean
  /** Adds signing-certificate-v2 (RFC 5035) over the signer's certificate, as RFC 5816 asks of TSA tokens. */
  readonly signingCertificateV2?: boolean
}

export interface CmsSignInput {
  /** What the signature covers: its digest goes into messageDigest. */
  readonly content: Uint8Array
  /** Encapsulate `content` (a TimeStampToken's TSTInfo), or leave it out (a detached signature). */
  readonly encapsulate: boolean
  readonly signingTime: Date
  /** Put the certificate set into the SignedData (a TSA honours the request's certReq). */
  readonly includeCertificates: boolean
}

/** A signer prepared once; each `sign` writes one ContentInfo(SignedData) as DER. */
export interface CmsWriter {
  readonly digestName: DigestName
  sign(input: CmsSignInput): Promise<Uint8Array>
}

/** RFC 5652 §11.3 signingTime: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds. */
function signingTimeDer(date: Date): Uint8Array {
  return date.getUTCFullYear() < 1950 ? derGeneralizedTime(date) : derTime(date)
}

const attribute = (type: Uint8Array, value: Uint8Array) => sequence(type, tlv(0x31, value))

/**
 * CMS SignedData (RFC 5652) written directly as DER: everything that does not change per signature — the signer
 * identifier, algorithm identifiers, the certificate set, the contentType and signing-certificate-v2 attributes — is
 * encoded once here; a signature then costs a content digest, one signature over the signed attributes and a few
 * concatenations. The bytes are those the schema encoder writes for the same structure (signed-data-writer.test.ts
 * compares them), with DER's SET OF ordering of the attributes and certificates.
 */
export function createCmsWriter(options: CmsWriterOptions): CmsWriter {
  const { signer } = options
  const digestName = digestForSignature(signer.algorithm)
  const contentType = options.contentType ?? (options.gmt0010 ? GM_DATA : id_data)
  const certificate = decodeCertificate(options.certificate, 'signer certificate')
  const sid = encodeDer(
    new IssuerAndSerialNumber({
      issuer: certificate.tbsCertificate.issuer,
      serialNumber: certificate.tbsCertificate.serialNumber,
    }),
  )
  const digestAlgorithm = encodeDer(digestAlgorithmIdentifier(digestName))
  const signatureAlgorithm = signatureAlgorithmDer(signer.algorithm)
  const certificates = tlv(0xa0, ...[options.certificate, ...(options.chain ?? [])].sort(compareDer))
  const eContentType = derOid(contentType)
  const staticAttributes = [
    attribute(OID_CONTENT_TYPE, eContentType),
    ...(options.signingCertificateV2
      ? [attribute(OID_SIGNING_CERTIFICATE_V2, encodeDer(essCertIdV2(options.certificate, digestName)))]
      : []),
  ]
  // RFC 5652 §5.1: version 3 when the encapsulated content is not id-data, else 1 (GM/T 0010 data keeps 1, as that
  // standard specifies); SignerInfo v1 (issuerAndSerialNumber).
  const version = derSmallInteger(contentType === id_data || contentType === GM_DATA ? 1 : 3)
  const signerInfoVersion = derSmallInteger(1)
  const digestAlgorithms = tlv(0x31, digestAlgorithm)
  const signedDataOid = options.gmt0010 ? OID_GM_SIGNED_DATA : OID_SIGNED_DATA

  return {
    digestName,
    async sign({ content, encapsulate, signingTime, includeCertificates }) {
      const attributes = [
        ...staticAttributes,
        attribute(OID_MESSAGE_DIGEST, derOctetString(digest(digestName, content))),
        attribute(OID_SIGNING_TIME, signingTimeDer(signingTime)),
      ].sort(compareDer)
      // The signature covers the attributes as a SET (tag 31); the SignerInfo carries them as [0] IMPLICIT.
      const signature = await signer.sign(tlv(0x31, ...attributes))
      const signerInfo = sequence(
        signerInfoVersion,
        sid,
        digestAlgorithm,
        tlv(0xa0, ...attributes),
        signatureAlgorithm,
        derOctetString(signature),
      )
      const signedData = sequence(
        version,
        digestAlgorithms,
        sequence(eContentType, ...(encapsulate ? [tlv(0xa0, derOctetString(content))] : [])),
        ...(includeCertificates ? [certificates] : []),
        tlv(0x31, signerInfo),
      )
      return sequence(signedDataOid, tlv(0xa0, signedData))
    },
  }
}

/** Builds a ContentInfo carrying a SignedData with one SignerInfo (v1, IssuerAndSerialNumber). */
export async function signCms(options: SignCmsOptions): Promise<Uint8Array> {
  const { content, detached, signer } = options
  if (!(content instanceof Uint8Array)) throw new PkiError('INVALID_ARGUMENT', 'content must be a Uint8Array')
  if (!(options.certificate instanceof Uint8Array)) {
    throw new PkiError('INVALID_ARGUMENT', 'certificate must be DER bytes')
  }
  const certificate = decodeCertificate(options.certificate, 'signer certificate')
  const chain = (options.chain ?? []).map((der, i) => decodeCertificate(der, `chain certificate ${i}`))
  if (!equalBytes(encodeDer(certificate.tbsCertificate.subjectPublicKeyInfo), signer.publicKey())) {
    throw new PkiError('INVALID_ARGUMENT', "the certificate does not hold the signer's public key")
  }
  const eContentType = options.contentType ?? (options.gmt0010 ? CMS_OID.gmData : CMS_OID.data)
  const signingTime = options.signingTime ?? new Date()
  if (Number.isNaN(signingTime.getTime())) throw new PkiError('INVALID_ARGUMENT', 'signingTime is not a valid date')

  return createCmsWriter({
    signer,
    certificate: options.certificate,
    chain: chain.map((c) => encodeDer(c)),
    contentType: eContentType,
    gmt0010: options.gmt0010,
    signingCertificateV2: true,
  }).sign({ content, encapsulate: !detached, signingTime, includeCertificates: true })
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

export type CmsCheckName = 'structure' | 'content-digest' | 'signature' | 'signing-certificate' | 'trust'
export type CheckStatus = 'passed' | 'failed' | 'skipped'

export interface CmsCheck {
  readonly name: CmsCheckName
  readonly status: CheckStatus
  readonly reason: string
}

export interface CmsVerification {
  /** True only when no check failed and structure, content digest and signature passed. */
  readonly valid: boolean
  readonly checks: readonly CmsCheck[]
  readonly contentType?: string
  /** The encapsulated content (attached) or the one supplied (detached). */
  readonly content?: Uint8Array
  readonly signerCertificate?: Uint8Array
  readonly signingTime?: Date
  readonly signatureAlgorithm?: SignatureAlgorithm
}

export interface VerifyCmsOptions {
  /** The content of a detached signature. */
  readonly content?: Uint8Array
  /**
   * Trust anchors, DER. When given, the signer certificate must be one of them or directly issued by one (its
   * signature checked); path building beyond one level and revocation belong to validation/.
   */
  readonly trusted?: readonly Uint8Array[]
  /**
   * Require a signing-certificate(-v2) attribute (RFC 3161 tokens do); otherwise its absence is 'skipped'.
   */
  readonly requireSigningCertificate?: boolean
}

/** A parsed SignedData with the pieces verification needs, kept for reuse by CAdES and TSP. */
export interface ParsedCms {
  readonly contentInfo: ContentInfo
  readonly signedData: SignedData
  readonly gmt0010: boolean
}

/** Strict parse of ContentInfo → SignedData. Throws a PkiError for anything that is not DER SignedData. */
export function parseCms(der: Uint8Array): ParsedCms {
  const contentInfo = decodeDer(der, ContentInfo, 'CMS ContentInfo')
  const gmt0010 = contentInfo.contentType === CMS_OID.gmSignedData
  if (contentInfo.contentType !== CMS_OID.signedData && !gmt0010) {
    throw new PkiError('MALFORMED_DER', `CMS content type ${contentInfo.contentType} is not signedData`)
  }
  // ContentInfo.content is [0] EXPLICIT ANY: the schema hands back the inner SignedData encoding.
  const signedData = decodeDer(new Uint8Array(contentInfo.content), SignedData, 'CMS SignedData')
  return { contentInfo, signedData, gmt0010 }
}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1'

/**
 * RFC 3370 §3.2 lets a SignerInfo name plain rsaEncryption, the hash coming from digestAlgorithm; OpenSSL writes it
 * that way. Read it as sha256WithRSAEncryption when the digest is SHA-256.
 */
function cmsSignatureIdentifier(identifier: AlgorithmIdentifier, hash: DigestName): AlgorithmIdentifier {
  if (identifier.algorithm !== RSA_ENCRYPTION || hash !== 'SHA-256') return identifier
  const params = identifier.parameters ? new Uint8Array(identifier.parameters) : undefined
  if (params !== undefined && !(params.length === 2 && params[0] === 0x05 && params[1] === 0x00)) return identifier
  return new AlgorithmIdentifier({ algorithm: OID.sha256WithRsa, parameters: null })
}

function check(name: CmsCheckName, status: CheckStatus, reason: string): CmsCheck {
  return { name, status, reason }
}

function findAttribute(signerInfo: SignerInfo, type: string): { values: Uint8Array[]; count: number } {
  const found = (signerInfo.signedAttrs ?? []).filter((a) => a.attrType === type)
  return { values: found.flatMap((a) => a.attrValues.map((v) => new Uint8Array(v))), count: found.length }
}

function singleValue(signerInfo: SignerInfo, type: string, name: string): Uint8Array {
  const { values, count } = findAttribute(signerInfo, type)
  if (count !== 1 || values.length !== 1) {
    throw new PkiError('MALFORMED_DER', `signed attribute ${name} must occur once with one value`)
  }
  return values[0]!
}

/** Bytes the signer signed: the signed attributes as a DER SET (identical to the input, as it was strict DER). */
export function signedAttributesBytes(signerInfo: SignerInfo): Uint8Array {
  if (!signerInfo.signedAttrs) throw new PkiError('MALFORMED_DER', 'SignerInfo has no signed attributes')
  return encodeDer(new AttributeSet(signerInfo.signedAttrs))
}

function issuerAndSerialMatches(sid: IssuerAndSerialNumber, certificate: Certificate): boolean {
  return (
    equalBytes(encodeDer(sid.issuer), encodeDer(certificate.tbsCertificate.issuer)) &&
    equalBytes(new Uint8Array(sid.serialNumber), new Uint8Array(certificate.tbsCertificate.serialNumber))
  )
}

function issuerSerialMatches(issuerSerial: IssuerSerial | undefined, certificate: Certificate): boolean {
  if (!issuerSerial) return true
  const names = issuerSerial.issuer
  const name = names.length === 1 ? names[0]?.directoryName : undefined
  return (
    name !== undefined &&
    equalBytes(encodeDer(name), encodeDer(certificate.tbsCertificate.issuer)) &&
    equalBytes(new Uint8Array(issuerSerial.serialNumber), new Uint8Array(certificate.tbsCertificate.serialNumber))
  )
}

/**
 * signing-certificate-v2 (RFC 5035) or, failing that, the v1 signing-certificate (RFC 2634, SHA-1) that RFC 5816
 * still allows in timestamp tokens. The first ESSCertID must name the signer certificate.
 */
function checkSigningCertificate(signerInfo: SignerInfo, certificate: Certificate, certDer: Uint8Array): CmsCheck {
  const v2 = findAttribute(signerInfo, CMS_OID.signingCertificateV2)
  const v1 = findAttribute(signerInfo, CMS_OID.signingCertificate)
  if (v2.count === 0 && v1.count === 0)
    return check('signing-certificate', 'skipped', 'no signing-certificate attribute')
  const { values, count } = v2.count > 0 ? v2 : v1
  const label = v2.count > 0 ? 'signing-certificate-v2' : 'signing-certificate'
  if (count !== 1 || values.length !== 1) {
    return check('signing-certificate', 'failed', `${label} must occur once with one value`)
  }
  let hash: DigestName | 'SHA-1'
  let certHash: Uint8Array
  let issuerSerial: IssuerSerial | undefined
  try {
    if (v2.count > 0) {
      const first = decodeDer(values[0]!, SigningCertificateV2, label).certs[0]
      if (!first) return check('signing-certificate', 'failed', `${label} lists no certificate`)
      if (first.hashAlgorithm && first.hashAlgorithm.algorithm === DIGEST_OID['SHA-256']) {
        // RFC 5035: DEFAULT must be omitted in DER; an explicit SHA-256 here means the signer is not DER-clean.
        return check('signing-certificate', 'failed', 'ESSCertIDv2 encodes the default SHA-256 hash algorithm')
      }
      hash = first.hashAlgorithm ? digestNameOf(first.hashAlgorithm) : 'SHA-256'
      certHash = new Uint8Array(first.certHash.buffer)
      issuerSerial = first.issuerSerial
    } else {
      const first = decodeDer(values[0]!, SigningCertificate, label).certs[0]
      if (!first) return check('signing-certificate', 'failed', `${label} lists no certificate`)
      hash = 'SHA-1'
      certHash = new Uint8Array(first.certHash.buffer)
      issuerSerial = first.issuerSerial
    }
  } catch (error) {
    if (!isPkiError(error)) throw error
    return check('signing-certificate', 'failed', `${label} is malformed or unsupported: ${error.message}`)
  }
  const expected = hash === 'SHA-1' ? sha1(certDer) : digest(hash, certDer)
  if (!equalBytes(certHash, expected)) {
    return check('signing-certificate', 'failed', `${label} certHash does not match the signer certificate`)
  }
  if (!issuerSerialMatches(issuerSerial, certificate)) {
    return check('signing-certificate', 'failed', `${label} issuerSerial does not name the signer`)
  }
  return check('signing-certificate', 'passed', `${label}: certificate hash (${hash}) and issuerSerial match`)
}

/** Intermediate CA certificates followed from the signer towards a trust anchor, at most. */
const MAX_INTERMEDIATES = 4

/** `child` names `issuer` as its issuer and `issuer`'s key verifies its signature. */
async function signedBy(child: Certificate, issuer: Certificate): Promise<boolean> {
  if (!equalBytes(encodeDer(issuer.tbsCertificate.subject), encodeDer(child.tbsCertificate.issuer))) return false
  return verifyStructure(
    child.signatureAlgorithm,
    issuer.tbsCertificate.subjectPublicKeyInfo,
    encodeDer(child.tbsCertificate),
    new Uint8Array(child.signatureValue),
  ).catch((error: unknown) => {
    if (isPkiError(error)) return false
    throw error
  })
}

function isCaCertificate(certificate: Certificate): boolean {
  const extension = certificate.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_basicConstraints)
  if (!extension) return false
  try {
    return decodeDer(new Uint8Array(extension.extnValue.buffer), BasicConstraints, 'basicConstraints').cA
  } catch (error) {
    if (isPkiError(error)) return false
    throw error
  }
}

/**
 * Whether the signer's certificate chains to one of `trusted`: directly, or through CA certificates (basicConstraints
 * cA) the SignedData carries, each signature checked. Names and signatures only: validity periods and revocation are
 * the validation report's business.
 */
async function checkTrust(
  certificate: Certificate,
  certDer: Uint8Array,
  trusted: readonly Uint8Array[],
  carried: readonly Certificate[],
) {
  for (const anchorDer of trusted) {
    if (equalBytes(anchorDer, certDer)) return check('trust', 'passed', 'the signer certificate is a trust anchor')
  }
  const anchors = trusted.map((der) => decodeCertificate(der, 'trust anchor'))
  const path: Certificate[] = []
  let current = certificate
  for (let depth = 0; depth <= MAX_INTERMEDIATES; depth++) {
    for (const anchor of anchors) {
      if (await signedBy(current, anchor)) {
        return check(
          'trust',
          'passed',
          depth === 0
            ? 'the signer certificate is issued by a trust anchor'
            : `the signer certificate chains to a trust anchor through ${depth} CA certificate(s) carried in the SignedData`,
        )
      }
    }
    let next: Certificate | undefined
    for (const candidate of carried) {
      if (candidate === current || path.includes(candidate) || !isCaCertificate(candidate)) continue
      if (await signedBy(current, candidate)) {
        next = candidate
        break
      }
    }
    if (!next) break
    path.push(next)
    current = next
  }
  return check('trust', 'failed', 'the signer certificate does not chain to a trust anchor')
}

/**
 * Verifies the first SignerInfo of a CMS SignedData. Throws a PkiError only for input that is not strict-DER
 * SignedData; every other fault is reported as a failed check.
 */
export async function verifyCms(der: Uint8Array, options: VerifyCmsOptions = {}): Promise<CmsVerification> {
  const { signedData, gmt0010 } = parseCms(der)
  const checks: CmsCheck[] = []
  const fail = (name: CmsCheckName, reason: string, extra: Partial<CmsVerification> = {}): CmsVerification => {
    checks.push(check(name, 'failed', reason))
    return { valid: false, checks, ...extra }
  }

  const eci = signedData.encapContentInfo
  const contentType = eci.eContentType
  const isData = contentType === (gmt0010 ? CMS_OID.gmData : CMS_OID.data)
  const expectedVersion = isData ? CMSVersion.v1 : CMSVersion.v3
  if (signedData.version !== expectedVersion) {
    return fail('structure', `SignedData version ${signedData.version}, expected ${expectedVersion}`, { contentType })
  }
  if (signedData.signerInfos.length !== 1) {
    return fail('structure', `${signedData.signerInfos.length} SignerInfos; exactly one is supported`, { contentType })
  }
  const signerInfo = signedData.signerInfos[0]!
  const sid = signerInfo.sid.issuerAndSerialNumber
  if (signerInfo.version !== CMSVersion.v1 || !sid) {
    return fail('structure', 'SignerInfo must be v1 with IssuerAndSerialNumber', { contentType })
  }

  let content: Uint8Array
  if (eci.eContent) {
    if (!eci.eContent.single) return fail('structure', 'eContent is not an OCTET STRING', { contentType })
    if (options.content) return fail('structure', 'content supplied for a signature that is not detached')
    content = new Uint8Array(eci.eContent.single.buffer)
  } else {
    if (!options.content) return fail('structure', 'detached signature: the content must be supplied', { contentType })
    content = options.content
  }

  let hash: DigestName
  let signatureAlgorithm: SignatureAlgorithm
  let signatureIdentifier = signerInfo.signatureAlgorithm
  try {
    hash = digestNameOf(signerInfo.digestAlgorithm)
    signatureIdentifier = cmsSignatureIdentifier(signatureIdentifier, hash)
    signatureAlgorithm = signatureAlgorithmOf(signatureIdentifier)
  } catch (error) {
    if (!isPkiError(error)) throw error
    return fail('structure', error.message, { contentType, content })
  }
  if (digestForSignature(signatureAlgorithm) !== hash) {
    return fail('structure', `digest ${hash} does not go with ${signatureAlgorithm}`, { contentType, content })
  }
  const listed = signedData.digestAlgorithms.map((a) => a.algorithm)
  if (listed.length !== 1 || listed[0] !== DIGEST_OID[hash]) {
    return fail('structure', 'digestAlgorithms does not list exactly the signer digest', { contentType, content })
  }

  const certificates = (signedData.certificates ?? []).flatMap((c) => (c.certificate ? [c.certificate] : []))
  const certificate = certificates.find((c) => issuerAndSerialMatches(sid, c))
  if (!certificate)
    return fail('structure', 'the signer certificate is not in the SignedData', { contentType, content })
  const certDer = encodeDer(certificate)
  const base = { contentType, content, signerCertificate: certDer, signatureAlgorithm }

  let signedBytes: Uint8Array
  let signingTime: Date | undefined
  try {
    signedBytes = signedAttributesBytes(signerInfo)
    const ct = decodeDer(
      singleValue(signerInfo, CMS_OID.contentType, 'content-type'),
      ObjectIdentifierValue,
      'content-type',
    )
    if (ct.value !== contentType)
      throw new PkiError('MALFORMED_DER', 'content-type attribute differs from eContentType')
    const md = decodeDer(
      singleValue(signerInfo, CMS_OID.messageDigest, 'message-digest'),
      OctetString,
      'message-digest',
    )
    const times = findAttribute(signerInfo, CMS_OID.signingTime)
    if (times.count > 1 || times.values.length > 1) throw new PkiError('MALFORMED_DER', 'signing-time occurs twice')
    if (times.values[0]) signingTime = decodeDer(times.values[0], Time, 'signing-time').getTime()
    checks.push(check('structure', 'passed', `SignedData v${signedData.version}, one SignerInfo`))
    if (equalBytes(new Uint8Array(md.buffer), digest(hash, content))) {
      checks.push(check('content-digest', 'passed', `${hash} of the content matches message-digest`))
    } else {
      checks.push(check('content-digest', 'failed', `${hash} of the content does not match message-digest`))
    }
  } catch (error) {
    if (!isPkiError(error)) throw error
    return fail('structure', error.message, base)
  }

  const signatureOk = await verifyStructure(
    signatureIdentifier,
    certificate.tbsCertificate.subjectPublicKeyInfo,
    signedBytes,
    new Uint8Array(signerInfo.signature.buffer),
  )
  checks.push(
    signatureOk
      ? check('signature', 'passed', `${signatureAlgorithm} signature over the signed attributes verifies`)
      : check('signature', 'failed', `${signatureAlgorithm} signature over the signed attributes does not verify`),
  )

  const essCheck = checkSigningCertificate(signerInfo, certificate, certDer)
  checks.push(
    essCheck.status === 'skipped' && options.requireSigningCertificate
      ? check('signing-certificate', 'failed', 'a signing-certificate attribute is required and absent')
      : essCheck,
  )

  if (options.trusted) checks.push(await checkTrust(certificate, certDer, options.trusted, certificates))
  else checks.push(check('trust', 'skipped', 'no trust anchors given'))

  const valid = checks.every((c) => c.status !== 'failed')
  return { valid, checks, ...base, signingTime }
}
