import { OctetString } from '@peculiar/asn1-schema'
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DirectoryString,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  PolicyInformation,
  PolicyQualifierInfo,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509'
import { decodeDer, encodeDer } from '../der.js'
import { PkiError } from '../errors.js'
import { derOctetString, derOid, derSmallInteger, sequence, spkiParts, tlv } from './der-build.js'

export const EXTENSION_OIDS = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  certificatePolicies: '2.5.29.32',
  subjectAltName: '2.5.29.17',
  /** GM/T 0015 个人身份标识码 (resident ID-card number). */
  idCardNumber: '1.2.156.10260.4.1.1',
  /** GM/T 0015 个人社会保险号. */
  socialInsuranceNumber: '1.2.156.10260.4.1.2',
} as const

const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1'
const ID_AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2'
const ID_QT_CPS = '1.3.6.1.5.5.7.2.1'

/** RFC 5280 keyUsage bit names, in bit order. */
export const KEY_USAGES = [
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
export type KeyUsageName = (typeof KEY_USAGES)[number]

export const EXT_KEY_USAGE_OIDS: Readonly<Record<string, string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
}

export type AltName = { readonly email: string } | { readonly dns: string } | { readonly uri: string }

/** An extension given as its OID and DER value, e.g. a health-system staff identifier. */
export interface RawExtension {
  readonly oid: string
  readonly critical: boolean
  readonly value: Uint8Array
}

/** What a certificate (or a CSR's extensionRequest) should carry. Key usage is always marked critical. */
export interface ExtensionsInput {
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number; readonly critical?: boolean }
  readonly keyUsage?: readonly KeyUsageName[]
  /** Purposes as OIDs or the names in EXT_KEY_USAGE_OIDS. */
  readonly extKeyUsage?: readonly string[]
  /** Explicit key identifier; certificates get one computed from the subject key (RFC 5280 method 1) otherwise. */
  readonly subjectKeyIdentifier?: Uint8Array
  readonly authorityKeyIdentifier?: Uint8Array
  readonly crlDistributionPoints?: readonly string[]
  readonly authorityInfoAccess?: { readonly ocsp?: readonly string[]; readonly caIssuers?: readonly string[] }
  readonly certificatePolicies?: readonly { readonly oid: string; readonly cps?: string }[]
  readonly subjectAltName?: readonly AltName[]
  /** GM/T 0015 ID-card number extension; the value is written as a UTF8String (see identityValue). */
  readonly idCardNumber?: string
  readonly socialInsuranceNumber?: string
  readonly custom?: readonly RawExtension[]
}

interface Flagged {
  readonly critical: boolean
}

/** Extensions as read back: the known ones decoded, everything else kept raw with its OID. */
export interface ParsedExtensions {
  basicConstraints?: Flagged & { ca: boolean; pathLength?: number }
  keyUsage?: Flagged & { usages: KeyUsageName[] }
  extKeyUsage?: Flagged & { purposes: string[] }
  subjectKeyIdentifier?: Flagged & { keyIdentifier: Uint8Array }
  authorityKeyIdentifier?: Flagged & { keyIdentifier?: Uint8Array }
  crlDistributionPoints?: Flagged & { uris: string[] }
  authorityInfoAccess?: Flagged & { ocsp: string[]; caIssuers: string[] }
  certificatePolicies?: Flagged & { policies: { oid: string; cps?: string }[] }
  subjectAltName?: Flagged & { names: AltName[] }
  idCardNumber?: Flagged & { value: string }
  socialInsuranceNumber?: Flagged & { value: string }
  /** Extensions we do not decode, in order. */
  unknown: RawExtension[]
  /** Every extension in encoded order, raw. */
  all: RawExtension[]
}

function ext(oid: string, critical: boolean, value: object | Uint8Array): Extension {
  const der = value instanceof Uint8Array ? value : encodeDer(value)
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(der) })
}

function checkUri(uri: string): string {
  if (typeof uri !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(uri)) {
    throw new PkiError('INVALID_ARGUMENT', `not an ASCII URI: ${uri}`)
  }
  return uri
}

function checkOid(oid: string): string {
  if (typeof oid !== 'string' || !/^[0-2](\.(0|[1-9]\d*))+$/.test(oid)) {
    throw new PkiError('INVALID_ARGUMENT', `not a dotted OID: ${oid}`)
  }
  return oid
}

