import { OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BaseCRLNumber,
  CertificateList,
  CRLNumber,
  CRLReason,
  CRLReasons,
  Extension,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Version,
} from '@peculiar/asn1-x509'
import { equalBytes, type Signer } from '@yiqian/gm'
import { signatureAlgorithmIdentifier, signStructure, verifyStructure } from '../algorithms.js'
import { type DerLimits, decodeDer, encodeDer } from '../der.js'
import { PkiError } from '../errors.js'
import {
  algorithmView,
  bufferOf,
  type ParsedCertificate,
  parseCertificate,
  type SignatureAlgorithmView,
  timeOf,
} from './certificate.js'
import { EXTENSION_OIDS, keyIdentifierOf, type RawExtension } from './extensions.js'
import { buildName, type NameList, nameToList, nameToString } from './name.js'
import { fromPem, toPem } from './pem.js'
import { checkSerial, type SerialInput, serialToBytes, serialToHex } from './serial.js'

const CRL_NUMBER_OID = '2.5.29.20'
const DELTA_CRL_INDICATOR_OID = '2.5.29.27'
const REASON_CODE_OID = '2.5.29.21'

/** RFC 5280 §5.3.1 reason codes (7 is unused). */
export type RevocationReason = keyof typeof CRLReasons

export interface RevokedInput {
  readonly serial: SerialInput
  readonly date: Date
  /** Left out of the entry when absent or 'unspecified', as RFC 5280 asks. */
  readonly reason?: RevocationReason
}

export interface BuildCrlOptions {
  /** The CA certificate whose key signs the CRL, or its name. */
  readonly issuer: ParsedCertificate | Uint8Array | NameList
  readonly signer: Signer
  readonly thisUpdate: Date
  readonly nextUpdate: Date
  readonly crlNumber: number
  /** Makes this a delta CRL against the complete CRL with this number. */
  readonly deltaCrlIndicator?: number
  readonly revoked: readonly RevokedInput[]
}

export interface RevokedEntry {
  readonly serial: Uint8Array
  readonly serialHex: string
  readonly date: Date
  readonly reason?: RevocationReason
  /** Entry extensions other than the reason code, raw. */
  readonly otherExtensions: RawExtension[]
}

export interface ParsedCrl {
  readonly der: Uint8Array
  /** 1 or 2. */
  readonly version: number
  readonly issuer: NameList
  readonly issuerString: string
  readonly issuerDer: Uint8Array
  readonly thisUpdate: Date
  readonly nextUpdate?: Date
  readonly crlNumber?: number
  readonly deltaCrlIndicator?: number
  readonly authorityKeyIdentifier?: Uint8Array
  readonly revoked: RevokedEntry[]
  /** CRL extensions other than CRL number, delta indicator and AKI, raw. */
  readonly otherExtensions: RawExtension[]
  readonly signatureAlgorithm: SignatureAlgorithmView
  readonly tbsDer: Uint8Array
  readonly signature: Uint8Array
}

function ext(oid: string, value: object): Extension {
  return new Extension({
    extnID: oid,
    critical: oid === DELTA_CRL_INDICATOR_OID,
    extnValue: new OctetString(encodeDer(value)),
  })
}

function checkCrlNumber(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new PkiError('INVALID_ARGUMENT', `${what} must be a non-negative integer`)
  return n
}

