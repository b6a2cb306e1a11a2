import type { Clock, Repositories, UnitOfWork } from '@yiqian/core'
import type { Kysely } from 'kysely'
import { accountRepository } from './repositories/accounts.js'
import {
  auditCheckpointRepository,
  auditRetentionRepository,
  auditSigningKeyRepository,
} from './repositories/audit-checkpoints.js'
import { auditLog } from './repositories/audit-log.js'
import { certificateAuthorityRepository } from './repositories/ca.js'
import {
  certificateJobRepository,
  jobLeaseRepository,
  notificationRepository,
  reminderRepository,
} from './repositories/certificate-jobs.js'
import { certificateQueryRepository } from './repositories/certificate-queries.js'
import { certificateRepository } from './repositories/certificates.js'
import { clientSystemRepository, requestNonceRepository } from './repositories/client-systems.js'
import { enrolmentSessionRepository, staffKeyRepository } from './repositories/enrolment.js'
import { keyRepository } from './repositories/keys.js'
import { departmentRepository, institutionRepository, staffRepository } from './repositories/organisation.js'
import { raApplicationRepository } from './repositories/ra-applications.js'
import { sessionRepository } from './repositories/sessions.js'
import { settingsRepository } from './repositories/settings.js'
import { tsaRepository } from './repositories/tsa.js'
import type { Database } from './schema.js'

export function repositoriesOf(db: Kysely<Database>, clock: Clock): Repositories {
  return {
    accounts: accountRepository(db),
    sessions: sessionRepository(db),
    settings: settingsRepository(db),
    audit: auditLog(db, clock),
    auditCheckpoints: auditCheckpointRepository(db),
    auditSigningKeys: auditSigningKeyRepository(db),
    auditRetention: auditRetentionRepository(db),
    clientSystems: clientSystemRepository(db),
    requestNonces: requestNonceRepository(db),
    institutions: institutionRepository(db),
    departments: departmentRepository(db),
    staff: staffRepository(db),
    keys: keyRepository(db),
    certificateAuthorities: certificateAuthorityRepository(db),
    certificates: certificateRepository(db),
    jobLeases: jobLeaseRepository(db),
    certificateJobs: certificateJobRepository(db),
    reminders: reminderRepository(db),
    notifications: notificationRepository(db),
    certificateQueries: certificateQueryRepository(db),
    raApplications: raApplicationRepository(db),
    staffKeys: staffKeyRepository(db),
    enrolmentSessions: enrolmentSessionRepository(db),
    tsa: tsaRepository(db),
  }
}

/** Each `run` is one database transaction; a throw rolls back every write, audit included. */
export function createUnitOfWork(db: Kysely<Database>, clock: Clock): UnitOfWork {
  // Outside a transaction the repositories hold no state, so one set serves every read.
  const reads = repositoriesOf(db, clock)
  return {
    run: (fn) => db.transaction().execute((trx) => fn(repositoriesOf(trx, clock))),
    read: (fn) => fn(reads),
  }
}
