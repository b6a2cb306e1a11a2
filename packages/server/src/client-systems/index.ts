export {
  type ClientSystemAuthenticatorOptions,
  ClientSystemRateLimited,
  type ClientSystemServices,
  createClientSystemAuthenticator,
} from './authenticator.js'
export { installBodyDigest } from './body-digest.js'
export { createRateLimiter, type RateLimiter } from './rate-limit.js'
export { clientSystemRoutes } from './routes.js'
