export { CSV_COLUMNS, csvField, UTF8_BOM } from './export-format.js'
export type { AuditJobServices, AuditSchedule } from './jobs.js'
export {
  auditCheckpointKeyPem,
  purgeExpiredAuditRecords,
  runAuditCheckpointJob,
  startAuditSchedule,
} from './jobs.js'
export { auditRoutes } from './routes.js'
