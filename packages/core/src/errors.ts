/** Every failure the domain can report. The server maps each code to an HTTP problem in one table. */
export type ErrorCode =
  | 'ACCOUNT_NOT_FOUND'
  | 'ACCOUNT_EXISTS'
  | 'VERSION_CONFLICT'
  | 'AUDIT_CHAIN_BROKEN'
  | 'AUDIT_RECORD_NOT_FOUND'
  | 'AUDIT_RETENTION_INVALID'
  | 'AUDIT_EXPORT_TOO_LARGE'
  | 'SECRET_UNREADABLE'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'ACCOUNT_LOCKED'
  | 'ACCOUNT_DISABLED'
  | 'PASSWORD_CHANGE_REQUIRED'
  | 'SECOND_FACTOR_REQUIRED'
  | 'SECOND_FACTOR_INVALID'
  | 'PASSWORD_POLICY'
  | 'PERMISSION_DENIED'
  | 'ROLE_CONFLICT'
  | 'SIGN_IN_THROTTLED'
  | 'TOTP_ALREADY_ENROLLED'
  | 'INVALID_INPUT'
  | 'INSTITUTION_NOT_FOUND'
  | 'INSTITUTION_EXISTS'
  | 'DEPARTMENT_NOT_FOUND'
  | 'DEPARTMENT_EXISTS'
  | 'DEPARTMENT_CYCLE'
  | 'DEPARTMENT_IN_USE'
  | 'DEPARTMENT_INACTIVE'
  | 'STAFF_NOT_FOUND'
  | 'STAFF_EXISTS'
  | 'ORG_FIELD_INVALID'
  | 'IMPORT_REJECTED'
  | 'IMPORT_FILE_INVALID'
  | 'CLIENT_SYSTEM_NOT_FOUND'
  | 'CLIENT_SYSTEM_EXISTS'
  | 'CLIENT_SYSTEM_FIELD_INVALID'
  | 'CLIENT_SYSTEM_OUT_OF_SCOPE'
  | 'CERTIFICATE_PROFILE_NOT_FOUND'
  | 'CERTIFICATE_PROFILE_INVALID'
  | 'CERTIFICATE_REQUEST_INVALID'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_NOT_EXPIRED'
  | 'INVALID_TRANSITION'
  | 'FOUR_EYES_REQUIRED'
  | 'REVOCATION_REASON_INVALID'
  | 'KEY_NOT_FOUND'
  | 'KEY_RETIRED'
  | 'KEY_UNREADABLE'
  | 'KEY_STORE_UNAVAILABLE'
  | 'KEY_URI_INVALID'
  | 'KEY_FIELD_INVALID'
  | 'CERTIFICATE_APPLICATION_NOT_FOUND'
  | 'CERTIFICATE_APPLICATION_OPEN'
  | 'STAFF_NOT_ACTIVE'
  | 'ACTIVATION_CODE_INVALID'
  | 'CA_UNAVAILABLE'
  | 'CA_NOT_FOUND'
  | 'CERTIFICATE_NOT_FOUND'
  | 'ENROLMENT_INVALID'
  | 'TSA_UNIT_NOT_FOUND'
  | 'TSA_SOURCE_NOT_FOUND'

export class DomainError extends Error {
  override readonly name = 'DomainError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export function isDomainError(error: unknown, code?: ErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code)
}
