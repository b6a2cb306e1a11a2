/** Every way PKI input can be wrong or a PKI operation can fail. Callers branch on `code`. */
export type PkiErrorCode =
  | 'MALFORMED_DER' // not DER at all, truncated, wrong structure for the schema
  | 'NOT_STRICT_DER' // BER forms (long or indefinite lengths, non-minimal integers), trailing bytes
  | 'TOO_LARGE' // over the size limit for the structure
  | 'TOO_DEEP' // nesting deeper than the limit
  | 'UNSUPPORTED_ALGORITHM'
  | 'INVALID_SIGNATURE' // a signature that is malformed or does not verify where verification is required
  | 'INVALID_ARGUMENT' // a builder was given something it cannot encode
  | 'INVALID_CERTIFICATE' // well-formed DER that breaks an X.509 rule (version, serial, extensions)

export class PkiError extends Error {
  override readonly name = 'PkiError'
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export function isPkiError(error: unknown, code?: PkiErrorCode): error is PkiError {
  return error instanceof PkiError && (code === undefined || error.code === code)
}