function generalName(name: AltName): GeneralName {
  if ('email' in name) return new GeneralName({ rfc822Name: checkAscii(name.email) })
  if ('dns' in name) return new GeneralName({ dNSName: checkAscii(name.dns) })
  if ('uri' in name) return new GeneralName({ uniformResourceIdentifier: checkUri(name.uri) })
  throw new PkiError('INVALID_ARGUMENT', 'subjectAltName entries are { email }, { dns } or { uri }')
}

function checkAscii(text: string): string {
  if (typeof text !== 'string' || !/^[\x21-\x7e]+$/.test(text))
    throw new PkiError('INVALID_ARGUMENT', `not ASCII: ${text}`)
  return text
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (what OpenSSL computes too). */
export function keyIdentifierOf(spkiDer: Uint8Array): Uint8Array {
  // Only the BIT STRING is needed: read it without a schema decode and re-encode (this runs per certificate).
  const { key } = spkiParts(spkiDer)
  const crypto = globalThis.process.getBuiltinModule('node:crypto')
  return new Uint8Array(crypto.createHash('sha1').update(key).digest())
}

/** Encodes the requested extensions in a fixed, conventional order. */
export function buildExtensions(input: ExtensionsInput): Extension[] {
  const list: Extension[] = []
  const O = EXTENSION_OIDS
  if (input.basicConstraints) {
    const { ca, pathLength, critical = true } = input.basicConstraints
    if (pathLength !== undefined && (!ca || !Number.isSafeInteger(pathLength) || pathLength < 0)) {
      throw new PkiError('INVALID_ARGUMENT', 'pathLength needs ca: true and a non-negative integer')
    }
    list.push(ext(O.basicConstraints, critical, new BasicConstraints({ cA: ca, pathLenConstraint: pathLength })))
  }
  if (input.keyUsage) {
    let flags = 0
    for (const usage of input.keyUsage) {
      const bit = KEY_USAGES.indexOf(usage)
      if (bit < 0) throw new PkiError('INVALID_ARGUMENT', `unknown key usage ${usage}`)
      flags |= 1 << bit
    }
    if (flags === 0) throw new PkiError('INVALID_ARGUMENT', 'keyUsage needs at least one usage')
    list.push(ext(O.keyUsage, true, new KeyUsage(flags)))
  }
  if (input.extKeyUsage) {
    const oids = input.extKeyUsage.map((p) => EXT_KEY_USAGE_OIDS[p] ?? checkOid(p))
    list.push(ext(O.extKeyUsage, false, new ExtendedKeyUsage(oids)))
  }
  if (input.subjectKeyIdentifier) {
    list.push(ext(O.subjectKeyIdentifier, false, new SubjectKeyIdentifier(input.subjectKeyIdentifier)))
  }
  if (input.authorityKeyIdentifier) {
    const aki = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(input.authorityKeyIdentifier) })
    list.push(ext(O.authorityKeyIdentifier, false, aki))
  }
  if (input.subjectAltName) {
    if (input.subjectAltName.length === 0) throw new PkiError('INVALID_ARGUMENT', 'subjectAltName is empty')
    list.push(ext(O.subjectAltName, false, new SubjectAlternativeName(input.subjectAltName.map(generalName))))
  }
  if (input.crlDistributionPoints) {
    const points = input.crlDistributionPoints.map(
      (uri) =>
        new DistributionPoint({
          distributionPoint: new DistributionPointName({
            fullName: [new GeneralName({ uniformResourceIdentifier: checkUri(uri) })],
          }),
        }),
    )
    list.push(ext(O.crlDistributionPoints, false, new CRLDistributionPoints(points)))
  }
  if (input.authorityInfoAccess) {
    const { ocsp = [], caIssuers = [] } = input.authorityInfoAccess
    const access = [
      ...ocsp.map((uri) => [ID_AD_OCSP, uri] as const),
      ...caIssuers.map((uri) => [ID_AD_CA_ISSUERS, uri] as const),
    ].map(
      ([method, uri]) =>
        new AccessDescription({
          accessMethod: method,
          accessLocation: new GeneralName({ uniformResourceIdentifier: checkUri(uri) }),
        }),
    )
    list.push(ext(O.authorityInfoAccess, false, new AuthorityInfoAccessSyntax(access)))
  }
  if (input.certificatePolicies) {
    const policies = input.certificatePolicies.map(
      ({ oid, cps }) =>
        new PolicyInformation({
          policyIdentifier: checkOid(oid),
          policyQualifiers:
            cps === undefined
              ? undefined
              : [
                  new PolicyQualifierInfo({
                    policyQualifierId: ID_QT_CPS,
                    // CPSuri ::= IA5String
                    qualifier: ia5(checkUri(cps)).buffer as ArrayBuffer,
                  }),
                ],
        }),
    )
    list.push(ext(O.certificatePolicies, false, new CertificatePolicies(policies)))
  }
  if (input.idCardNumber !== undefined) list.push(ext(O.idCardNumber, false, identityValue(input.idCardNumber)))
  if (input.socialInsuranceNumber !== undefined) {
    list.push(ext(O.socialInsuranceNumber, false, identityValue(input.socialInsuranceNumber)))
  }
  for (const custom of input.custom ?? []) {
    if (!(custom.value instanceof Uint8Array)) throw new PkiError('INVALID_ARGUMENT', 'custom extension value is DER')
    list.push(ext(checkOid(custom.oid), custom.critical === true, custom.value))
  }
  const seen = new Set<string>()
  for (const e of list) {
    if (seen.has(e.extnID)) throw new PkiError('INVALID_ARGUMENT', `extension ${e.extnID} given twice`)
    seen.add(e.extnID)
  }
  return list
}

const asciiBytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))
const TRUE = Uint8Array.of(0x01, 0x01, 0xff)

/** One Extension's DER: critical written only when true (DER leaves out the DEFAULT FALSE). */
function extDer(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(derOid(oid), ...(critical ? [TRUE] : []), derOctetString(value))
}

function generalNameDer(name: AltName): Uint8Array {
  if ('email' in name) return tlv(0x81, asciiBytes(checkAscii(name.email)))
  if ('dns' in name) return tlv(0x82, asciiBytes(checkAscii(name.dns)))
  if ('uri' in name) return tlv(0x86, asciiBytes(checkUri(name.uri)))
  throw new PkiError('INVALID_ARGUMENT', 'subjectAltName entries are { email }, { dns } or { uri }')
}

/** A named-bit BIT STRING in DER: trailing zero bits dropped, the unused-bits count saying how many. */
function namedBits(flags: number): Uint8Array {
  let highest = 0
  for (let bit = 0; bit < 16; bit++) if (flags & (1 << bit)) highest = bit
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1)
  for (let bit = 0; bit <= highest; bit++) if (flags & (1 << bit)) bytes[bit >> 3]! |= 0x80 >> (bit & 7)
  return tlv(0x03, Uint8Array.of(7 - (highest % 8)), bytes)
}

/**
 * The DER of each extension buildExtensions makes, in the same order and with the same checks, written directly
 * (certificate issuance is a hot path; certificate.fast.test.ts compares the two).
 */
