import { randomBytes, scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { kekFromKeyFile, kekFromPassphrase, kekIdOf, newKekSalt } from './key-encryption-key.js'

describe('key-encryption keys', () => {
  it('derives the KEK from a passphrase with scrypt N=2^15, r=8, p=1 over the salt', async () => {
    const salt = newKekSalt()
    expect(salt).toHaveLength(16)
    const kek = await kekFromPassphrase('correct horse battery staple', salt)
    const expected = scryptSync('correct horse battery staple', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 << 20 })
    expect(Buffer.from(kek.key).equals(expected)).toBe(true)
    expect(kek.id).toBe(kekIdOf(kek.key))
    expect(await kekFromPassphrase('correct horse battery staple', salt)).toEqual(kek)
    expect((await kekFromPassphrase('correct horse battery staple', newKekSalt())).id).not.toBe(kek.id)
  })

  it('normalises the passphrase (NFC), so that the same words typed on another keyboard give the same key', async () => {
    const salt = newKekSalt()
    const composed = await kekFromPassphrase('医签口令 café au lait', salt)
    const decomposed = await kekFromPassphrase('医签口令 cafe\u0301 au lait', salt)
    expect(decomposed.id).toBe(composed.id)
  })

  it.each([
    ['short passphrase', 'too short', 16, 'passphrase'],
    ['long passphrase', 'x'.repeat(1025), 16, 'passphrase'],
    ['short salt', 'a long enough passphrase', 8, 'salt'],
  ])('rejects a %s', async (_, passphrase, saltLength, field) => {
    await expect(kekFromPassphrase(passphrase, new Uint8Array(randomBytes(saltLength)))).rejects.toMatchObject({
      code: 'KEY_FIELD_INVALID',
      details: { field },
    })
  })

  it('takes a 32-byte key file as it is, and nothing else', () => {
    const bytes = randomBytes(32)
    const kek = kekFromKeyFile(bytes)
    expect(Buffer.from(kek.key).equals(bytes)).toBe(true)
    expect(kek.id).toMatch(/^kek-[0-9a-f]{16}$/)
    expect(kekFromKeyFile(randomBytes(32)).id).not.toBe(kek.id)
    expect(() => kekFromKeyFile(randomBytes(31))).toThrowError(expect.objectContaining({ code: 'KEY_FIELD_INVALID' }))
  })
})
