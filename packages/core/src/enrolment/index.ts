export type { Enrolment, EnrolmentCompleted, EnrolmentDeps, EnrolmentStarted } from './enrolment.js'
export { createEnrolment, ENROLMENT_LIMITS, staffKeyContext } from './enrolment.js'
export type {
  EnrolmentSession,
  EnrolmentSessionRepository,
  StaffKey,
  StaffKeyRepository,
  StaffKeyStatus,
} from './staff-key.js'
export { STAFF_KEY_STATUSES } from './staff-key.js'
