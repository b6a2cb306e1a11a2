export type {
  ActivationCode,
  ApplicationKind,
  CertificateIssuer,
  IssuedReference,
  KeyOrigin,
  PreparedIssuer,
  RaApplication,
  RaApplicationQuery,
  RaApplicationRepository,
} from './application.js'
export { APPLICATION_KINDS, KEY_ORIGINS, PURPOSE_OF_KIND, RA_LIMITS } from './application.js'
export { createCaCertificateIssuer, STAFF_ISSUER_KEY, staffIssuerId, staffSubject } from './ca-issuer.js'
export type {
  ApplyInput,
  Approval,
  BulkApplyInput,
  BulkApplyResult,
  BulkApprovalItem,
  BulkApprovalResult,
  BulkItemResult,
  RaDeps,
  RaUseCases,
} from './use-cases.js'
export { createRaUseCases, DEFAULT_RA_POLICY, publicKeyFromCsr, RA_POLICY_KEY, raPolicyOf } from './use-cases.js'
