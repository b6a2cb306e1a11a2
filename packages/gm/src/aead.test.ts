import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { openSm4Gcm, SEALED_SM4_GCM_OVERHEAD, SEALED_SM4_GCM_VERSION, sealSm4Gcm } from './aead.js'
import { bytesToHex, concatBytes } from './bytes.js'
import { GmError } from './errors.js'
import { sm4GcmDecrypt } from './sm4-gcm.js'

const randomBytes = (length: number): Uint8Array => new Uint8Array(nodeRandomBytes(length))

function codeOf(action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    expect(error).toBeInstanceOf(GmError)
    return (error as GmError).code
  }
  return undefined
}

describe('sealSm4Gcm / openSm4Gcm', () => {
  const key = randomBytes(16)

  it('round-trips bytes and UTF-8 strings of many lengths, with and without associated data', () => {
    for (const length of [0, 1, 15, 16, 17, 18, 100, 4096]) {
      const plaintext = randomBytes(length)
      const ad = randomBytes(randomInt(0, 40))
      expect(openSm4Gcm(key, sealSm4Gcm(key, plaintext, ad), ad)).toEqual(plaintext)
      expect(openSm4Gcm(key, sealSm4Gcm(key, plaintext))).toEqual(plaintext)
    }
    const idCard = '11010519491231002X'
    const sealed = sealSm4Gcm(key, idCard, 'patients.id_card:42')
    expect(new TextDecoder().decode(openSm4Gcm(key, sealed, 'patients.id_card:42'))).toBe(idCard)
    expect(new TextDecoder().decode(openSm4Gcm(key, sealSm4Gcm(key, '张三')))).toBe('张三')
  })

  it('writes version ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag, authenticating the version byte', () => {
    const plaintext = randomBytes(23)
    const ad = randomBytes(5)
    const sealed = sealSm4Gcm(key, plaintext, ad)
    expect(sealed).toHaveLength(1 + 12 + 23 + 16)
    expect(SEALED_SM4_GCM_OVERHEAD).toBe(29)
    expect(sealed[0]).toBe(SEALED_SM4_GCM_VERSION)
    // Any SP 800-38D implementation opens it, given the version byte in front of the associated data.
    const opened = sm4GcmDecrypt(
      key,
      sealed.subarray(1, 13),
      sealed.subarray(13, 36),
      sealed.subarray(36),
      concatBytes(Uint8Array.of(1), ad),
    )
    expect(opened).toEqual(plaintext)
  })

  it('draws a fresh nonce every time', () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 200; i++) nonces.add(bytesToHex(sealSm4Gcm(key, 'same').subarray(1, 13)))
    expect(nonces.size).toBe(200)
  })

  it('rejects a wrong key, wrong or missing associated data, and any changed byte', () => {
    const ad = 'row:7'
    const sealed = sealSm4Gcm(key, randomBytes(40), ad)
    expect(codeOf(() => openSm4Gcm(randomBytes(16), sealed, ad))).toBe('INVALID_CIPHERTEXT')
    expect(codeOf(() => openSm4Gcm(key, sealed, 'row:8'))).toBe('INVALID_CIPHERTEXT')
    expect(codeOf(() => openSm4Gcm(key, sealed))).toBe('INVALID_CIPHERTEXT')
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Uint8Array.from(sealed)
      tampered[i]! ^= 1 << randomInt(8)
      expect(
        codeOf(() => openSm4Gcm(key, tampered, ad)),
        `byte ${i}`,
      ).toBe('INVALID_CIPHERTEXT')
    }
  })

  it('rejects truncated, extended and unknown-version blobs with INVALID_CIPHERTEXT', () => {
    const sealed = sealSm4Gcm(key, randomBytes(10))
    for (let length = 0; length < sealed.length; length++) {
      expect(
        codeOf(() => openSm4Gcm(key, sealed.subarray(0, length))),
        `length ${length}`,
      ).toBe('INVALID_CIPHERTEXT')
    }
    expect(codeOf(() => openSm4Gcm(key, concatBytes(sealed, Uint8Array.of(0))))).toBe('INVALID_CIPHERTEXT')
    for (const version of [0x00, 0x02, 0xff]) {
      const other = Uint8Array.from(sealed)
      other[0] = version
      expect(codeOf(() => openSm4Gcm(key, other))).toBe('INVALID_CIPHERTEXT')
    }
    // The shortest valid blob: empty plaintext.
    expect(openSm4Gcm(key, sealSm4Gcm(key, new Uint8Array(0)))).toHaveLength(0)
    expect(sealSm4Gcm(key, new Uint8Array(0))).toHaveLength(SEALED_SM4_GCM_OVERHEAD)
  })

  it('rejects keys of the wrong length and input of the wrong type with INVALID_ARGUMENT', () => {
    for (const bad of [randomBytes(0), randomBytes(15), randomBytes(32), 'k'.repeat(16)] as Uint8Array[]) {
      expect(codeOf(() => sealSm4Gcm(bad, 'x'))).toBe('INVALID_ARGUMENT')
      expect(codeOf(() => openSm4Gcm(bad, sealSm4Gcm(key, 'x')))).toBe('INVALID_ARGUMENT')
    }
    expect(codeOf(() => sealSm4Gcm(key, 42 as unknown as string))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => sealSm4Gcm(key, 'x', 42 as unknown as string))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => openSm4Gcm(key, bytesToHex(sealSm4Gcm(key, 'x')) as unknown as Uint8Array))).toBe(
      'INVALID_ARGUMENT',
    )
  })
})
