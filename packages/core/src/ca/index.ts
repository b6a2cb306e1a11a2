export type {
  CaService,
  CaServiceDeps,
  CertificateStatusChange,
  CreateHierarchyInput,
  IssueCertificateInput,
  SerialReference,
  SubjectInput,
} from './ca-service.js'
export {
  createCaService,
  describePublicKey,
  normaliseSerial,
  OCSP_INTERNAL_ERROR,
  OCSP_MALFORMED_REQUEST,
  OCSP_UNAUTHORIZED,
} from './ca-service.js'
export type {
  CaAlgorithm,
  CaStatus,
  CertificateAuthority,
  CertificateAuthorityRepository,
  CertificateRevocationStatus,
  IssuedCertificate,
  IssuedCertificateRepository,
} from './certificate-authority.js'
export { CA_ALGORITHMS, CA_LIMITS, CA_STATUSES } from './certificate-authority.js'
export type {
  CertificateJobDeps,
  CertificateJobRepository,
  CrlRefreshResult,
  JobLease,
  JobLeaseRepository,
  JobOutcome,
  MarkExpiredResult,
  OcspRenewalResult,
} from './jobs.js'
export {
  CERTIFICATE_JOB_LIMITS,
  JOB_OUTCOMES,
  jobActor,
  markExpiredCertificates,
  refreshCrls,
  renewOcspResponders,
} from './jobs.js'
