export {
  type ClientCredentials,
  type ClientOptions,
  createClient,
  type Timestamp,
  type TimestampInput,
  type TimestampOptions,
  type TimestampVerification,
  type VerifyTimestampInput,
  type YiqianClient,
} from './client.js'
export { type ProblemDetails, ProblemError } from './problem.js'
export { canonicalString, type SignatureHeaders, type SignRequestInput, signRequest } from './request-signing.js'
export {
  checkTimestampEcho,
  encodeTimestampRequest,
  readTimestampResponse,
  readTimestampToken,
  TIMESTAMP_HASHES,
  TimestampError,
  type TimestampErrorCode,
  type TimestampHash,
  type TimestampRequestFields,
  type TstInfo,
  timestampDigest,
} from './timestamp.js'
