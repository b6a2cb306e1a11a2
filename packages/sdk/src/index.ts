export { type ClientCredentials, type ClientOptions, createClient, type YiqianClient } from './client.js'
export { type ProblemDetails, ProblemError } from './problem.js'
export { canonicalString, type SignatureHeaders, type SignRequestInput, signRequest } from './request-signing.js'
