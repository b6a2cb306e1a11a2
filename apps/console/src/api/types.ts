// Shapes of the server's answers, as its route schemas (and /openapi.json) define them.

export type Stage = 'password-change' | 'totp-enrolment' | 'active'

export const ROLES = ['sysadmin', 'secadmin', 'auditor', 'ra-officer', 'dept-manager', 'staff'] as const
export type Role = (typeof ROLES)[number]
/** The three administrators (三员): one account may hold at most one of them. */
export const ADMINISTRATOR_ROLES: readonly string[] = ['sysadmin', 'secadmin', 'auditor']

export interface Account {
  id: string
  username: string
  displayName: string
  roles: string[]
  departmentIds: string[]
  status: 'active' | 'disabled'
  mustChangePassword: boolean
  totpEnrolled: boolean
  lockedUntil?: string
  lastLoginAt?: string
  createdAt: string
  version: number
}

export interface Session {
  account: Account
  stage: Stage
  csrfToken: string
  permissions: string[]
  expiresAt: string
}

export interface CreatedAccount {
  account: Account
  initialPassword: string
}

export interface Versioned<T> {
  value: T
  version: number
}

export interface SecurityPolicy {
  passwordMinLength: number
  passwordMinClasses: number
  passwordMaxAgeDays: number
  lockoutThreshold: number
  lockoutMinutes: number
  sourceFailureLimit: number
  idleTimeoutMinutes: number
  absoluteTimeoutHours: number
  totpRequiredForAll: boolean
}

export interface SystemSettings {
  organisationName: string
  auditRetentionDays: number
}

export interface Institution {
  id: string
  code: string
  name: string
  parentId: string | null
  createdAt: string
  version: number
}

export interface Department {
  id: string
  institutionId: string
  code: string
  name: string
  parentId: string | null
  status: 'active' | 'inactive'
  createdAt: string
  updatedAt: string
  version: number
}

export interface DepartmentNode extends Department {
  children: DepartmentNode[]
}

export const STAFF_STATUSES = ['active', 'disabled', 'left'] as const
export const ID_TYPES = ['resident', 'passport', 'other'] as const

export interface StaffMember {
  id: string
  institutionId: string
  employeeNumber: string
  name: string
  title: string
  departmentIds: string[]
  status: (typeof STAFF_STATUSES)[number]
  phone: string | null
  idType: (typeof ID_TYPES)[number] | null
  idNumber: string | null
  revealed: boolean
  createdAt: string
  updatedAt: string
  version: number
}

export interface Page<T> {
  items: T[]
  total: number
  offset: number
  limit: number
}

export interface RowError {
  row: number
  column: string
  header?: string
  message: { zh: string; en: string }
}

export interface BulkSummary {
  rows: number
  create: number
  update: number
  unchanged: number
  errors: number
}

export interface BulkResult {
  dryRun: boolean
  applied: boolean
  institutionId: string
  summary: BulkSummary
  errors: RowError[]
  errorsTruncated: boolean
  changes: { row: number; key: string; action: 'create' | 'update' }[]
  changesTruncated: boolean
}

export interface ClientSystem {
  id: string
  code: string
  name: string
  appId: string
  enabled: boolean
  ipAllowList: string[]
  rateLimitPerMinute: number
  scope: { departmentIds: string[]; documentTypes: string[] }
  secretRotatedAt: string
  previousSecretExpiresAt: string | null
  createdAt: string
  updatedAt: string
  version: number
}

export interface IssuedSecret {
  system: ClientSystem
  secret: string
}

