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
