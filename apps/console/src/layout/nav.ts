import type { ParseKeys } from 'i18next'

export interface NavItem {
  /** Route path under /console/, without the leading slash. */
  readonly path: string
  readonly label: ParseKeys
  /** The session permission that shows the item. */
  readonly permission: string
  readonly group: 'identity' | 'organisation' | 'certificates' | 'integration' | 'audit'
}

export const navItems: readonly NavItem[] = [
  { path: 'accounts', label: 'nav.accounts', permission: 'accounts.read', group: 'identity' },
  { path: 'policies/security', label: 'nav.securityPolicy', permission: 'policies.read', group: 'identity' },
  { path: 'system/settings', label: 'nav.systemSettings', permission: 'system.settings.read', group: 'identity' },
  { path: 'org/departments', label: 'nav.departments', permission: 'org.read', group: 'organisation' },
  { path: 'org/staff', label: 'nav.staff', permission: 'org.read', group: 'organisation' },
  { path: 'org/import', label: 'nav.import', permission: 'org.write', group: 'organisation' },
  { path: 'ra/applications', label: 'nav.raApplications', permission: 'ra.read', group: 'certificates' },
  { path: 'certificates', label: 'nav.certificates', permission: 'certificates.read', group: 'certificates' },
  { path: 'reports', label: 'nav.reports', permission: 'reports.read', group: 'certificates' },
  { path: 'ca', label: 'nav.ca', permission: 'ca.read', group: 'certificates' },
  { path: 'tsa', label: 'tsa.title', permission: 'tsa.read', group: 'certificates' },
  { path: 'reminders', label: 'nav.reminders', permission: 'reminders.read', group: 'certificates' },
  { path: 'client-systems', label: 'nav.clientSystems', permission: 'client-systems.read', group: 'integration' },
  { path: 'audit', label: 'nav.audit', permission: 'audit.read', group: 'audit' },
]