export interface AuditRecord {
  seq: number
  at: string
  type: string
  actor: string
  actorRole: string | null
  subject: string | null
  outcome: string | null
  source: string | null
  requestId: string | null
  data: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface AuditReport {
  status: 'ok' | 'broken'
  broken: { seq: number; reason: string; message: { zh: string; en: string } } | null
  rowsChecked: number
  checkpointsChecked: number
  firstSeq: number | null
  lastSeq: number | null
  lastCheckpointSeq: number | null
  anchoredAt: number | null
  notYetCheckpointed: { fromSeq: number; toSeq: number; count: number } | null
  durationMs: number
  verifiedAt: string
}

// Certificate authority: applications (RA), certificates, CAs, reports, expiry reminders.

export const APPLICATION_STATES = ['pending', 'approved', 'rejected', 'issued', 'cancelled'] as const
export type ApplicationState = (typeof APPLICATION_STATES)[number]
export const APPLICATION_KINDS = ['apply', 'renew', 'recover'] as const
export type ApplicationKind = (typeof APPLICATION_KINDS)[number]
/** Profiles an RA officer applies for (the CA's own profiles are not applied for). */
export const APPLICATION_PROFILES = ['staff-sign', 'event', 'tls-server'] as const

export interface CertificateApplication {
  id: string
  kind: ApplicationKind
  staffId: string
  institutionId: string
  departmentId: string | null
  profileId: string
  replaces: string | null
  subject: Record<string, string>
  status: ApplicationState
  requestedBy: string
  requestedAt: string
  decidedBy: string | null
  decidedAt: string | null
  reason: string | null
  activation: { expiresAt: string; attempts: number; redeemed: boolean } | null
  certificateSerial: string | null
  version: number
  updatedAt: string
}

export interface Approval {
  application: CertificateApplication
  activationCode: string
}

export interface Issued extends CertificateApplication {
  certificate?: { id: string; serial: string }
}

export interface BulkApplication {
  created: number
  skipped: number
  results: {
    staffId: string
    outcome: 'created' | 'skipped'
    applicationId?: string
    code?: string
    message?: string
  }[]
}

export const CERTIFICATE_STATES = ['active', 'suspended', 'revoked', 'expired'] as const
export type CertificateState = (typeof CERTIFICATE_STATES)[number]
/** RFC 5280 reasons an officer may give when revoking an end-entity certificate (the lifecycle refuses the others). */
export const REVOCATION_REASONS = [
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'unspecified',
] as const
export type RevocationReason = (typeof REVOCATION_REASONS)[number]

export interface Certificate {
  id: string
  serial: string
  issuerId: string
  subject: string
  staffId: string | null
  staffName: string | null
  departmentId: string | null
  departmentName: string | null
  profile: string
  status: CertificateState
  notBefore: string
  notAfter: string
  statusChangedAt: string
  revocation: { reason: string; at: string; invalidityDate: string | null } | null
  version: number
}

export interface CertificateDetail extends Certificate {
  pem: string
  issuerName: string
  keyAlgorithm: string
  fingerprintSm3: string
  fingerprintSha256: string
  supersededBy: string | null
  history?: { at: string; type: string; actor: string; outcome: string | null; data: Record<string, unknown> }[]
}

export interface CertificateAuthority {
  id: string
  name: string
  algorithm: string
  status: string
  parentId: string | null
  subject: string
  notBefore: string
  notAfter: string
  keyUri: string
  crl: { number: number | string; nextUpdate: string } | null
  ocspResponder: { serial: string; notAfter: string } | null
  issuedCount: number
}

export const REPORT_GROUPS = ['institution', 'department', 'profile', 'month'] as const
export type ReportGroup = (typeof REPORT_GROUPS)[number]

export interface ReportRow {
  key: string | null
  label: string | null
  issued: number
  active: number
  suspended: number
  revoked: number
  expired: number
  expiringIn30Days: number
}

export interface CertificateReport {
  rows: ReportRow[]
  totals: Omit<ReportRow, 'key' | 'label'>
}

export interface ReminderPolicy {
  daysBefore: number[]
  inApp: boolean
  /** The secret is write-only: the server says only whether one is set. */
  webhook: { url: string; secretSet: boolean } | null
  version: number
}
