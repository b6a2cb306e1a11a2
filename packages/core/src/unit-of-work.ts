import type { AccountRepository, SessionRepository, SettingsRepository } from './accounts/account.js'
import type {
  AuditCheckpointRepository,
  AuditRetentionRepository,
  AuditSigningKeyRepository,
} from './audit/audit-checkpoint.js'
import type { AuditLog } from './audit/audit-record.js'
import type { CertificateAuthorityRepository, IssuedCertificateRepository } from './ca/certificate-authority.js'
import type { ClientSystemRepository, RequestNonceRepository } from './client-systems/client-system.js'
import type { KeyRepository } from './keys/soft-key-store.js'
import type { DepartmentRepository, InstitutionRepository, StaffRepository } from './organisation/organisation.js'
import type { RaApplicationRepository } from './ra/application.js'

/** Everything a use case may touch inside one transaction. */
export interface Repositories {
  readonly accounts: AccountRepository
  readonly sessions: SessionRepository
  readonly settings: SettingsRepository
  readonly audit: AuditLog
  readonly auditCheckpoints: AuditCheckpointRepository
  readonly auditSigningKeys: AuditSigningKeyRepository
  readonly auditRetention: AuditRetentionRepository
  readonly clientSystems: ClientSystemRepository
  readonly requestNonces: RequestNonceRepository
  readonly institutions: InstitutionRepository
  readonly departments: DepartmentRepository
  readonly staff: StaffRepository
  readonly keys: KeyRepository
  readonly certificateAuthorities: CertificateAuthorityRepository
  readonly certificates: IssuedCertificateRepository
  readonly raApplications: RaApplicationRepository
}

/** One transaction: all writes in `fn`, audit included, commit together or not at all. */
export interface UnitOfWork {
  run<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>
}