/** Issues a v2 CRL with CRL number and authority key identifier, entries carrying reason codes. */
export async function buildCrl(options: BuildCrlOptions): Promise<Uint8Array> {
  const { signer, thisUpdate, nextUpdate, revoked } = options
  const issuerCert =
    options.issuer instanceof Uint8Array
      ? parseCertificate(options.issuer)
      : Array.isArray(options.issuer)
        ? undefined
        : (options.issuer as ParsedCertificate)
  const issuer = issuerCert
    ? decodeDer(issuerCert.subjectDer, Name, 'issuer name')
    : buildName(options.issuer as NameList)
  const [thisTime, nextTime] = [timeOf(thisUpdate, 'thisUpdate'), timeOf(nextUpdate, 'nextUpdate')]
  if (nextUpdate.getTime() < thisUpdate.getTime())
    throw new PkiError('INVALID_ARGUMENT', 'nextUpdate is before thisUpdate')
  const keyId = issuerCert?.extensions.subjectKeyIdentifier?.keyIdentifier ?? keyIdentifierOf(await signer.publicKey())
  const crlExtensions = [
    ext(EXTENSION_OIDS.authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
    ext(CRL_NUMBER_OID, new CRLNumber(checkCrlNumber(options.crlNumber, 'crlNumber'))),
  ]
  if (options.deltaCrlIndicator !== undefined) {
    crlExtensions.push(
      ext(DELTA_CRL_INDICATOR_OID, new BaseCRLNumber(checkCrlNumber(options.deltaCrlIndicator, 'deltaCrlIndicator'))),
    )
  }
  const seen = new Set<string>()
  const entries = revoked.map(({ serial, date, reason }) => {
    const bytes = serialToBytes(serial)
    const hex = serialToHex(bytes)
    if (seen.has(hex)) throw new PkiError('INVALID_ARGUMENT', `serial ${hex} listed twice`)
    seen.add(hex)
    const entry = new RevokedCertificate({
      userCertificate: bufferOf(bytes),
      revocationDate: timeOf(date, 'revocation date'),
    })
    if (reason !== undefined && reason !== 'unspecified') {
      const code = CRLReasons[reason]
      if (code === undefined) throw new PkiError('INVALID_ARGUMENT', `unknown revocation reason ${reason}`)
      entry.crlEntryExtensions = [ext(REASON_CODE_OID, new CRLReason(code))]
    }
    return entry
  })
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: signatureAlgorithmIdentifier(signer.algorithm),
    issuer,
    thisUpdate: thisTime,
    nextUpdate: nextTime,
    crlExtensions,
  })
  // An empty revokedCertificates SEQUENCE must be omitted, not encoded.
  if (entries.length > 0) tbs.revokedCertificates = entries
  const signed = await signStructure(signer, encodeDer(tbs))
  return encodeDer(
    new CertificateList({
      tbsCertList: tbs,
      signatureAlgorithm: signed.algorithm,
      signature: bufferOf(signed.signature),
    }),
  )
}

function reasonName(code: number): RevocationReason {
  const name = CRLReasons[code] as RevocationReason | undefined
  if (name === undefined) throw new PkiError('INVALID_CERTIFICATE', `unknown CRL reason code ${code}`)
  return name
}

