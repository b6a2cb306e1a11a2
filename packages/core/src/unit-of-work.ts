import type { AdministratorRepository } from './administrators/administrator.js'
import type { AuditLog } from './audit/audit-record.js'

/** Everything a use case may touch inside one transaction. */
export interface Repositories {
  readonly administrators: AdministratorRepository
  readonly audit: AuditLog
}

/** One transaction: all writes in `fn`, audit included, commit together or not at all. */
export interface UnitOfWork {
  run<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>
}
