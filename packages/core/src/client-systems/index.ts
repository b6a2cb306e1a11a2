export type {
  AuthenticateOptions,
  AuthenticationFailure,
  SignedRequest,
} from './authenticate-client-system.js'
export { createAuthenticateClientSystem } from './authenticate-client-system.js'
export type {
  ClientSystem,
  ClientSystemRepository,
  ClientSystemScope,
  ClientSystemView,
  RequestNonceRepository,
} from './client-system.js'
export {
  ANY as ANY_SCOPE,
  APP_ID_PATTERN,
  assertWithinScope,
  CODE_PATTERN,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  LIMITS as CLIENT_SYSTEM_LIMITS,
  secretContext as clientSystemSecretContext,
  viewOf as clientSystemView,
} from './client-system.js'
export { ipAllowed, parseIpAddress, parseIpBlock } from './ip-allow-list.js'
export { createListClientSystems } from './list-client-systems.js'
export type { ClientSystemRegistration, IssuedClientSecret } from './register-client-system.js'
export { createRegisterClientSystem } from './register-client-system.js'
export type { SignedRequestParts } from './request-signature.js'
export {
  canonicalRequest,
  DEFAULT_SIGNATURE_WINDOW_MS,
  EMPTY_BODY_SM3,
  NONCE_PATTERN,
  requestSignature,
  SIGNATURE_HEADERS,
  SIGNATURE_SCHEME,
  TIMESTAMP_PATTERN,
} from './request-signature.js'
export { createRotateClientSystemSecret } from './rotate-client-system-secret.js'
export type { ClientSystemChanges } from './update-client-system.js'
export { createUpdateClientSystem } from './update-client-system.js'
