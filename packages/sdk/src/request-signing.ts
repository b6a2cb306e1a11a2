import { bytesToHex, hmacSm3, sm3 } from '@yiqian/gm'

/**
 * HMAC-SM3 request signing for clinical systems (see docs/en/client-systems.md). Mirrors the server's check but
 * shares no code with it: the SDK depends only on the HTTP contract, and the test vectors tie the two together.
 */
export interface SignRequestInput {
  /** `ys_…`, from the registration. */
  readonly appId: string
  /** The secret exactly as it was shown once (43 base64url characters); used as ASCII bytes. */
  readonly secret: string
  readonly method: string
  /** Path and query exactly as they will be sent, e.g. `/api/v1/sign-requests?mode=instant`. */
  readonly path: string
  /** The raw body bytes (a string is UTF-8); absent or empty for none. */
  readonly body?: string | Uint8Array | undefined
  /** Defaults to the current time. */
  readonly now?: Date | undefined
  /** 16–64 characters of [A-Za-z0-9_-]; defaults to 128 random bits. */
  readonly nonce?: string | undefined
}

export interface SignatureHeaders {
  readonly 'X-Yiqian-App-Id': string
  readonly 'X-Yiqian-Timestamp': string
  readonly 'X-Yiqian-Nonce': string
  readonly 'X-Yiqian-Signature': string
  readonly [name: string]: string
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

function randomNonce(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return base64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** The string that is signed: six lines, no trailing newline. */
export function canonicalString(input: {
  method: string
  path: string
  timestamp: string
  nonce: string
  bodySm3: string
}): string {
  return ['YIQIAN-HMAC-SM3', input.method.toUpperCase(), input.path, input.timestamp, input.nonce, input.bodySm3].join(
    '\n',
  )
}

/** The four X-Yiqian-* headers that authenticate one request. Sign each request anew: nonces are single-use. */
export function signRequest(input: SignRequestInput): SignatureHeaders {
  const nonce = input.nonce ?? randomNonce()
  if (!NONCE.test(nonce)) throw new RangeError('nonce must be 16–64 characters of [A-Za-z0-9_-]')
  if (!input.path.startsWith('/')) throw new RangeError('path must start with "/" (path and query, no host)')
  const timestamp = String((input.now ?? new Date()).getTime())
  const body = input.body ?? new Uint8Array(0)
  const canonical = canonicalString({
    method: input.method,
    path: input.path,
    timestamp,
    nonce,
    bodySm3: bytesToHex(sm3(body)),
  })
  return {
    'X-Yiqian-App-Id': input.appId,
    'X-Yiqian-Timestamp': timestamp,
    'X-Yiqian-Nonce': nonce,
    'X-Yiqian-Signature': base64(hmacSm3(new TextEncoder().encode(input.secret), canonical)),
  }
}
