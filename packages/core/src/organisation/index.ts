export type {
  DepartmentPlan,
  DepartmentRow,
  Message,
  PlanAction,
  PlanReport,
  PlanSummary,
  RowError,
  StaffDraft,
  StaffPlan,
  StaffRow,
} from './bulk-plan.js'
export { planDepartments, planStaff } from './bulk-plan.js'
export type { IdType } from './id-number.js'
export { ID_TYPES, idNumberProblem, normaliseIdNumber, residentIdCheckCharacter } from './id-number.js'
export type {
  Department,
  DepartmentRepository,
  DepartmentStatus,
  Institution,
  InstitutionRepository,
  ProtectedValue,
  StaffMember,
  StaffQuery,
  StaffRepository,
  StaffStatus,
} from './organisation.js'
export { DEPARTMENT_STATUSES, ORG_LIMITS, STAFF_STATUSES, subtreeIds, wouldCreateCycle } from './organisation.js'
export type { StaffView } from './personal-data.js'
export {
  idNumberContext,
  maskIdNumber,
  maskPhone,
  normalisePhone,
  phoneContext,
  protectIdNumber,
  protectPhone,
  staffView,
} from './personal-data.js'
export type { OrgScope } from './scope.js'
export { inScope, orgScopeOf } from './scope.js'
export type { OrganisationDeps, OrganisationUseCases } from './use-cases.js'
export { createOrganisationUseCases } from './use-cases.js'
