import { Secret, TOTP } from 'otpauth'

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), what every authenticator app on the staff's phones understands.

const PERIOD_SECONDS = 30
const DIGITS = 6
/** One step either side absorbs clock drift between the phone and the server. */
const WINDOW = 1

/** A new 160-bit seed, base32 (RFC 4226 recommends at least 160 bits). */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

/** The `otpauth://` URI an authenticator app scans as a QR code. */
export function totpUri(secretBase32: string, account: string, issuer = '医签 Yiqian'): string {
  return new TOTP({
    issuer,
    label: account,
    secret: Secret.fromBase32(secretBase32),
    digits: DIGITS,
    period: PERIOD_SECONDS,
  }).toString()
}

/** The code for `at` (tests and the enrolment self-check use it). */
export function totpCode(secretBase32: string, at: Date): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: at.getTime(),
  })
}

/**
 * Checks `code` at `at`. Returns the time step it belongs to, or undefined when it is wrong, malformed or not after
 * `lastStep` (a code is accepted at most once, RFC 6238 §5.2).
 */
export function verifyTotp(
  secretBase32: string,
  code: string,
  at: Date,
  lastStep: number | undefined,
): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secretBase32),
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: at.getTime(),
    window: WINDOW,
  })
  if (delta === null) return undefined
  const step = Math.floor(at.getTime() / 1000 / PERIOD_SECONDS) + delta
  return lastStep !== undefined && step <= lastStep ? undefined : step
}
