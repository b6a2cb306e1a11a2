export type {
  ActivationCode,
  ApplicationKind,
  CertificateIssuer,
  RaApplication,
  RaApplicationQuery,
  RaApplicationRepository,
} from './application.js'
export { APPLICATION_KINDS, PURPOSE_OF_KIND, RA_LIMITS } from './application.js'
export type {
  ApplyInput,
  Approval,
  BulkApplyInput,
  BulkApplyResult,
  BulkItemResult,
  RaDeps,
  RaUseCases,
} from './use-cases.js'
export { createRaUseCases, DEFAULT_RA_POLICY, RA_POLICY_KEY, raPolicyOf } from './use-cases.js'
