import type { Principal } from '../access/principal.js'
import type { Role } from '../access/roles.js'
import { type Department, subtreeIds } from './organisation.js'

/** Which part of the organisation a caller may see: everything, or some department subtrees. */
export type OrgScope = { readonly all: true } | { readonly all: false; readonly departmentIds: ReadonlySet<string> }

/** Roles that see the whole organisation; a department manager alone sees only their departments' subtrees. */
const WHOLE_ORGANISATION: readonly Role[] = ['sysadmin', 'secadmin', 'ra-officer', 'client-system']

export function orgScopeOf(principal: Principal, departments: readonly Department[]): OrgScope {
  if (principal.roles.some((role) => WHOLE_ORGANISATION.includes(role))) return { all: true }
  if (!principal.roles.includes('dept-manager')) return { all: false, departmentIds: new Set() }
  return { all: false, departmentIds: subtreeIds(departments, principal.departmentIds) }
}

export function inScope(scope: OrgScope, departmentIds: readonly string[]): boolean {
  return scope.all || departmentIds.some((id) => scope.departmentIds.has(id))
}