/** Parses a CRL strictly: version 1 or 2 (extensions only in v2), no repeated extension, matching algorithms. */
export function parseCrl(der: Uint8Array, limits?: DerLimits): ParsedCrl {
  const list = decodeDer(der, CertificateList, 'CRL', limits)
  const tbs = list.tbsCertList
  const version = tbs.version ?? Version.v1
  if (version !== Version.v1 && version !== Version.v2)
    throw new PkiError('INVALID_CERTIFICATE', 'CRL version is not 1 or 2')
  const hasEntryExtensions = tbs.revokedCertificates?.some((r) => r.crlEntryExtensions !== undefined) ?? false
  if (version !== Version.v2 && (tbs.crlExtensions || hasEntryExtensions)) {
    throw new PkiError('INVALID_CERTIFICATE', 'extensions in a version 1 CRL')
  }
  if (!equalBytes(encodeDer(tbs.signature), encodeDer(list.signatureAlgorithm))) {
    throw new PkiError('INVALID_CERTIFICATE', 'signature algorithm differs between tbsCertList and CRL')
  }
  const rawOf = (e: Extension): RawExtension => ({
    oid: e.extnID,
    critical: e.critical,
    value: new Uint8Array(e.extnValue.buffer),
  })
  const unique = (exts: readonly Extension[], what: string) => {
    const seen = new Set<string>()
    for (const e of exts) {
      if (seen.has(e.extnID)) throw new PkiError('INVALID_CERTIFICATE', `${what} repeats extension ${e.extnID}`)
      seen.add(e.extnID)
    }
  }
  const crlExtensions = tbs.crlExtensions ?? []
  unique(crlExtensions, 'CRL')
  let crlNumber: number | undefined
  let deltaCrlIndicator: number | undefined
  let authorityKeyIdentifier: Uint8Array | undefined
  const otherExtensions: RawExtension[] = []
  for (const e of crlExtensions) {
    const raw = rawOf(e)
    if (e.extnID === CRL_NUMBER_OID) crlNumber = decodeDer(raw.value, CRLNumber, 'CRL number').value
    else if (e.extnID === DELTA_CRL_INDICATOR_OID) {
      deltaCrlIndicator = decodeDer(raw.value, BaseCRLNumber, 'delta CRL indicator').value
    } else if (e.extnID === EXTENSION_OIDS.authorityKeyIdentifier) {
      const aki = decodeDer(raw.value, AuthorityKeyIdentifier, 'CRL authority key identifier')
      if (aki.keyIdentifier) authorityKeyIdentifier = new Uint8Array(aki.keyIdentifier.buffer)
    } else otherExtensions.push(raw)
  }
  const revoked = (tbs.revokedCertificates ?? []).map((r): RevokedEntry => {
    const serial = new Uint8Array(r.userCertificate)
    checkSerial(serial, 'INVALID_CERTIFICATE')
    const exts = r.crlEntryExtensions ?? []
    unique(exts, 'CRL entry')
    let reason: RevocationReason | undefined
    const others: RawExtension[] = []
    for (const e of exts) {
      const raw = rawOf(e)
      if (e.extnID === REASON_CODE_OID) reason = reasonName(decodeDer(raw.value, CRLReason, 'CRL reason').reason)
      else others.push(raw)
    }
    const entry = { serial, serialHex: serialToHex(serial), date: r.revocationDate.getTime(), otherExtensions: others }
    return reason === undefined ? entry : { ...entry, reason }
  })
  const issuer = nameToList(tbs.issuer)
  const parsed: ParsedCrl = {
    der: der.slice(),
    version: version + 1,
    issuer,
    issuerString: nameToString(issuer),
    issuerDer: encodeDer(tbs.issuer),
    thisUpdate: tbs.thisUpdate.getTime(),
    revoked,
    otherExtensions,
    signatureAlgorithm: algorithmView(list.signatureAlgorithm),
    tbsDer: list.tbsCertListRaw ? new Uint8Array(list.tbsCertListRaw) : encodeDer(tbs),
    signature: new Uint8Array(list.signature),
  }
  return {
    ...parsed,
    ...(tbs.nextUpdate ? { nextUpdate: tbs.nextUpdate.getTime() } : {}),
    ...(crlNumber !== undefined ? { crlNumber } : {}),
    ...(deltaCrlIndicator !== undefined ? { deltaCrlIndicator } : {}),
    ...(authorityKeyIdentifier ? { authorityKeyIdentifier } : {}),
  }
}

/** Whether the CRL is signed by the key in `issuer` (SPKI DER or the issuing certificate); `sm2Id` as for certificates. */
export async function verifyCrlSignature(
  crl: ParsedCrl | Uint8Array,
  issuer: Uint8Array | ParsedCertificate,
  options: { readonly sm2Id?: string | Uint8Array } = {},
): Promise<boolean> {
  const parsed = crl instanceof Uint8Array ? parseCrl(crl) : crl
  const spki = issuer instanceof Uint8Array ? issuer : issuer.subjectPublicKeyInfo
  const algorithm = decodeDer(parsed.signatureAlgorithm.der, AlgorithmIdentifier, 'signature algorithm')
  return verifyStructure(algorithm, spki, parsed.tbsDer, parsed.signature, options)
}

/** The CRL entry for `serial` (bytes, bigint or hex), or undefined when it is not listed. */
export function isRevoked(crl: ParsedCrl, serial: SerialInput): RevokedEntry | undefined {
  const hex = serialToHex(serialToBytes(serial))
  return crl.revoked.find((entry) => entry.serialHex === hex)
}

export function crlToPem(der: Uint8Array): string {
  return toPem(der, 'X509 CRL')
}

export function crlFromPem(pem: string): Uint8Array {
  return fromPem(pem, 'X509 CRL')
}
