export type { ImportCa, ImportCaDeps, ImportCaInput } from '../ca/import-ca.js'
export { CA_IMPORT_LIMITS, createImportCa } from '../ca/import-ca.js'
export type { CaOverview } from './ca-administration.js'
export { caOverview, listCaOverviews, overviewOf } from './ca-administration.js'
export type {
  CertificateAdministration,
  CertificateAdministrationDeps,
  CertificateChange,
  CertificateDetail,
  CertificateDownload,
  CertificateDownloadFormat,
  CertificateFilter,
  CertificateStatusAnswer,
  CertificateView,
} from './certificate-administration.js'
export { caUnavailable, createCertificateAdministration, keyAlgorithmOf } from './certificate-administration.js'
export type {
  CertificateListing,
  CertificateQueryRepository,
  CertificateSearch,
  ReportCounts,
  ReportGroupBy,
  ReportQuery,
} from './certificate-listing.js'
export { CERTIFICATE_ADMIN_LIMITS, effectiveStatus, REPORT_GROUPS } from './certificate-listing.js'
export type { CertificateReport, CertificateReports, ReportExportFormat } from './certificate-report.js'
export { createCertificateReports, labelRow, reportTotals } from './certificate-report.js'
