import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { createSecretBox, maskMiddle } from './secret-box.js'

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32))

  it('opens what it sealed, only with the same context', () => {
    const sealed = box.seal('110101199003074514', 'staff.id_card:s1')
    expect(sealed).not.toContain('110101')
    expect(box.open(sealed, 'staff.id_card:s1')).toBe('110101199003074514')
    let error: unknown
    try {
      box.open(sealed, 'staff.id_card:s2')
    } catch (e) {
      error = e
    }
    expect(isDomainError(error, 'SECRET_UNREADABLE')).toBe(true)
  })

  it('refuses a value sealed under another key or altered', () => {
    const other = createSecretBox(randomBytes(32))
    const sealed = box.seal('13800138000', 'staff.phone:s1')
    expect(() => other.open(sealed, 'staff.phone:s1')).toThrow(/cannot open/)
    const bytes = Buffer.from(sealed, 'base64url')
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1
    expect(() => box.open(bytes.toString('base64url'), 'staff.phone:s1')).toThrow(/cannot open/)
  })

  it('indexes deterministically per key and purpose', () => {
    expect(box.blindIndex('phone', '13800138000')).toBe(box.blindIndex('phone', '13800138000'))
    expect(box.blindIndex('phone', '13800138000')).not.toBe(box.blindIndex('id-card', '13800138000'))
    expect(createSecretBox(randomBytes(32)).blindIndex('phone', '13800138000')).not.toBe(
      box.blindIndex('phone', '13800138000'),
    )
    expect(box.blindIndex('phone', '13800138000')).toMatch(/^[0-9a-f]{64}$/)
  })

  it('masks the middle', () => {
    expect(maskMiddle('110101199003074514', 6, 4)).toBe('110101********4514')
    expect(maskMiddle('13800138000', 3, 4)).toBe('138****8000')
    expect(maskMiddle('abc', 3, 4)).toBe('***')
  })

  it('rejects a key of the wrong length', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/)
  })
})
