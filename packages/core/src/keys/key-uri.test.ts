import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { formatKeyUri, KEY_URI_MAX_LENGTH, parseKeyUri } from './key-uri.js'

function reasonOf(uri: string): string {
  try {
    parseKeyUri(uri)
  } catch (error) {
    if (isDomainError(error, 'KEY_URI_INVALID')) return String(error.details.reason)
    throw error
  }
  throw new Error(`expected ${uri} to be rejected`)
}

describe('parseKeyUri', () => {
  it.each([
    ['soft:ca-root', { scheme: 'soft', id: 'ca-root' }],
    ['soft:0', { scheme: 'soft', id: '0' }],
    ['SOFT:tsa-1', { scheme: 'soft', id: 'tsa-1' }],
  ])('reads %s', (uri, expected) => {
    expect(parseKeyUri(uri)).toEqual(expected)
  })

  it('reads a PKCS#11 URI with path and query attributes, percent-decoded (RFC 7512 §3 examples)', () => {
    const key = parseKeyUri(
      'pkcs11:token=Yiqian%20CA;object=issuing%20key;type=private;id=%01%02;x-vendor=a?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin',
    )
    expect(key).toEqual({
      scheme: 'pkcs11',
      token: 'Yiqian CA',
      object: 'issuing key',
      path: { token: 'Yiqian CA', object: 'issuing key', type: 'private', id: '\u0001\u0002', 'x-vendor': 'a' },
      query: { 'module-path': '/usr/lib/softhsm/libsofthsm2.so', 'pin-source': 'file:/run/pin' },
    })
  })

  it('reads UTF-8 token labels', () => {
    const key = parseKeyUri('pkcs11:token=%E5%8C%BB%E7%AD%BE;object=ca')
    expect(key.scheme === 'pkcs11' && key.token).toBe('医签')
  })

  it.each([
    ['', 'empty'],
    ['ca-root', 'scheme'],
    ['file:/etc/key.pem', 'scheme'],
    ['soft:', 'soft key id'],
    ['soft:CA', 'soft key id'],
    ['soft:-ca', 'soft key id'],
    ['soft:ca/root', 'soft key id'],
    [`soft:${'a'.repeat(65)}`, 'soft key id'],
    ['pkcs11:object=ca', 'token'],
    ['pkcs11:token=t', 'object'],
    ['pkcs11:token=t;object=', 'object'],
    ['pkcs11:token=t;object=a;token=u', 'twice'],
    ['pkcs11:token=t;object=a;colour=red', 'unknown attribute colour'],
    ['pkcs11:token=t;object=a b', 'percent-encoded'],
    ['pkcs11:token=t;object=a%zz', 'percent-encoded'],
    ['pkcs11:token=t;object=%ff', 'malformed percent-escape'],
    ['pkcs11:token=t;object=a;type=secret', 'object type'],
    ['pkcs11:token=t;object=a?pin-value=1234', 'pin-value'],
    ['pkcs11:token=t;object=a?module-name=x&module-path=/y', 'exclude'],
    ['pkcs11:token=t;object', 'name=value'],
    [`soft:${'a'.repeat(KEY_URI_MAX_LENGTH)}`, 'longer than'],
  ])('rejects %j (%s)', (uri, reason) => {
    expect(reasonOf(uri)).toContain(reason)
  })

  it('names the field in the error', () => {
    expect(() => parseKeyUri('nope')).toThrowError(
      expect.objectContaining({ code: 'KEY_URI_INVALID', details: expect.objectContaining({ field: 'uri' }) }),
    )
  })
})

describe('formatKeyUri', () => {
  it.each([
    'soft:ca-root',
    'pkcs11:token=Yiqian%20CA;object=issuing%20key;id=%01%02;type=private?module-path=%2Fusr%2Flib%2Fx.so',
    'pkcs11:token=%E5%8C%BB%E7%AD%BE;object=a%3Bb',
  ])('formats what it parses back to the same text: %s', (uri) => {
    expect(formatKeyUri(parseKeyUri(uri))).toBe(uri)
  })

  it('encodes separators inside values, so that the result parses to the same key', () => {
    const text = formatKeyUri({ scheme: 'pkcs11', token: 'a;b', object: 'c?d=e', path: {}, query: {} })
    expect(text).toBe('pkcs11:token=a%3Bb;object=c%3Fd%3De')
    expect(parseKeyUri(text)).toMatchObject({ token: 'a;b', object: 'c?d=e' })
  })
})