export function encodeExtensions(input: ExtensionsInput): Uint8Array[] {
  const list: [string, Uint8Array][] = []
  const O = EXTENSION_OIDS
  if (input.basicConstraints) {
    const { ca, pathLength, critical = true } = input.basicConstraints
    if (pathLength !== undefined && (!ca || !Number.isSafeInteger(pathLength) || pathLength < 0)) {
      throw new PkiError('INVALID_ARGUMENT', 'pathLength needs ca: true and a non-negative integer')
    }
    const value = sequence(...(ca ? [TRUE] : []), ...(pathLength !== undefined ? [derSmallInteger(pathLength)] : []))
    list.push([O.basicConstraints, extDer(O.basicConstraints, critical, value)])
  }
  if (input.keyUsage) {
    let flags = 0
    for (const usage of input.keyUsage) {
      const bit = KEY_USAGES.indexOf(usage)
      if (bit < 0) throw new PkiError('INVALID_ARGUMENT', `unknown key usage ${usage}`)
      flags |= 1 << bit
    }
    if (flags === 0) throw new PkiError('INVALID_ARGUMENT', 'keyUsage needs at least one usage')
    list.push([O.keyUsage, extDer(O.keyUsage, true, namedBits(flags))])
  }
  if (input.extKeyUsage) {
    const oids = input.extKeyUsage.map((p) => derOid(EXT_KEY_USAGE_OIDS[p] ?? checkOid(p)))
    list.push([O.extKeyUsage, extDer(O.extKeyUsage, false, sequence(...oids))])
  }
  if (input.subjectKeyIdentifier) {
    const value = derOctetString(input.subjectKeyIdentifier)
    list.push([O.subjectKeyIdentifier, extDer(O.subjectKeyIdentifier, false, value)])
  }
  if (input.authorityKeyIdentifier) {
    const value = sequence(tlv(0x80, input.authorityKeyIdentifier))
    list.push([O.authorityKeyIdentifier, extDer(O.authorityKeyIdentifier, false, value)])
  }
  if (input.subjectAltName) {
    if (input.subjectAltName.length === 0) throw new PkiError('INVALID_ARGUMENT', 'subjectAltName is empty')
    const value = sequence(...input.subjectAltName.map(generalNameDer))
    list.push([O.subjectAltName, extDer(O.subjectAltName, false, value)])
  }
  if (input.crlDistributionPoints) {
    const points = input.crlDistributionPoints.map((uri) =>
      sequence(tlv(0xa0, tlv(0xa0, tlv(0x86, asciiBytes(checkUri(uri)))))),
    )
    list.push([O.crlDistributionPoints, extDer(O.crlDistributionPoints, false, sequence(...points))])
  }
  if (input.authorityInfoAccess) {
    const { ocsp = [], caIssuers = [] } = input.authorityInfoAccess
    const access = [
      ...ocsp.map((uri) => [ID_AD_OCSP, uri] as const),
      ...caIssuers.map((uri) => [ID_AD_CA_ISSUERS, uri] as const),
    ].map(([method, uri]) => sequence(derOid(method), tlv(0x86, asciiBytes(checkUri(uri)))))
    list.push([O.authorityInfoAccess, extDer(O.authorityInfoAccess, false, sequence(...access))])
  }
  if (input.certificatePolicies) {
    const policies = input.certificatePolicies.map(({ oid, cps }) =>
      sequence(
        derOid(checkOid(oid)),
        // CPSuri ::= IA5String
        ...(cps === undefined ? [] : [sequence(sequence(derOid(ID_QT_CPS), ia5(checkUri(cps))))]),
      ),
    )
    list.push([O.certificatePolicies, extDer(O.certificatePolicies, false, sequence(...policies))])
  }
  if (input.idCardNumber !== undefined) {
    list.push([O.idCardNumber, extDer(O.idCardNumber, false, identityDer(input.idCardNumber))])
  }
  if (input.socialInsuranceNumber !== undefined) {
    const value = identityDer(input.socialInsuranceNumber)
    list.push([O.socialInsuranceNumber, extDer(O.socialInsuranceNumber, false, value)])
  }
  for (const custom of input.custom ?? []) {
    if (!(custom.value instanceof Uint8Array)) throw new PkiError('INVALID_ARGUMENT', 'custom extension value is DER')
    const oid = checkOid(custom.oid)
    list.push([oid, extDer(oid, custom.critical === true, custom.value)])
  }
  const seen = new Set<string>()
  for (const [oid] of list) {
    if (seen.has(oid)) throw new PkiError('INVALID_ARGUMENT', `extension ${oid} given twice`)
    seen.add(oid)
  }
  return list.map(([, der]) => der)
}

function identityDer(value: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0)
    throw new PkiError('INVALID_ARGUMENT', 'identity number is empty')
  return tlv(0x0c, new TextEncoder().encode(value))
}

function ia5(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length > 127) throw new PkiError('INVALID_ARGUMENT', 'CPS URI longer than 127 bytes')
  return Uint8Array.of(0x16, bytes.length, ...bytes)
}

/**
 * GM/T 0015 identity numbers. We could not confirm the standard's exact ASN.1 type, so we write UTF8String (it is a
 * superset of the digits-and-X the numbers use) and accept PrintableString or UTF8String when reading.
 */
function identityValue(value: string): DirectoryString {
  if (typeof value !== 'string' || value.length === 0)
    throw new PkiError('INVALID_ARGUMENT', 'identity number is empty')
  return new DirectoryString({ utf8String: value })
}

function generalNameToAlt(name: GeneralName): AltName | undefined {
  if (name.rfc822Name !== undefined) return { email: name.rfc822Name }
  if (name.dNSName !== undefined) return { dns: name.dNSName }
  if (name.uniformResourceIdentifier !== undefined) return { uri: name.uniformResourceIdentifier }
  return undefined
}

