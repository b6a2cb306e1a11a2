import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { canonicalRequest, EMPTY_BODY_SM3, requestSignature, signatureMatches } from './request-signature.js'

// The worked example of docs/*/client-systems.md; the expected values are computed here with node:crypto (OpenSSL),
// independently of @yiqian/gm.
const secret = 'q3Jx0Yb8n2k5VZ4pQ1r7T9sUwXyA6cDeFgHiJkLmNoP'
const body = '{"documentType":"emr.note","departmentId":"d-icu"}'
const parts = {
  method: 'post',
  path: '/api/v1/sign-requests?mode=instant',
  timestamp: '1795852800000',
  nonce: 'n0nce_0123456789abcdef',
  bodySm3: createHash('sm3').update(body).digest('hex'),
}

describe('request signature', () => {
  it('builds the documented canonical string', () => {
    expect(canonicalRequest(parts)).toBe(
      [
        'YIQIAN-HMAC-SM3',
        'POST',
        '/api/v1/sign-requests?mode=instant',
        '1795852800000',
        'n0nce_0123456789abcdef',
        parts.bodySm3,
      ].join('\n'),
    )
    expect(EMPTY_BODY_SM3).toBe(createHash('sm3').update('').digest('hex'))
  })

  it('matches HMAC-SM3 computed by OpenSSL with the secret text as key', () => {
    const expected = createHmac('sm3', secret).update(canonicalRequest(parts)).digest()
    expect(Buffer.from(requestSignature(secret, parts))).toEqual(expected)
    expect(signatureMatches(secret, parts, expected.toString('base64'))).toBe(true)
    // The value printed in the documentation's worked example (also what `openssl dgst -sm3 -hmac` gives).
    expect(expected.toString('base64')).toBe('5Wc6b1eqbMfiIR53qpctqnSy1aDbIIiDE880TELCN8E=')
  })

  it.each([
    ['another secret', { secret: `${secret.slice(0, -1)}Q` }],
    ['another method', { method: 'PUT' }],
    ['another query', { path: '/api/v1/sign-requests?mode=deferred' }],
    ['another timestamp', { timestamp: '1795852800001' }],
    ['another nonce', { nonce: 'n0nce_0123456789abcdeF' }],
    ['another body', { bodySm3: EMPTY_BODY_SM3 }],
  ])('refuses a signature made over %s', (_, change) => {
    const { secret: key = secret, ...rest } = change as { secret?: string }
    const signature = Buffer.from(requestSignature(key, { ...parts, ...rest })).toString('base64')
    expect(signatureMatches(secret, parts, signature)).toBe(false)
  })

  it.each(['', 'not base64!', 'AAAA', 'A'.repeat(200)])('refuses the malformed signature %j', (signature) => {
    expect(signatureMatches(secret, parts, signature)).toBe(false)
  })
})
