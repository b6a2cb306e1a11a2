import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { APP_ID_PATTERN, type ClientSystem, normaliseFingerprint, secretContext } from './client-system.js'
import { ipAllowed } from './ip-allow-list.js'
import {
  DEFAULT_SIGNATURE_WINDOW_MS,
  NONCE_PATTERN,
  SIGNATURE_HEADERS,
  type SignedRequestParts,
  signatureMatches,
  TIMESTAMP_PATTERN,
} from './request-signature.js'

/** Why a signed request was refused; sent to the caller as the problem detail, and recorded. */
export type AuthenticationFailure =
  | 'unknown-app'
  | 'disabled'
  | 'stale-timestamp'
  | 'replayed-nonce'
  | 'ip-not-allowed'
  | 'bad-signature'
  | 'certificate-mismatch'
  | `missing-header:${(typeof SIGNATURE_HEADERS)[keyof typeof SIGNATURE_HEADERS]}`
  | `malformed-header:${(typeof SIGNATURE_HEADERS)[keyof typeof SIGNATURE_HEADERS]}`

export interface SignedRequest {
  /** The four X-Yiqian-* header values as received (undefined when absent). */
  readonly appId: string | undefined
  readonly timestamp: string | undefined
  readonly nonce: string | undefined
  readonly signature: string | undefined
  readonly method: string
  /** Path and query exactly as on the request line. */
  readonly path: string
  /** Lower-case hex SM3 of the raw body bytes. */
  readonly bodySm3: string
  /** The caller's address as the server sees it (after any trusted proxy). */
  readonly sourceIp: string
  /**
   * The client-certificate fingerprint the TLS-terminating proxy forwarded in the trusted header; undefined when
   * the server has no such header configured or the request did not carry it.
   */
  readonly certificateFingerprint?: string | undefined
}

export interface AuthenticateOptions {
  /** How far a timestamp may be from the server clock, either way. Default five minutes. */
  readonly windowMs?: number
  /** How often (at most) one instance purges expired nonces. Default one minute. */
  readonly purgeIntervalMs?: number
}

function refuse(reason: AuthenticationFailure, appId?: string): never {
  throw new DomainError('UNAUTHENTICATED', `业务系统认证失败 / client system authentication failed: ${reason}`, {
    reason,
    ...(appId !== undefined && { appId }),
  })
}

const HEADER_ORDER = ['appId', 'timestamp', 'nonce', 'signature'] as const

/**
 * Checks one HMAC-SM3 signed request and returns the client system that sent it. Fails closed with
 * UNAUTHENTICATED and `details.reason`. Order: headers present and well-formed → known app → enabled →
 * timestamp within the window → source address allowed → pinned certificate fingerprint → signature (current secret, then the previous one in its
 * grace period) → nonce not seen. The nonce is recorded last, so that only authentic requests consume nonces and
 * nobody can fill the table without a secret.
 */
export function createAuthenticateClientSystem(
  { uow, clock, secretBox }: { uow: UnitOfWork; clock: Clock; secretBox: SecretBox },
  options: AuthenticateOptions = {},
) {
  const windowMs = options.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS
  const purgeIntervalMs = options.purgeIntervalMs ?? 60_000
  let lastPurge = Number.NEGATIVE_INFINITY

  return async function authenticateClientSystem(request: SignedRequest): Promise<ClientSystem> {
    for (const key of HEADER_ORDER) if (request[key] === undefined) refuse(`missing-header:${SIGNATURE_HEADERS[key]}`)
    const appId = request.appId as string
    const timestamp = request.timestamp as string
    const nonce = request.nonce as string
    const signature = request.signature as string
    if (!APP_ID_PATTERN.test(appId)) refuse('unknown-app')
    if (!TIMESTAMP_PATTERN.test(timestamp)) refuse(`malformed-header:${SIGNATURE_HEADERS.timestamp}`, appId)
    if (!NONCE_PATTERN.test(nonce)) refuse(`malformed-header:${SIGNATURE_HEADERS.nonce}`, appId)

    return uow.run(async ({ clientSystems, requestNonces }) => {
      const system = await clientSystems.findByAppId(appId)
      if (!system) refuse('unknown-app', appId)
      if (!system.enabled) refuse('disabled', appId)
      const now = clock.now()
      const sentAt = Number(timestamp)
      if (Math.abs(now.getTime() - sentAt) > windowMs) refuse('stale-timestamp', appId)
      if (system.ipAllowList.length > 0 && !ipAllowed(request.sourceIp, system.ipAllowList)) {
        refuse('ip-not-allowed', appId)
      }
      // A pinned system without the proxy's verified fingerprint is refused: the pin cannot be checked.
      if (
        system.certificateFingerprint !== undefined &&
        normaliseFingerprint(request.certificateFingerprint) !== system.certificateFingerprint
      ) {
        refuse('certificate-mismatch', appId)
      }
      const parts: SignedRequestParts = {
        method: request.method,
        path: request.path,
        timestamp,
        nonce,
        bodySm3: request.bodySm3,
      }
      if (!signedWithSecretOf(system, now, secretBox, (secret) => signatureMatches(secret, parts, signature))) {
        refuse('bad-signature', appId)
      }
      if (now.getTime() - lastPurge >= purgeIntervalMs) {
        lastPurge = now.getTime()
        await requestNonces.purgeExpired(now)
      }
      // Kept until the timestamp leaves the window; after that a replay fails the timestamp check instead.
      const expiresAt = new Date(sentAt + windowMs)
      if (!(await requestNonces.remember(appId, nonce, expiresAt, now))) refuse('replayed-nonce', appId)
      return system
    })
  }
}

/** Tries the current secret, then the previous one in its grace period; each is unsealed only when it is tried. */
function signedWithSecretOf(
  system: ClientSystem,
  now: Date,
  secretBox: SecretBox,
  matches: (secret: string) => boolean,
): boolean {
  const context = secretContext(system.id)
  if (matches(secretBox.open(system.sealedSecret, context))) return true
  return (
    !!system.previousSealedSecret &&
    !!system.previousSecretExpiresAt &&
    now < system.previousSecretExpiresAt &&
    matches(secretBox.open(system.previousSealedSecret, context))
  )
}
