import { execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bytesToHex, hmacSm3 } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CertificateExpiringEvent, deliverWebhook, type WebhookFetch, webhookSignature } from './webhook.js'

const SECRET = 'his-shared-secret-0123456789'
const event: CertificateExpiringEvent = {
  event: 'certificate.expiring',
  certificateId: '7d0c6b9e-1f1e-4a55-9b51-2f1c0f7c1a11',
  serial: '4f2a9c',
  staffId: 'staff-42',
  notAfter: '2026-12-05T08:00:00.000Z',
  daysBefore: 7,
}

/** What an HIS developer would write: recompute HMAC-SM3 over `timestamp.rawBody` and compare. */
function verify(headers: IncomingMessage['headers'], rawBody: Buffer): boolean {
  const timestamp = String(headers['x-yiqian-timestamp'])
  const expected = bytesToHex(hmacSm3(Buffer.from(SECRET, 'utf8'), `${timestamp}.${rawBody.toString('utf8')}`))
  return headers['x-yiqian-signature'] === expected && headers['x-yiqian-event'] === 'certificate.expiring'
}

describe('deliverWebhook to a real HTTP server', () => {
  let server: Server
  let base: string
  const received: { path: string; verified: boolean; body: unknown; contentType: string | undefined }[] = []

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(chunks)
        const verified = verify(req.headers, raw)
        received.push({
          path: req.url ?? '',
          verified,
          body: JSON.parse(raw.toString('utf8')),
          contentType: req.headers['content-type'],
        })
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000)
        if (req.url === '/redirect') return void res.writeHead(302, { location: '/ok' }).end()
        res.writeHead(req.url === '/down' ? 503 : verified ? 204 : 401).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const send = (path: string, secret = SECRET, timeoutMs?: number) =>
    deliverWebhook(fetch as unknown as WebhookFetch, { url: `${base}${path}`, secret }, event, new Date(), timeoutMs)

  it('POSTs the event as JSON with a signature the receiver can verify', async () => {
    expect(await send('/ok')).toEqual({ ok: true })
    const got = received.at(-1)
    expect(got).toEqual({ path: '/ok', verified: true, body: event, contentType: 'application/json' })
  })

  it('a receiver with another secret refuses it; we report the status', async () => {
    expect(await send('/ok', 'some-other-secret-abcdef')).toEqual({ ok: false, error: 'HTTP 401' })
    expect(received.at(-1)?.verified).toBe(false)
  })

  it('reports a server error, an unreachable host, a timeout, and does not follow redirects', async () => {
    expect(await send('/down')).toEqual({ ok: false, error: 'HTTP 503' })
    expect(await send('/slow', SECRET, 200)).toEqual({ ok: false, error: 'timeout after 200 ms' })
    const before = received.length
    expect(await send('/redirect')).toEqual({ ok: false, error: 'HTTP 302' })
    expect(received.slice(before).map((r) => r.path)).toEqual(['/redirect'])
    const refused = await deliverWebhook(
      fetch as unknown as WebhookFetch,
      { url: 'http://127.0.0.1:1/x', secret: SECRET },
      event,
      new Date(),
    )
    expect(refused.ok).toBe(false)
    expect(!refused.ok && refused.error).toMatch(/^request failed: /)
  })
})

describe('webhookSignature', () => {
  it('is hex HMAC-SM3 over timestamp.body, with the secret as UTF-8 bytes', () => {
    const body = JSON.stringify(event)
    const expected = bytesToHex(hmacSm3(new TextEncoder().encode(SECRET), `1764316800000.${body}`))
    expect(webhookSignature(SECRET, '1764316800000', body)).toBe(expected)
    expect(webhookSignature(SECRET, '1764316800001', body)).not.toBe(expected)
  })

  it('matches what OpenSSL and node:crypto compute, as the HIS-side examples in the docs do', () => {
    const body = JSON.stringify(event)
    const signed = `1764316800000.${body}`
    const ours = webhookSignature(SECRET, '1764316800000', body)
    const openssl = execFileSync('openssl', ['dgst', '-sm3', '-hmac', SECRET], { input: signed, encoding: 'utf8' })
    expect(openssl.trim().split('= ')[1]).toBe(ours)
    expect(createHmac('sm3', SECRET).update(signed).digest('hex')).toBe(ours)
  })
})
