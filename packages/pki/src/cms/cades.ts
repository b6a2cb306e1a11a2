import { Attribute, ContentInfo, SignerInfos } from '@peculiar/asn1-cms'
import { decodeDer, encodeDer } from '../der.js'
import { PkiError } from '../errors.js'
import { compareDer, type DigestName, digest } from './digest.js'
import { CMS_OID, parseCms } from './signed-data.js'

/**
 * CAdES-T (ETSI EN 319 122-1 §5.3; RFC 5126 §6.1.1): the bytes a TSA is asked to timestamp are the hash of the
 * first SignerInfo's signature value. `hash` is the request's hash algorithm.
 */
export function signatureTimestampImprint(cmsDer: Uint8Array, hash: DigestName): Uint8Array {
  const { signedData } = parseCms(cmsDer)
  const signerInfo = signedData.signerInfos[0]
  if (!signerInfo) throw new PkiError('MALFORMED_DER', 'SignedData has no SignerInfo')
  return digest(hash, new Uint8Array(signerInfo.signature.buffer))
}

/**
 * Adds `timestampTokenDer` (a TimeStampToken ContentInfo) as the unsigned attribute id-aa-signatureTimeStampToken
 * to the first SignerInfo. The signed part is untouched: parsing was strict DER, so re-encoding reproduces it.
 * The token is not verified here; verify it against `signatureTimestampImprint` with verifyTimeStampToken.
 */
export function addSignatureTimestamp(cmsDer: Uint8Array, timestampTokenDer: Uint8Array): Uint8Array {
  const { contentInfo, signedData } = parseCms(cmsDer)
  // Refuse anything that is not a ContentInfo itself: the attribute value is embedded as is.
  decodeDer(timestampTokenDer, ContentInfo, 'timestamp token')
  const signerInfo = signedData.signerInfos[0]
  if (!signerInfo) throw new PkiError('MALFORMED_DER', 'SignedData has no SignerInfo')
  const attributes = [
    ...(signerInfo.unsignedAttrs ?? []),
    new Attribute({ attrType: CMS_OID.signatureTimeStampToken, attrValues: [timestampTokenDer.slice().buffer] }),
  ]
  // SET OF: DER order.
  signerInfo.unsignedAttrs = attributes
    .map((a) => ({ a, der: encodeDer(a) }))
    .sort((x, y) => compareDer(x.der, y.der))
    .map((x) => x.a)
  signedData.signerInfos = new SignerInfos([signerInfo, ...signedData.signerInfos.slice(1)])
  return encodeDer(
    new ContentInfo({ contentType: contentInfo.contentType, content: encodeDer(signedData).slice().buffer }),
  )
}

/** The signature timestamp tokens on the first SignerInfo (DER each). */
export function signatureTimestampTokens(cmsDer: Uint8Array): Uint8Array[] {
  const { signedData } = parseCms(cmsDer)
  return (signedData.signerInfos[0]?.unsignedAttrs ?? [])
    .filter((a) => a.attrType === CMS_OID.signatureTimeStampToken)
    .flatMap((a) => a.attrValues.map((v) => new Uint8Array(v)))
}
