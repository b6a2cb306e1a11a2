import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr'
import { AlgorithmIdentifier, Attribute, Extensions, SubjectPublicKeyInfo } from '@peculiar/asn1-x509'
import type { Signer } from '@yiqian/gm'
import { signatureAlgorithmIdentifier, signStructure, verifyStructure } from '../algorithms.js'
import { type DerLimits, decodeDer, encodeDer } from '../der.js'
import { PkiError } from '../errors.js'
import { algorithmView, bufferOf, type SignatureAlgorithmView } from './certificate.js'
import { buildExtensions, type ExtensionsInput, type ParsedExtensions, parseExtensions } from './extensions.js'
import { buildName, type NameList, nameToList, nameToString } from './name.js'
import { fromPem, toPem } from './pem.js'

/** PKCS #9 extensionRequest: the extensions the applicant asks the CA to put into the certificate. */
export const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14'

export interface BuildCsrOptions {
  readonly subject: NameList
  /** The applicant's key: it signs the request, and its public key is the one requested. */
  readonly signer: Signer
  readonly extensions?: ExtensionsInput
}

export interface ParsedCsr {
  readonly der: Uint8Array
  readonly subject: NameList
  readonly subjectString: string
  readonly subjectPublicKeyInfo: Uint8Array
  readonly signatureAlgorithm: SignatureAlgorithmView
  /** From the extensionRequest attribute; empty when there is none. */
  readonly extensions: ParsedExtensions
  /** Other attributes, raw (type OID and the DER of each value). */
  readonly otherAttributes: { readonly oid: string; readonly values: Uint8Array[] }[]
  readonly infoDer: Uint8Array
  readonly signature: Uint8Array
}

/** A PKCS #10 certification request signed by the applicant's own key (proof of possession). */
export async function buildCsr(options: BuildCsrOptions): Promise<Uint8Array> {
  const { subject, signer, extensions } = options
  const spki = decodeDer(await signer.publicKey(), SubjectPublicKeyInfo, 'signer public key')
  const attributes = new Attributes()
  if (extensions) {
    const list = buildExtensions(extensions)
    if (list.length > 0) {
      attributes.push(
        new Attribute({ type: EXTENSION_REQUEST_OID, values: [bufferOf(encodeDer(new Extensions(list)))] }),
      )
    }
  }
  const info = new CertificationRequestInfo({
    version: 0,
    subject: buildName(subject),
    subjectPKInfo: spki,
    attributes,
  })
  const infoDer = encodeDer(info)
  const signed = await signStructure(signer, infoDer)
  const algorithm = signatureAlgorithmIdentifier(signer.algorithm)
  return encodeDer(
    new CertificationRequest({
      certificationRequestInfo: info,
      signatureAlgorithm: algorithm,
      signature: bufferOf(signed.signature),
    }),
  )
}

export function parseCsr(der: Uint8Array, limits?: DerLimits): ParsedCsr {
  const csr = decodeDer(der, CertificationRequest, 'certification request', limits)
  const info = csr.certificationRequestInfo
  if (info.version !== 0) throw new PkiError('INVALID_CERTIFICATE', `CSR version ${info.version + 1} is not 1`)
  let extensions: ParsedExtensions = { unknown: [], all: [] }
  const otherAttributes: ParsedCsr['otherAttributes'] = []
  const seen = new Set<string>()
  for (const attribute of info.attributes) {
    if (seen.has(attribute.type)) throw new PkiError('INVALID_CERTIFICATE', `CSR repeats attribute ${attribute.type}`)
    seen.add(attribute.type)
    const values = attribute.values.map((v) => new Uint8Array(v))
    if (attribute.type === EXTENSION_REQUEST_OID) {
      if (values.length !== 1) throw new PkiError('INVALID_CERTIFICATE', 'extensionRequest must hold one value')
      extensions = parseExtensions(decodeDer(values[0]!, Extensions, 'CSR extensionRequest'), 'CSR')
    } else {
      otherAttributes.push({ oid: attribute.type, values })
    }
  }
  const subject = nameToList(info.subject)
  return {
    der: der.slice(),
    subject,
    subjectString: nameToString(subject),
    subjectPublicKeyInfo: encodeDer(info.subjectPKInfo),
    signatureAlgorithm: algorithmView(csr.signatureAlgorithm),
    extensions,
    otherAttributes,
    infoDer: csr.certificationRequestInfoRaw ? new Uint8Array(csr.certificationRequestInfoRaw) : encodeDer(info),
    signature: new Uint8Array(csr.signature),
  }
}

/** Proof of possession: the request is signed by the key inside it (SM2 with the default signer ID). */
export async function verifyCsr(csr: ParsedCsr | Uint8Array): Promise<boolean> {
  const parsed = csr instanceof Uint8Array ? parseCsr(csr) : csr
  const algorithm = decodeDer(parsed.signatureAlgorithm.der, AlgorithmIdentifier, 'signature algorithm')
  return verifyStructure(algorithm, parsed.subjectPublicKeyInfo, parsed.infoDer, parsed.signature)
}

export function csrToPem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE REQUEST')
}

export function csrFromPem(pem: string): Uint8Array {
  return fromPem(pem, 'CERTIFICATE REQUEST')
}
