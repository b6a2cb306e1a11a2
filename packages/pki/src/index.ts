export {
  OID,
  signatureAlgorithmIdentifier,
  signatureAlgorithmOf,
  signStructure,
  verifyStructure,
} from './algorithms.js'
export { checkDerShape, DEFAULT_DER_LIMITS, type DerLimits, decodeDer, encodeDer } from './der.js'
export { isPkiError, PkiError, type PkiErrorCode } from './errors.js'
