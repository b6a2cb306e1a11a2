import type { AccountRepository, SessionRepository, SettingsRepository } from './accounts/account.js'
import type {
  AuditCheckpointRepository,
  AuditRetentionRepository,
  AuditSigningKeyRepository,
} from './audit/audit-checkpoint.js'
import type { AuditLog } from './audit/audit-record.js'
import type { CertificateAuthorityRepository, IssuedCertificateRepository } from './ca/certificate-authority.js'
import type { CertificateJobRepository, JobLeaseRepository } from './ca/jobs.js'
import type { CertificateQueryRepository } from './certificates-admin/certificate-listing.js'
import type { ClientSystemRepository, RequestNonceRepository } from './client-systems/client-system.js'
import type { EnrolmentSessionRepository, StaffKeyRepository } from './enrolment/staff-key.js'
import type { KeyRepository } from './keys/soft-key-store.js'
import type { DepartmentRepository, InstitutionRepository, StaffRepository } from './organisation/organisation.js'
import type { RaApplicationRepository } from './ra/application.js'
import type { NotificationRepository, ReminderRepository } from './reminders/reminder.js'
import type { TsaRepository } from './tsa/time-stamp-authority.js'

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
  readonly jobLeases: JobLeaseRepository
  readonly certificateJobs: CertificateJobRepository
  readonly reminders: ReminderRepository
  readonly notifications: NotificationRepository
  /** Search, reports and counts over issued certificates (read only). */
  readonly certificateQueries: CertificateQueryRepository
  readonly raApplications: RaApplicationRepository
  readonly staffKeys: StaffKeyRepository
  readonly enrolmentSessions: EnrolmentSessionRepository
  /** The timestamp authority: units, time sources, settings, the token log. */
  readonly tsa: TsaRepository
}

/** One transaction: all writes in `fn`, audit included, commit together or not at all. */
export interface UnitOfWork {
  run<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>
  /**
   * Reads outside a transaction, for hot read-only paths (the OCSP responder): each statement sees what is committed
   * when it runs, and there is no BEGIN/COMMIT round trip. Never write in `fn`.
   */
  read<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>
}
