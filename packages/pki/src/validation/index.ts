export { type CertificateInfo, nameToString, parseCertificateInfo } from './certificate-info.js'
export {
  type ChainEntry,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  type ValidatePathOptions,
  type ValidationPurpose,
  type ValidationReport,
  validatePath,
} from './validate-path.js'
