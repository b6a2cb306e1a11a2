export {
  OID,
  signatureAlgorithmIdentifier,
  signatureAlgorithmOf,
  signStructure,
  verifyStructure,
} from './algorithms.js'
export * from './cms/index.js'
export { checkDerShape, DEFAULT_DER_LIMITS, type DerLimits, decodeDer, encodeDer } from './der.js'
export { isPkiError, PkiError, type PkiErrorCode } from './errors.js'
export {
  buildCertId,
  buildOcspRequest,
  buildOcspResponse,
  type CrlReasonName,
  certIdMatches,
  crlReasonName,
  OCSP_DER_LIMITS,
  type OcspCertStatus,
  type OcspCheck,
  type OcspCheckName,
  type OcspEntry,
  type OcspHash,
  type OcspRequestOptions,
  type OcspResponseOptions,
  type OcspSingleStatus,
  type OcspVerification,
  type OcspVerifyOptions,
  type ParsedOcspRequest,
  type ParsedOcspResponse,
  parseOcspRequest,
  parseOcspResponse,
  verifyOcspResponse,
} from './ocsp/index.js'
export * from './tsp/index.js'
export {
  type ChainEntry,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  type ValidatePathOptions,
  type ValidationPurpose,
  type ValidationReport,
  validatePath,
} from './validation/index.js'
export * from './x509/index.js'
