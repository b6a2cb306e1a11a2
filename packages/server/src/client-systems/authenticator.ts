import {
  type AuthenticateOptions,
  type Clock,
  createAuthenticateClientSystem,
  EMPTY_BODY_SM3,
  type Principal,
  type SecretBox,
  SIGNATURE_HEADERS,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyRequest } from 'fastify'
import { createRateLimiter, type RateLimiter } from './rate-limit.js'

/** What client-system authentication and routes need from the composition root (a subset of AppServices). */
export interface ClientSystemServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

export interface ClientSystemAuthenticatorOptions extends AuthenticateOptions {
  /** Share one limiter between authenticators of one process; by default each authenticator has its own. */
  readonly rateLimiter?: RateLimiter
  /**
   * The request header in which the hospital's TLS-terminating proxy forwards the verified client-certificate
   * fingerprint (e.g. `x-client-cert-fingerprint`). Only set it when the proxy always overwrites that header:
   * a client could otherwise send it itself. Without it, systems with a pinned fingerprint are refused.
   */
  readonly certificateFingerprintHeader?: string | undefined
}

/** The 429 thrown when a system exceeds its budget; the error handler renders it as TOO_MANY_REQUESTS. */
export class ClientSystemRateLimited extends Error {
  override readonly name = 'ClientSystemRateLimited'
  readonly statusCode = 429
  readonly headers: Record<string, string>
  constructor(
    readonly appId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`client system ${appId} exceeded its request rate; retry after ${retryAfterSeconds} s`)
    this.headers = { 'retry-after': String(retryAfterSeconds) }
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  // A repeated header is ambiguous; treating it as absent fails closed.
  return typeof value === 'string' ? value : undefined
}

/**
 * Authenticates clinical systems' HMAC-SM3 signed requests. The returned function answers:
 * - undefined when the request carries no `X-Yiqian-App-Id` (not a client-system request: try the next way);
 * - the client system's Principal when the signature, timestamp, nonce, address and rate all pass;
 * - otherwise it throws: DomainError UNAUTHENTICATED with `details.reason`, or a 429 ClientSystemRateLimited.
 * Call it once the body has been read (preValidation or preHandler), with `installBodyDigest(app)` installed.
 */
export function createClientSystemAuthenticator(
  services: ClientSystemServices,
  options: ClientSystemAuthenticatorOptions = {},
) {
  const authenticate = createAuthenticateClientSystem(services, options)
  const limiter = options.rateLimiter ?? createRateLimiter(services.clock)
  const fingerprintHeader = options.certificateFingerprintHeader?.toLowerCase()

  return async function authenticateClientSystemRequest(request: FastifyRequest): Promise<Principal | undefined> {
    if (request.headers[SIGNATURE_HEADERS.appId] === undefined) return undefined
    const system = await authenticate({
      appId: header(request, SIGNATURE_HEADERS.appId),
      timestamp: header(request, SIGNATURE_HEADERS.timestamp),
      nonce: header(request, SIGNATURE_HEADERS.nonce),
      signature: header(request, SIGNATURE_HEADERS.signature),
      method: request.method,
      path: request.url,
      bodySm3: bodyDigestOf(request),
      sourceIp: request.ip,
      certificateFingerprint: fingerprintHeader ? header(request, fingerprintHeader) : undefined,
    })
    const wait = limiter.take(system.appId, system.rateLimitPerMinute)
    if (wait > 0) throw new ClientSystemRateLimited(system.appId, wait)
    return {
      kind: 'client-system',
      id: system.id,
      name: system.appId,
      roles: ['client-system'],
      departmentIds: system.scope.departmentIds,
    }
  }
}

function bodyDigestOf(request: FastifyRequest): string {
  if (request.rawBodySm3 !== undefined) return request.rawBodySm3
  const length = request.headers['content-length']
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
  // A body that was not hashed (the hook is missing, or authentication ran before the body was read) must not be
  // treated as empty: that would let any body ride on a signature over nothing.
  if (hasBody) throw new Error('client-system authentication ran before the request body was digested')
  return EMPTY_BODY_SM3
}
