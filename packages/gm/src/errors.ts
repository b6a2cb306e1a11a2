/** Every way national-cryptography input can be wrong. Callers branch on `code`, never on the message. */
export type GmErrorCode =
  | 'INVALID_KEY' // wrong length, zero or out-of-range scalar, malformed encoding
  | 'INVALID_POINT' // off the curve, at infinity, coordinates out of range, bad encoding
  | 'INVALID_SIGNATURE' // malformed encoding, r or s zero or >= n, trailing bytes (not "does not verify")
  | 'INVALID_CIPHERTEXT' // malformed, or fails its integrity check (C3, GCM tag)
  | 'INVALID_ENCODING' // DER/PEM that is not strict, truncated, or has trailing bytes
  | 'INVALID_ARGUMENT' // wrong length of IV/nonce/key/tag, unsupported option
  | 'UNSUPPORTED_ALGORITHM'
  | 'PROTOCOL_VIOLATION' // two-party: wrong version, tampered, replayed or reordered message, failed proof

export class GmError extends Error {
  override readonly name = 'GmError'
  constructor(
    readonly code: GmErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export function isGmError(error: unknown, code?: GmErrorCode): error is GmError {
  return error instanceof GmError && (code === undefined || error.code === code)
}
