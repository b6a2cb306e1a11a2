import { AlgorithmIdentifier, Certificate, Time, Version } from '@peculiar/asn1-x509'
import { equalBytes, type SignatureAlgorithm, type Signer } from '@yiqian/gm'
import { signatureAlgorithmIdentifier, signatureAlgorithmOf, verifyStructure } from '../algorithms.js'
import { type DerLimits, decodeDer, encodeDer } from '../der.js'
import { isPkiError, PkiError } from '../errors.js'
import { derBitString, derIntegerOf, derTime, sequence, spkiParts, tlv } from './der-build.js'
import {
  type ExtensionsInput,
  encodeExtensions,
  keyIdentifierOf,
  type ParsedExtensions,
  parseExtensions,
} from './extensions.js'
import { encodeName, type NameList, nameToList, nameToString } from './name.js'
import { fromPem, toPem } from './pem.js'
import { checkSerial, generateSerial, type SerialInput, serialToBytes, serialToHex } from './serial.js'

/** A signature algorithm as read: our name for it when we support it, always the OID. */
export interface SignatureAlgorithmView {
  readonly oid: string
  readonly name?: SignatureAlgorithm
  readonly der: Uint8Array
}

export interface ParsedCertificate {
  readonly der: Uint8Array
  /** 1, 2 or 3. */
  readonly version: number
  readonly serial: Uint8Array
  readonly serialHex: string
  readonly issuer: NameList
  readonly issuerString: string
  readonly issuerDer: Uint8Array
  readonly subject: NameList
  readonly subjectString: string
  readonly subjectDer: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
  readonly subjectPublicKeyInfo: Uint8Array
  readonly signatureAlgorithm: SignatureAlgorithmView
  readonly extensions: ParsedExtensions
  readonly tbsDer: Uint8Array
  readonly signature: Uint8Array
}

export interface BuildCertificateOptions {
  /** The issuing CA's certificate, or a name for a self-signed root (then `signer` is the subject's own key). */
  readonly issuer: NameList | ParsedCertificate | Uint8Array
  readonly subject: NameList
  readonly subjectPublicKey: Uint8Array
  readonly serial?: SerialInput
  readonly notBefore: Date
  readonly notAfter: Date
  readonly extensions?: ExtensionsInput
  readonly signer: Signer
  /** Leave out the automatic subject/authority key identifiers (both default on). */
  readonly omitKeyIdentifiers?: boolean
}

export function algorithmView(identifier: AlgorithmIdentifier): SignatureAlgorithmView {
  let name: SignatureAlgorithm | undefined
  try {
    name = signatureAlgorithmOf(identifier)
  } catch (error) {
    if (!isPkiError(error, 'UNSUPPORTED_ALGORITHM')) throw error
  }
  const view = { oid: identifier.algorithm, der: encodeDer(identifier) }
  return name === undefined ? view : { ...view, name }
}

/** RFC 5280 §4.1.2.5: whole seconds, UTCTime through 2049 and GeneralizedTime from 2050 (Time does the switch). */
export function timeOf(date: Date, what: string): Time {
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw new PkiError('INVALID_ARGUMENT', `${what} is not a date`)
  const year = date.getUTCFullYear()
  if (year < 1950 || year > 9999) throw new PkiError('INVALID_ARGUMENT', `${what} is outside 1950..9999`)
  return new Time(new Date(Math.floor(date.getTime() / 1000) * 1000))
}

const sigAlgCache = new Map<SignatureAlgorithm, Uint8Array>()

/** The AlgorithmIdentifier DER for `algorithm` (encoded once per algorithm). */
export function signatureAlgorithmDer(algorithm: SignatureAlgorithm): Uint8Array {
  let der = sigAlgCache.get(algorithm)
  if (!der) {
    der = encodeDer(signatureAlgorithmIdentifier(algorithm))
    sigAlgCache.set(algorithm, der)
  }
  return der
}

const VERSION_3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02)

/**
 * Issues an X.509 v3 certificate signed by `signer` (the issuer's key) and returns its DER. The TBSCertificate is
 * written directly as DER (the extensions through the schema encoder), signed once, and wrapped by concatenation:
 * the same bytes the schema encoder produces, at a fraction of the cost (certificate.fast.test.ts compares them).
 */
export async function buildCertificate(options: BuildCertificateOptions): Promise<Uint8Array> {
  const { subject, subjectPublicKey, notBefore, notAfter, signer, extensions = {} } = options
  const issuerCert =
    options.issuer instanceof Uint8Array
      ? parseCertificate(options.issuer)
      : Array.isArray(options.issuer)
        ? undefined
        : (options.issuer as ParsedCertificate)
  const issuerName = issuerCert ? issuerCert.subjectDer : encodeName(options.issuer as NameList)
  const validity = sequence(derTime(checkTime(notBefore, 'notBefore')), derTime(checkTime(notAfter, 'notAfter')))
  if (notAfter.getTime() < notBefore.getTime()) throw new PkiError('INVALID_ARGUMENT', 'notAfter is before notBefore')
  // Checked as a SubjectPublicKeyInfo (shape, algorithm, BIT STRING) and embedded as given.
  const { key } = spkiParts(subjectPublicKey, 'subject public key')
  const withIds: ExtensionsInput = options.omitKeyIdentifiers
    ? extensions
    : {
        ...extensions,
        subjectKeyIdentifier: extensions.subjectKeyIdentifier ?? sha1(key),
        authorityKeyIdentifier:
          extensions.authorityKeyIdentifier ??
          issuerCert?.extensions.subjectKeyIdentifier?.keyIdentifier ??
          keyIdentifierOf(await signer.publicKey()),
      }
  const list = encodeExtensions(withIds)
  const sigAlg = signatureAlgorithmDer(signer.algorithm)
  const serial = serialToBytes(options.serial ?? generateSerial())
  const subjectName = encodeName(subject)
  const tbs = sequence(
    VERSION_3,
    derIntegerOf(serial),
    sigAlg,
    issuerName,
    validity,
    subjectName,
    subjectPublicKey,
    ...(list.length > 0 ? [tlv(0xa3, sequence(...list))] : []),
  )
  const signature = await signer.sign(tbs)
  return sequence(tbs, sigAlg, derBitString(signature))
}

