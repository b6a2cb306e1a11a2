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
export * from './ocsp/index.js'
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
