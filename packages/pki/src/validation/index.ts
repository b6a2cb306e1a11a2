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
