import { IssuerAndSerialNumber, id_data } from '@peculiar/asn1-cms'
import type { Signer } from '@yiqian/gm'
import { encodeDer } from '../der.js'
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
import { compareDer, type DigestName, digest, digestAlgorithmIdentifier } from './digest.js'
import { decodeCertificate, digestForSignature, essCertIdV2 } from './signed-data.js'

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
