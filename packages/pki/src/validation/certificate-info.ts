import { AsnConvert } from '@peculiar/asn1-schema'
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  type Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  type Name,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509'
import { decodeDer, encodeDer } from '../der.js'
import { PkiError } from '../errors.js'

/** A parsed certificate with the pieces path validation and OCSP keep asking for, decoded once. */
export interface CertificateInfo {
  readonly der: Uint8Array
  readonly certificate: Certificate
  readonly tbs: Uint8Array
  readonly subjectDer: Uint8Array
  readonly issuerDer: Uint8Array
  readonly subject: string
  readonly issuer: string
  /** Serial number in lower-case hex, as OpenSSL's index and OCSP CertIDs carry it. */
  readonly serial: string
  readonly serialBytes: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
  readonly extensions: readonly Extension[]
  readonly basicConstraints?: BasicConstraints
  /** KeyUsageFlags bits, or undefined when the extension is absent (no restriction). */
  readonly keyUsage?: number
  readonly extKeyUsage?: readonly string[]
  readonly subjectKeyId?: Uint8Array
  readonly authorityKeyId?: Uint8Array
  /** The subject public key's BIT STRING contents, hashed into OCSP CertIDs and byKey responder IDs. */
  readonly publicKeyBytes: Uint8Array
}

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
}

/** A readable one-line name for reports ("CN=Root, O=Hospital"); never used for comparison. */
export function nameToString(name: Name): string {
  const parts: string[] = []
  for (const rdn of name) {
    for (const atv of rdn) {
      let value: string
      try {
        value = atv.value.toString()
      } catch {
        value = '#'
      }
      parts.push(`${SHORT_NAMES[atv.type] ?? atv.type}=${value}`)
    }
  }
  return parts.join(', ')
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Serial numbers compare as unsigned integers: drop the DER sign padding. */
export function serialHex(bytes: Uint8Array): string {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  return toHex(bytes.subarray(i)) || '00'
}

function parseExtension<T>(ext: Extension, schema: new () => T, what: string): T {
  try {
    return AsnConvert.parse(ext.extnValue.buffer, schema)
  } catch (cause) {
    throw new PkiError('INVALID_CERTIFICATE', `${what} extension is malformed`, { cause })
  }
}

export function parseCertificateInfo(der: Uint8Array, what = 'certificate'): CertificateInfo {
  const certificate = decodeDer(der, Certificate, what)
  const tbsCert = certificate.tbsCertificate
  const tbs = certificate.tbsCertificateRaw
    ? new Uint8Array(certificate.tbsCertificateRaw)
    : encodeDer(certificate.tbsCertificate)
  const extensions = tbsCert.extensions ?? []
  const seen = new Set<string>()
  let basicConstraints: BasicConstraints | undefined
  let keyUsage: number | undefined
  let extKeyUsage: string[] | undefined
  let subjectKeyId: Uint8Array | undefined
  let authorityKeyId: Uint8Array | undefined
  for (const ext of extensions) {
    // RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
    if (seen.has(ext.extnID)) throw new PkiError('INVALID_CERTIFICATE', `${what} repeats extension ${ext.extnID}`)
    seen.add(ext.extnID)
    switch (ext.extnID) {
      case id_ce_basicConstraints:
        basicConstraints = parseExtension(ext, BasicConstraints, 'basicConstraints')
        break
      case id_ce_keyUsage:
        keyUsage = parseExtension(ext, KeyUsage, 'keyUsage').toNumber()
        break
      case id_ce_extKeyUsage:
        extKeyUsage = Array.from(parseExtension(ext, ExtendedKeyUsage, 'extKeyUsage'))
        break
      case id_ce_subjectKeyIdentifier:
        subjectKeyId = new Uint8Array(parseExtension(ext, SubjectKeyIdentifier, 'subjectKeyIdentifier').buffer)
        break
      case id_ce_authorityKeyIdentifier: {
        const aki = parseExtension(ext, AuthorityKeyIdentifier, 'authorityKeyIdentifier')
        if (aki.keyIdentifier) authorityKeyId = new Uint8Array(aki.keyIdentifier.buffer)
        break
      }
    }
  }
  const serialBytes = new Uint8Array(tbsCert.serialNumber)
  return {
    der,
    certificate,
    tbs,
    subjectDer: encodeDer(tbsCert.subject),
    issuerDer: encodeDer(tbsCert.issuer),
    subject: nameToString(tbsCert.subject),
    issuer: nameToString(tbsCert.issuer),
    serial: serialHex(serialBytes),
    serialBytes,
    notBefore: tbsCert.validity.notBefore.getTime(),
    notAfter: tbsCert.validity.notAfter.getTime(),
    extensions,
    ...(basicConstraints && { basicConstraints }),
    ...(keyUsage !== undefined && { keyUsage }),
    ...(extKeyUsage && { extKeyUsage }),
    ...(subjectKeyId && { subjectKeyId }),
    ...(authorityKeyId && { authorityKeyId }),
    publicKeyBytes: new Uint8Array(tbsCert.subjectPublicKeyInfo.subjectPublicKey),
  }
}
