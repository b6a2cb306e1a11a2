/**
 * Who may do what. Roles are fixed by the product (MLPS level 3's three administrators plus the hospital's
 * operational roles); permissions are the verbs routes declare. The grant table below is the single source: the
 * server refuses to start when a route declares no access, and a matrix test checks every route for every role.
 */
export const ROLES = [
  /** 系统管理员: configuration, accounts, client systems, organisation data. Never the audit trail or roles. */
  'sysadmin',
  /** 安全管理员: roles, security policies. Never system configuration. */
  'secadmin',
  /** 审计管理员: reads and exports the audit trail; changes nothing. */
  'auditor',
  /** RA 操作员: staff and (later) certificate applications. */
  'ra-officer',
  /** 科室主任/负责人: reads their own departments. */
  'dept-manager',
  /** 医护人员: their own account. */
  'staff',
  /** 业务系统: a clinical system calling the API with HMAC-signed requests. */
  'client-system',
] as const

export type Role = (typeof ROLES)[number]

/** The three administrators (三员): one account may hold at most one of them. */
export const ADMINISTRATOR_ROLES = ['sysadmin', 'secadmin', 'auditor'] as const satisfies readonly Role[]

export const PERMISSIONS = {
  'system.settings.read': ['sysadmin'],
  'system.settings.write': ['sysadmin'],
  'accounts.read': ['sysadmin', 'secadmin'],
  'accounts.write': ['sysadmin'],
  'roles.assign': ['secadmin'],
  'policies.read': ['secadmin', 'sysadmin'],
  'policies.write': ['secadmin'],
  'org.read': ['sysadmin', 'secadmin', 'ra-officer', 'dept-manager'],
  'org.write': ['sysadmin', 'ra-officer'],
  'org.sync': ['client-system'],
  'staff.personal-data.read': ['ra-officer'],
  'client-systems.read': ['sysadmin', 'secadmin'],
  'client-systems.write': ['sysadmin'],
  'audit.read': ['auditor'],
  'audit.export': ['auditor'],
  /** Certificate applications (RA): department managers read those of their departments. */
  'ra.read': ['ra-officer', 'dept-manager'],
  'ra.apply': ['ra-officer'],
  'ra.approve': ['ra-officer'],
  /** Issued certificates: search, detail, download (department managers: their departments). */
  'certificates.read': ['ra-officer', 'dept-manager'],
  /** Revoke, suspend, resume (启/停) issued certificates. */
  'certificates.manage': ['ra-officer'],
  /** The status of one certificate, for relying applications. */
  'certificates.status': ['client-system', 'ra-officer'],
  /** Certificate reports by institution, department and period, with export. */
  'reports.read': ['ra-officer', 'dept-manager'],
  /** The certificate authorities: hierarchy creation, CA key import, OCSP responder renewal. */
  'ca.read': ['sysadmin', 'secadmin', 'ra-officer'],
  'ca.manage': ['sysadmin'],
  /** The expiry-reminder policy (days before, webhook to the HIS). */
  'reminders.read': ['secadmin', 'ra-officer'],
  'reminders.write': ['secadmin'],
  /** The timestamp authority: status, units, time sources, settings, the token log. */
  'tsa.read': ['sysadmin', 'secadmin'],
  'tsa.manage': ['sysadmin'],
  /** Verifying a timestamp token (console users who read the TSA, and relying client systems). */
  'tsa.verify': ['sysadmin', 'secadmin', 'ra-officer', 'client-system'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

/**
 * What a route requires: `public` (no caller identity: health, login), `authenticated` (any signed-in console
 * user acting on their own account), or one permission.
 */
export type RouteAccess = 'public' | 'authenticated' | Permission

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value)
}

export function rolesGranting(permission: Permission): readonly Role[] {
  return PERMISSIONS[permission]
}

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  const granted: readonly Role[] = PERMISSIONS[permission]
  return roles.some((role) => granted.includes(role))
}
