/**
 * The expiry webhook to the HIS: a JSON POST signed with HMAC-SM3 over `<timestamp>.<body>`.
 *
 *     X-Yiqian-Event: certificate.expiring
 *     X-Yiqian-Timestamp: <decimal milliseconds since the epoch>
 *     X-Yiqian-Signature: <lower-case hex HMAC-SM3(secret as UTF-8, timestamp + "." + raw body)>
 *
 * The receiver recomputes the signature over the raw body bytes it received, compares in constant time and refuses
 * timestamps far from its clock. Redirects are not followed: the configured URL is the only one called.
 */
import { bytesToHex, hmacSm3 } from '@yiqian/gm'
import { REMINDER_LIMITS } from './reminder.js'

export const WEBHOOK_HEADERS = {
  event: 'x-yiqian-event',
  timestamp: 'x-yiqian-timestamp',
  signature: 'x-yiqian-signature',
} as const

export interface CertificateExpiringEvent {
  readonly event: 'certificate.expiring'
  readonly certificateId: string
  readonly serial: string
  readonly staffId: string
  /** ISO 8601, UTC. */
  readonly notAfter: string
  readonly daysBefore: number
}

/** The part of `fetch` the webhook uses; the global fetch fits, and tests pass their own. */
export type WebhookFetch = (
  url: string,
  init: {
    method: 'POST'
    headers: Record<string, string>
    body: string
    signal: AbortSignal
    redirect: 'manual'
  },
) => Promise<{ readonly status: number; readonly body?: { cancel(): Promise<void> } | null }>

export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return bytesToHex(hmacSm3(new TextEncoder().encode(secret), `${timestamp}.${body}`))
}

export type WebhookOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

/** POSTs `event`; a 2xx answer within the timeout is success, anything else an error message (never throws). */
export async function deliverWebhook(
  fetchFn: WebhookFetch,
  target: { readonly url: string; readonly secret: string },
  event: CertificateExpiringEvent,
  now: Date,
  timeoutMs: number = REMINDER_LIMITS.webhookTimeoutMs,
): Promise<WebhookOutcome> {
  const body = JSON.stringify(event)
  const timestamp = String(now.getTime())
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetchFn(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Yiqian-Webhook/1',
        [WEBHOOK_HEADERS.event]: event.event,
        [WEBHOOK_HEADERS.timestamp]: timestamp,
        [WEBHOOK_HEADERS.signature]: webhookSignature(target.secret, timestamp, body),
      },
      body,
      signal,
      redirect: 'manual',
    })
    // Only the status matters; the body is released so that the connection can be reused.
    await response.body?.cancel().catch(() => undefined)
    if (response.status >= 200 && response.status < 300) return { ok: true }
    return { ok: false, error: `HTTP ${response.status}` }
  } catch (error) {
    if (signal.aborted) return { ok: false, error: `timeout after ${timeoutMs} ms` }
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
    return { ok: false, error: `request failed: ${String(detail)}`.slice(0, 300) }
  }
}
