import { type ProblemDetails, ProblemError } from './problem.js'
import { signRequest } from './request-signing.js'
import {
  checkTimestampEcho,
  encodeTimestampRequest,
  randomNonce,
  readTimestampResponse,
  readTimestampToken,
  TIMESTAMP_HASHES,
  TimestampError,
  type TimestampHash,
  type TstInfo,
  timestampDigest,
} from './timestamp.js'

/** A registered client system's app id and secret: every request is then signed with HMAC-SM3. */
export interface ClientCredentials {
  readonly appId: string
  readonly secret: string
}

export interface ClientOptions {
  /** e.g. `https://yiqian.hospital.example` */
  readonly baseUrl: string
  /** Defaults to the global fetch (Node 20, browsers). */
  readonly fetch?: typeof fetch
  /** Sent as Accept-Language: problem titles in Chinese (default) or English. */
  readonly language?: 'zh-CN' | 'en'
  /** Sign every request as this client system. */
  readonly credentials?: ClientCredentials | undefined
  /** The clock used for signature timestamps (tests); defaults to the system time. */
  readonly now?: () => Date
}

export interface Health {
  readonly status: 'ok'
  readonly version: string
  readonly uptimeSeconds: number
}

export interface Readiness {
  readonly status: 'ready'
  readonly version: string
  readonly checks: Record<string, unknown>
}

export interface YiqianClient {
  health(): Promise<Health>
  /** Throws ProblemError with code NOT_READY when the server is up but not ready. */
  readiness(): Promise<Readiness>
  /**
   * Any API call: `body` is sent as JSON. Returns the parsed JSON answer (undefined for 204); throws ProblemError.
   * `path` includes the query string, e.g. `/api/v1/client-systems?x=1`.
   */
  request<T>(method: string, path: string, body?: unknown): Promise<T>
  /**
   * An RFC 3161 timestamp from `POST /tsa` over data (hashed here, SM3 by default) or over a digest. Sends a fresh
   * nonce and asks for the TSA certificate; checks that the reply is granted and echoes the nonce and digest.
   * Throws TimestampError (TSA_REJECTED with the failure, e.g. timeNotAvailable; TSA_REPLY_MISMATCH;
   * TSA_REPLY_MALFORMED) or ProblemError for an HTTP problem. The signature is checked by `verifyTimestamp`.
   */
  timestamp(input: TimestampInput, options?: TimestampOptions): Promise<Timestamp>
  /** The server's full verification of a token (signature, TSA certificate, chain, imprint): `POST /api/v1/tsa/verify`. */
  verifyTimestamp(token: Uint8Array, against: VerifyTimestampInput): Promise<TimestampVerification>
}

/** Data (bytes or UTF-8 text) to hash here, or its digest (bytes or hex) with the hash that made it. */
export type TimestampInput =
  | Uint8Array
  | string
  | { readonly digest: Uint8Array | string; readonly hashAlgorithm: TimestampHash }

export interface TimestampOptions {
  /** For data input; default `sm3`. */
  readonly hashAlgorithm?: TimestampHash
  /** Default: 64 random bits. */
  readonly nonce?: bigint
  /** Default true: the token carries the TSA certificate. */
  readonly certReq?: boolean
  /** A TSA policy OID; default: the TSA's default policy. */
  readonly policy?: string
}

export interface Timestamp {
  /** The TimeStampToken (CMS SignedData, DER): what to store with the document. */
  readonly token: Uint8Array
  /** The whole TimeStampResp (DER), e.g. to save as a .tsr file. */
  readonly response: Uint8Array
  readonly tstInfo: TstInfo
}

/** What the token must cover: the data (sent to the server), or its digest with the hash that made it. */
export interface VerifyTimestampInput {
  readonly data?: Uint8Array | string
  readonly digest?: Uint8Array | string
  readonly hashAlgorithm?: TimestampHash
}

/** The answer of `POST /api/v1/tsa/verify`. */
export interface TimestampVerification {
  readonly valid: boolean
  readonly checks: ReadonlyArray<{
    readonly name: string
    readonly status: 'passed' | 'failed' | 'skipped'
    readonly reason: string
  }>
  readonly tstInfo?: {
    readonly serial: string
    readonly genTime: string
    readonly policy: string
    readonly hashAlgorithm: string
    readonly imprint: string
    readonly nonce?: string
    readonly accuracyMs?: number
  }
  readonly tsa?: { readonly subject: string; readonly serial: string }
}

