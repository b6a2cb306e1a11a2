import { createHmac } from 'node:crypto'
import { Secret } from 'otpauth'
import { describe, expect, it } from 'vitest'
import { generateTotpSecret, totpCode, totpUri, verifyTotp } from './totp.js'

// RFC 6238 Appendix B, SHA-1 rows, truncated to 6 digits (the RFC prints 8).
const RFC_SECRET = new Secret({ buffer: new TextEncoder().encode('12345678901234567890').buffer }).base32
const RFC_ROWS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
]

/** An independent HOTP (RFC 4226 §5.3) over node:crypto, to check the library. */
function hotp(key: Buffer, counter: number): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(message).digest()
  const offset = (mac.at(-1) ?? 0) & 0xf
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors', () => {
    for (const [seconds, code8] of RFC_ROWS) {
      expect(totpCode(RFC_SECRET, new Date(seconds * 1000))).toBe(code8.slice(2))
    }
  })

  it('agrees with an independent HOTP over node:crypto', () => {
    const secret = generateTotpSecret()
    const key = Buffer.from(Secret.fromBase32(secret).bytes)
    for (let t = 1_700_000_000; t < 1_700_000_000 + 30 * 50; t += 30) {
      expect(totpCode(secret, new Date(t * 1000))).toBe(hotp(key, Math.floor(t / 30)))
    }
  })

  it('accepts the adjacent steps once each, nothing further and nothing malformed', () => {
    const secret = generateTotpSecret()
    const at = new Date('2026-11-28T08:00:10Z')
    const step = Math.floor(at.getTime() / 30_000)
    expect(verifyTotp(secret, totpCode(secret, at), at, undefined)).toBe(step)
    expect(verifyTotp(secret, totpCode(secret, new Date(at.getTime() - 30_000)), at, undefined)).toBe(step - 1)
    expect(verifyTotp(secret, totpCode(secret, new Date(at.getTime() + 30_000)), at, undefined)).toBe(step + 1)
    expect(verifyTotp(secret, totpCode(secret, new Date(at.getTime() - 90_000)), at, undefined)).toBeUndefined()
    // Replay: the same code after it was used.
    expect(verifyTotp(secret, totpCode(secret, at), at, step)).toBeUndefined()
    expect(verifyTotp(secret, '12345', at, undefined)).toBeUndefined()
    expect(verifyTotp(secret, '12345a', at, undefined)).toBeUndefined()
  })

  it('makes 160-bit seeds and scannable URIs', () => {
    const secret = generateTotpSecret()
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(totpUri(secret, 'admin')).toMatch(/^otpauth:\/\/totp\/.*admin\?.*secret=[A-Z2-7]{32}/)
  })
})
