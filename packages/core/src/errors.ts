/** Every failure the domain can report. The server maps each code to an HTTP problem in one table. */
export type ErrorCode = 'ADMINISTRATOR_NOT_FOUND' | 'ADMINISTRATOR_EXISTS' | 'VERSION_CONFLICT' | 'AUDIT_CHAIN_BROKEN'

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