/** A typed client for clinical systems. It knows only the HTTP contract, never server internals. */
export function createClient(options: ClientOptions): YiqianClient {
  const doFetch = options.fetch ?? fetch
  const base = options.baseUrl.replace(/\/+$/, '')

  /** Signs (when credentials are set) and sends one request; a non-2xx answer becomes a ProblemError. */
  async function send(
    method: string,
    path: string,
    payload: string | Uint8Array | undefined,
    headers: Record<string, string>,
  ): Promise<Response> {
    const url = new URL(`${base}${path}`)
    const all: Record<string, string> = { 'accept-language': options.language ?? 'zh-CN', ...headers }
    if (options.credentials) {
      // The path is signed as fetch will send it (URL-normalised, with any base-URL prefix).
      Object.assign(
        all,
        signRequest({
          ...options.credentials,
          method,
          path: `${url.pathname}${url.search}`,
          body: payload,
          now: options.now?.(),
        }),
      )
    }
    const res = await doFetch(url, {
      method,
      headers: all,
      ...(payload !== undefined && { body: payload as string | Uint8Array<ArrayBuffer> }),
    })
    if (res.ok) return res
    const type = res.headers.get('content-type') ?? ''
    if (type.startsWith('application/problem+json')) throw new ProblemError((await res.json()) as ProblemDetails)
    throw new ProblemError({
      type: 'about:blank',
      title: res.statusText || 'HTTP error',
      status: res.status,
      code: `HTTP_${res.status}`,
    })
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const res = await send(method, path, payload, {
      accept: 'application/json, application/problem+json',
      ...(payload !== undefined && { 'content-type': 'application/json' }),
    })
    return (res.status === 204 ? undefined : await res.json()) as T
  }

  async function timestamp(input: TimestampInput, stampOptions: TimestampOptions = {}): Promise<Timestamp> {
    let hashAlgorithm: TimestampHash
    let imprint: Uint8Array
    if (isDigestInput(input)) {
      hashAlgorithm = input.hashAlgorithm
      imprint = digestBytes(input.digest)
    } else {
      hashAlgorithm = stampOptions.hashAlgorithm ?? 'sm3'
      imprint = await timestampDigest(
        hashAlgorithm,
        typeof input === 'string' ? new TextEncoder().encode(input) : input,
      )
    }
    const fields = {
      hashAlgorithm,
      imprint,
      nonce: stampOptions.nonce ?? randomNonce(),
      certReq: stampOptions.certReq ?? true,
      policy: stampOptions.policy,
    }
    const res = await send('POST', '/tsa', encodeTimestampRequest(fields), {
      accept: 'application/timestamp-reply, application/problem+json',
      'content-type': 'application/timestamp-query',
    })
    const type = res.headers.get('content-type') ?? ''
    if (!type.startsWith('application/timestamp-reply')) {
      throw new TimestampError('TSA_REPLY_MALFORMED', `the TSA answered ${type || 'without a content type'}`)
    }
    const response = new Uint8Array(await res.arrayBuffer())
    const { token } = readTimestampResponse(response)
    const tstInfo = readTimestampToken(token)
    checkTimestampEcho(tstInfo, fields)
    return { token, response, tstInfo }
  }

  function verifyTimestamp(token: Uint8Array, against: VerifyTimestampInput): Promise<TimestampVerification> {
    const data = typeof against.data === 'string' ? new TextEncoder().encode(against.data) : against.data
    return request<TimestampVerification>('POST', '/api/v1/tsa/verify', {
      token: base64(token),
      ...(data !== undefined && { data: base64(data) }),
      ...(against.digest !== undefined && { imprint: hex(digestBytes(against.digest)) }),
      ...(against.hashAlgorithm !== undefined && { hashAlgorithm: TIMESTAMP_HASHES[against.hashAlgorithm].name }),
    })
  }

  return {
    health: () => request<Health>('GET', '/healthz'),
    readiness: () => request<Readiness>('GET', '/readyz'),
    request,
    timestamp,
    verifyTimestamp,
  }
}

function isDigestInput(input: TimestampInput): input is Exclude<TimestampInput, Uint8Array | string> {
  return typeof input === 'object' && !(input instanceof Uint8Array) && 'digest' in input
}

function digestBytes(digest: Uint8Array | string): Uint8Array {
  if (digest instanceof Uint8Array) return digest
  if (!/^([0-9a-fA-F]{2})+$/.test(digest)) throw new RangeError('digest must be hex or bytes')
  return Uint8Array.from(digest.match(/../g)!, (h) => Number.parseInt(h, 16))
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}