function sha1(data: Uint8Array): Uint8Array {
  const crypto = globalThis.process.getBuiltinModule('node:crypto')
  return new Uint8Array(crypto.createHash('sha1').update(data).digest())
}

/** The checks timeOf makes, returning the date rounded down to whole seconds. */
function checkTime(date: Date, what: string): Date {
  return timeOf(date, what).getTime()
}

export function bufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer
}

/**
 * Parses a DER certificate strictly and checks the X.509 rules a parser must: version 1..3, extensions only in v3,
 * no repeated extension, a positive serial of at most 20 octets, and the same algorithm inside and outside the
 * signed part. The signature is not checked here (see verifyCertificateSignature).
 */
export function parseCertificate(der: Uint8Array, limits?: DerLimits): ParsedCertificate {
  const cert = decodeDer(der, Certificate, 'certificate', limits)
  const tbs = cert.tbsCertificate
  if (tbs.version !== Version.v1 && tbs.version !== Version.v2 && tbs.version !== Version.v3) {
    throw new PkiError('INVALID_CERTIFICATE', `certificate version ${tbs.version} is not 1, 2 or 3`)
  }
  if (tbs.extensions && tbs.version !== Version.v3) {
    throw new PkiError('INVALID_CERTIFICATE', 'extensions in a certificate that is not version 3')
  }
  if (tbs.extensions && tbs.extensions.length === 0) {
    throw new PkiError('INVALID_CERTIFICATE', 'empty extensions (RFC 5280 requires at least one when present)')
  }
  if ((tbs.issuerUniqueID || tbs.subjectUniqueID) && tbs.version === Version.v1) {
    throw new PkiError('INVALID_CERTIFICATE', 'unique identifiers in a version 1 certificate')
  }
  const serial = new Uint8Array(tbs.serialNumber)
  checkSerial(serial, 'INVALID_CERTIFICATE')
  const inner = encodeDer(tbs.signature)
  const outer = encodeDer(cert.signatureAlgorithm)
  if (!equalBytes(inner, outer)) {
    throw new PkiError('INVALID_CERTIFICATE', 'signature algorithm differs between tbsCertificate and certificate')
  }
  const issuer = nameToList(tbs.issuer)
  const subject = nameToList(tbs.subject)
  return {
    der: der.slice(),
    version: tbs.version + 1,
    serial,
    serialHex: serialToHex(serial),
    issuer,
    issuerString: nameToString(issuer),
    issuerDer: encodeDer(tbs.issuer),
    subject,
    subjectString: nameToString(subject),
    subjectDer: encodeDer(tbs.subject),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    subjectPublicKeyInfo: encodeDer(tbs.subjectPublicKeyInfo),
    signatureAlgorithm: algorithmView(cert.signatureAlgorithm),
    extensions: parseExtensions(tbs.extensions ?? [], 'certificate'),
    tbsDer: cert.tbsCertificateRaw ? new Uint8Array(cert.tbsCertificateRaw) : encodeDer(tbs),
    signature: new Uint8Array(cert.signatureValue),
  }
}

function asCertificate(cert: ParsedCertificate | Uint8Array): ParsedCertificate {
  return cert instanceof Uint8Array ? parseCertificate(cert) : cert
}

/**
 * Whether `cert` is signed by the key in `issuer` (a SubjectPublicKeyInfo DER or the issuing certificate). SM2 uses
 * the default signer ID 1234567812345678 unless `sm2Id` says otherwise (path validation passes the caller's).
 * UNSUPPORTED_ALGORITHM when the algorithm is not one of ours.
 */
export async function verifyCertificateSignature(
  cert: ParsedCertificate | Uint8Array,
  issuer: Uint8Array | ParsedCertificate,
  options: { readonly sm2Id?: string | Uint8Array } = {},
): Promise<boolean> {
  const parsed = asCertificate(cert)
  const spki = issuer instanceof Uint8Array ? issuer : issuer.subjectPublicKeyInfo
  const algorithm = decodeDer(parsed.signatureAlgorithm.der, AlgorithmIdentifier, 'signature algorithm')
  return verifyStructure(algorithm, spki, parsed.tbsDer, parsed.signature, options)
}

export function certificateToPem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE')
}

export function certificateFromPem(pem: string): Uint8Array {
  return fromPem(pem, 'CERTIFICATE')
}
