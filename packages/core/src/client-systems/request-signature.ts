import { bytesToHex, equalBytes, hmacSm3, sm3 } from '@yiqian/gm'

/**
 * HMAC-SM3 request signatures of client systems. The canonical string is six lines joined by `\n` (no trailing
 * newline):
 *
 *     YIQIAN-HMAC-SM3
 *     <METHOD, upper case>
 *     <path and query exactly as sent, e.g. /api/v1/sign-requests?mode=instant>
 *     <X-Yiqian-Timestamp, decimal milliseconds since the epoch>
 *     <X-Yiqian-Nonce>
 *     <lower-case hex SM3 of the raw body bytes; SM3 of the empty string when there is no body>
 *
 * `X-Yiqian-Signature` is base64 (standard alphabet, padded) of HMAC-SM3(key, canonical string), where the key is
 * the secret exactly as it was shown (43 base64url characters) taken as ASCII bytes.
 */
export const SIGNATURE_SCHEME = 'YIQIAN-HMAC-SM3'

export const SIGNATURE_HEADERS = {
  appId: 'x-yiqian-app-id',
  timestamp: 'x-yiqian-timestamp',
  nonce: 'x-yiqian-nonce',
  signature: 'x-yiqian-signature',
} as const

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/
export const TIMESTAMP_PATTERN = /^(0|[1-9]\d{0,15})$/
/** A request's timestamp may be this far before or after the server clock. */
export const DEFAULT_SIGNATURE_WINDOW_MS = 5 * 60 * 1000

/** SM3 of zero bytes, the body digest of a request without a body. */
export const EMPTY_BODY_SM3 = bytesToHex(sm3(new Uint8Array(0)))

export interface SignedRequestParts {
  readonly method: string
  /** Path with query, exactly as on the request line. */
  readonly path: string
  readonly timestamp: string
  readonly nonce: string
  /** Lower-case hex SM3 of the raw body. */
  readonly bodySm3: string
}

export function canonicalRequest(parts: SignedRequestParts): string {
  return [SIGNATURE_SCHEME, parts.method.toUpperCase(), parts.path, parts.timestamp, parts.nonce, parts.bodySm3].join(
    '\n',
  )
}

export function requestSignature(secret: string, parts: SignedRequestParts): Uint8Array {
  return hmacSm3(new TextEncoder().encode(secret), canonicalRequest(parts))
}

/** Constant-time comparison of the expected HMAC with the base64 `signature` header. */
export function signatureMatches(secret: string, parts: SignedRequestParts, signature: string): boolean {
  const expected = requestSignature(secret, parts)
  const given = decodeBase64(signature)
  // Compare full length even on a length mismatch so that timing says nothing about the expected value.
  if (!given || given.length !== expected.length) {
    equalBytes(expected, expected)
    return false
  }
  return equalBytes(expected, given)
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length > 128 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined
  return new Uint8Array(Buffer.from(text, 'base64'))
}
