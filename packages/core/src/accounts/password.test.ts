import { describe, expect, it } from 'vitest'
import { generateCredential, hashPassword, verifyPassword } from './password.js'

describe('passwords', () => {
  it('verifies the right password and rejects a wrong one', async () => {
    const stored = await hashPassword('正确的密码 correct horse')
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/)
    expect(await verifyPassword('正确的密码 correct horse', stored)).toBe(true)
    expect(await verifyPassword('正确的密码 correct hors', stored)).toBe(false)
    expect(await verifyPassword('anything', 'md5$abc')).toBe(false)
  })

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'))
  })

  it('generates credentials from the unambiguous alphabet without repeats across calls', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const c = generateCredential()
      expect(c).toMatch(/^[A-HJ-NP-Za-km-z2-9]{24}$/)
      seen.add(c)
    }
    expect(seen.size).toBe(200)
  })
})
