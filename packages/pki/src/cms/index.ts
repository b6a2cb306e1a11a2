export { addSignatureTimestamp, signatureTimestampImprint, signatureTimestampTokens } from './cades.js'
export { DIGEST_OID, type DigestName, digest } from './digest.js'
export { EssCertId, EssCertIdV2, IssuerSerial, SigningCertificate, SigningCertificateV2 } from './ess.js'
export {
  type CheckStatus,
  CMS_OID,
  type CmsCheck,
  type CmsCheckName,
  type CmsSignInput,
  type CmsVerification,
  type CmsWriter,
  type CmsWriterOptions,
  createCmsWriter,
  type ParsedCms,
  parseCms,
  type SignCmsOptions,
  signCms,
  signedAttributesBytes,
  type VerifyCmsOptions,
  verifyCms,
} from './signed-data.js'