/** Decodes extensions; duplicates are INVALID_CERTIFICATE, a malformed known extension is a DER error. */
export function parseExtensions(extensions: readonly Extension[], what: string): ParsedExtensions {
  const out: ParsedExtensions = { unknown: [], all: [] }
  const seen = new Set<string>()
  const O = EXTENSION_OIDS
  for (const e of extensions) {
    if (seen.has(e.extnID)) throw new PkiError('INVALID_CERTIFICATE', `${what} repeats extension ${e.extnID}`)
    seen.add(e.extnID)
    const value = new Uint8Array(e.extnValue.buffer)
    const critical = e.critical
    const raw: RawExtension = { oid: e.extnID, critical, value }
    out.all.push(raw)
    const label = `${what} extension ${e.extnID}`
    switch (e.extnID) {
      case O.basicConstraints: {
        const bc = decodeDer(value, BasicConstraints, label)
        out.basicConstraints = { critical, ca: bc.cA }
        if (bc.pathLenConstraint !== undefined) out.basicConstraints.pathLength = bc.pathLenConstraint
        break
      }
      case O.keyUsage: {
        const bits = new Uint8Array(decodeDer(value, KeyUsage, label).value)
        const usages = KEY_USAGES.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0)
        out.keyUsage = { critical, usages }
        break
      }
      case O.extKeyUsage:
        out.extKeyUsage = { critical, purposes: [...decodeDer(value, ExtendedKeyUsage, label)] }
        break
      case O.subjectKeyIdentifier:
        out.subjectKeyIdentifier = {
          critical,
          keyIdentifier: new Uint8Array(decodeDer(value, SubjectKeyIdentifier, label).buffer),
        }
        break
      case O.authorityKeyIdentifier: {
        const aki = decodeDer(value, AuthorityKeyIdentifier, label)
        out.authorityKeyIdentifier = { critical }
        if (aki.keyIdentifier) out.authorityKeyIdentifier.keyIdentifier = new Uint8Array(aki.keyIdentifier.buffer)
        break
      }
      case O.crlDistributionPoints: {
        const uris: string[] = []
        for (const point of decodeDer(value, CRLDistributionPoints, label)) {
          for (const name of point.distributionPoint?.fullName ?? []) {
            if (name.uniformResourceIdentifier !== undefined) uris.push(name.uniformResourceIdentifier)
          }
        }
        out.crlDistributionPoints = { critical, uris }
        break
      }
      case O.authorityInfoAccess: {
        const aia = { critical, ocsp: [] as string[], caIssuers: [] as string[] }
        for (const d of decodeDer(value, AuthorityInfoAccessSyntax, label)) {
          const uri = d.accessLocation.uniformResourceIdentifier
          if (uri === undefined) continue
          if (d.accessMethod === ID_AD_OCSP) aia.ocsp.push(uri)
          else if (d.accessMethod === ID_AD_CA_ISSUERS) aia.caIssuers.push(uri)
        }
        out.authorityInfoAccess = aia
        break
      }
      case O.certificatePolicies: {
        const policies = decodeDer(value, CertificatePolicies, label).map((p) => {
          const policy: { oid: string; cps?: string } = { oid: p.policyIdentifier }
          const cps = p.policyQualifiers?.find((q) => q.policyQualifierId === ID_QT_CPS)
          const q = cps ? new Uint8Array(cps.qualifier) : undefined
          if (q && q[0] === 0x16 && q.length >= 2 && q[1]! < 0x80) policy.cps = new TextDecoder().decode(q.subarray(2))
          return policy
        })
        out.certificatePolicies = { critical, policies }
        break
      }
      case O.subjectAltName: {
        const names = decodeDer(value, SubjectAlternativeName, label)
          .map(generalNameToAlt)
          .filter((n): n is AltName => n !== undefined)
        out.subjectAltName = { critical, names }
        break
      }
      case O.idCardNumber:
      case O.socialInsuranceNumber: {
        const s = decodeDer(value, DirectoryString, label)
        const text = s.utf8String ?? s.printableString
        if (text === undefined) throw new PkiError('INVALID_CERTIFICATE', `${label} is not a UTF8 or Printable string`)
        if (e.extnID === O.idCardNumber) out.idCardNumber = { critical, value: text }
        else out.socialInsuranceNumber = { critical, value: text }
        break
      }
      default:
        out.unknown.push(raw)
    }
  }
  return out
}
