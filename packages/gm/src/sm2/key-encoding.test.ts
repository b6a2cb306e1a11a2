import { readFileSync } from 'node:fs'
import { ECParameters, ECPrivateKey, id_ecPublicKey } from '@peculiar/asn1-ecc'
import { PrivateKeyInfo } from '@peculiar/asn1-pkcs8'
import { AsnSerializer, OctetString } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509'
import { describe, expect, it } from 'vitest'
import { bytesToHex, concatBytes, hexToBytes } from '../bytes.js'
import { type GmErrorCode, isGmError } from '../errors.js'
import { N } from './curve.js'
import {
  sm2PrivateKeyFromPem,
  sm2PrivateKeyFromPkcs8,
  sm2PrivateKeyFromSec1,
  sm2PrivateKeyToPem,
  sm2PrivateKeyToPkcs8,
  sm2PrivateKeyToSec1,
  sm2PublicKeyFromPem,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToPem,
  sm2PublicKeyToSpki,
} from './key-encoding.js'
import { generateSm2KeyPair } from './keys.js'
import { base64ToBytes, derToPem, pemToDer } from './pem.js'

function fixture(name: string): string {
  return readFileSync(new URL(`../../../../test/fixtures/gm/${name}`, import.meta.url), 'utf8')
}

function expectGmError(fn: () => unknown, code: GmErrorCode): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  if (!isGmError(thrown, code)) throw new Error(`expected GmError ${code}, got ${String(thrown)}`)
}

// Written by OpenSSL 3.0.19 (private keys kept under test/fixtures/gm): `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2`, `openssl pkey -pubout`,
// `openssl ec` (which labels SEC 1 SM2 keys "SM2 PRIVATE KEY").
const OPENSSL_PKCS8 = fixture('openssl-sm2-pkcs8.pem')
const OPENSSL_SPKI = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEzJ6PuhYncacpazFgcXWWwdfDPsq+
r/lGNIVmBDBeoworWNTk5OPKLxw1FmZXXKfYwtRKRIdI8oki+47iSv9cCQ==
-----END PUBLIC KEY-----
`
const OPENSSL_SEC1 = fixture('openssl-sm2-sec1.pem')
const OPENSSL_D = 'a2c71f4e1ddb8db3b47c659a9c654048e3d20295b48a61d8297c1cf9da00dcda'
const P256_PKCS8 =
  '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420c78cb0b01c2816fe3af4182cd5083eea0aaa922701b475be6f98e6cde3245dd2a14403420004d4629abec0f5e165f9235463a17f0564234f6e9f64bf7b40f9f9bdba2d10afd70808713b0e61ce37469ac9b4c0c5e347ba7654ef91f62b0794ac4f0070375efc'
const P256_SEC1 =
  '30770201010420c78cb0b01c2816fe3af4182cd5083eea0aaa922701b475be6f98e6cde3245dd2a00a06082a8648ce3d030107a14403420004d4629abec0f5e165f9235463a17f0564234f6e9f64bf7b40f9f9bdba2d10afd70808713b0e61ce37469ac9b4c0c5e347ba7654ef91f62b0794ac4f0070375efc'
const P256_SPKI =
  '3059301306072a8648ce3d020106082a8648ce3d03010703420004d4629abec0f5e165f9235463a17f0564234f6e9f64bf7b40f9f9bdba2d10afd70808713b0e61ce37469ac9b4c0c5e347ba7654ef91f62b0794ac4f0070375efc'
/** `openssl ec -pubout -conv_form compressed` of the key above. */
const SM2_COMPRESSED_SPKI =
  '3039301306072a8648ce3d020106082a811ccf5501822d03220003cc9e8fba162771a7296b3160717596c1d7c33ecabeaff94634856604305ea30a'
/** `openssl ec -pubout -param_enc explicit`: SM2 parameters spelled out instead of named. */
const SM2_EXPLICIT_SPKI =
  '308201333081ec06072a8648ce3d02013081e0020101302c06072a8648ce3d0101022100fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff30440420fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc042028e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e9304410432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0022100fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d5412302010103420004cc9e8fba162771a7296b3160717596c1d7c33ecabeaff94634856604305ea30a2b58d4e4e4e3ca2f1c351666575ca7d8c2d44a448748f28922fb8ee24aff5c09'

const SM2_OID = '1.2.156.10197.1.301'
const sm2Params = () => new Uint8Array(AsnSerializer.serialize(new ECParameters({ namedCurve: SM2_OID }))).buffer
const der = (value: object) => new Uint8Array(AsnSerializer.serialize(value))
const hex32 = (value: bigint) => hexToBytes(value.toString(16).padStart(64, '0'))

/** PKCS#8 built field by field, so that each field can be made wrong. */
function pkcs8(fields: { d?: Uint8Array; publicKey?: Uint8Array; version?: number; innerVersion?: number }) {
  const inner = new ECPrivateKey({
    version: fields.innerVersion ?? 1,
    privateKey: new OctetString(fields.d ?? hexToBytes(OPENSSL_D)),
  })
  if (fields.publicKey) inner.publicKey = fields.publicKey.slice().buffer
  return der(
    new PrivateKeyInfo({
      version: fields.version ?? 0,
      privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters: sm2Params() }),
      privateKey: new OctetString(der(inner)),
    }),
  )
}

describe('OpenSSL encodings', () => {
  it('reads what OpenSSL writes and writes the same bytes back', () => {
    const pair = sm2PrivateKeyFromPem(OPENSSL_PKCS8)
    expect(bytesToHex(pair.privateKey)).toBe(OPENSSL_D)
    expect(pair.publicKey).toEqual(sm2PublicKeyFromPem(OPENSSL_SPKI))
    expect(sm2PrivateKeyToPem(pair.privateKey)).toBe(OPENSSL_PKCS8)
    expect(sm2PublicKeyToPem(pair.publicKey)).toBe(OPENSSL_SPKI)
    const sec1 = sm2PrivateKeyFromPem(OPENSSL_SEC1)
    expect(sec1).toEqual(pair)
    expect(sm2PrivateKeyToPem(pair.privateKey, 'sec1')).toBe(OPENSSL_SEC1.replaceAll('SM2 PRIVATE', 'EC PRIVATE'))
  })
})

describe('round trips', () => {
  it('are byte-exact for PKCS#8, SEC 1, SPKI and PEM', () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateSm2KeyPair()
      const p8 = sm2PrivateKeyToPkcs8(privateKey)
      const sec1 = sm2PrivateKeyToSec1(privateKey)
      const spki = sm2PublicKeyToSpki(publicKey)
      expect(sm2PrivateKeyFromPkcs8(p8)).toEqual({ privateKey, publicKey })
      expect(sm2PrivateKeyFromSec1(sec1)).toEqual({ privateKey, publicKey })
      expect(sm2PublicKeyFromSpki(spki)).toEqual(publicKey)
      expect(sm2PrivateKeyToPkcs8(sm2PrivateKeyFromPkcs8(p8).privateKey)).toEqual(p8)
      expect(sm2PrivateKeyToSec1(sm2PrivateKeyFromSec1(sec1).privateKey)).toEqual(sec1)
      expect(sm2PublicKeyToSpki(sm2PublicKeyFromSpki(spki))).toEqual(spki)
      for (const format of ['pkcs8', 'sec1'] as const) {
        const pem = sm2PrivateKeyToPem(privateKey, format)
        expect(sm2PrivateKeyToPem(sm2PrivateKeyFromPem(pem).privateKey, format)).toBe(pem)
      }
      const pubPem = sm2PublicKeyToPem(publicKey)
      expect(sm2PublicKeyToPem(sm2PublicKeyFromPem(pubPem))).toBe(pubPem)
    }
  })

  it('keeps keys whose d has leading zero bytes at 32 bytes', () => {
    const d = hex32(0x1234n)
    const pair = sm2PrivateKeyFromPkcs8(sm2PrivateKeyToPkcs8(d))
    expect(pair.privateKey).toEqual(d)
    expect(bytesToHex(sm2PrivateKeyToSec1(d))).toContain(`0420${'00'.repeat(30)}1234`)
  })

  it('accepts PKCS#8 without the embedded public key and with curve parameters inside', () => {
    const { privateKey, publicKey } = sm2PrivateKeyFromPem(OPENSSL_PKCS8)
    expect(sm2PrivateKeyFromPkcs8(pkcs8({})).publicKey).toEqual(publicKey)
    const inner = new ECPrivateKey({
      version: 1,
      privateKey: new OctetString(privateKey),
      parameters: new ECParameters({ namedCurve: SM2_OID }),
    })
    const withParameters = der(
      new PrivateKeyInfo({
        version: 0,
        privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters: sm2Params() }),
        privateKey: new OctetString(der(inner)),
      }),
    )
    expect(sm2PrivateKeyFromPkcs8(withParameters).privateKey).toEqual(privateKey)
  })
})

describe('hostile key encodings', () => {
  const opensslPkcs8 = pemToDer(OPENSSL_PKCS8, ['PRIVATE KEY']).der
  const opensslSpki = pemToDer(OPENSSL_SPKI, ['PUBLIC KEY']).der
  const opensslSec1 = pemToDer(OPENSSL_SEC1, ['SM2 PRIVATE KEY']).der

  it('rejects private scalars 0, n-1, n, above n and of the wrong length with INVALID_KEY', () => {
    for (const d of [0n, N - 1n, N, N + 1n, (1n << 256n) - 1n]) {
      expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ d: hex32(d) })), 'INVALID_KEY')
      const sec1 = der(
        new ECPrivateKey({
          version: 1,
          privateKey: new OctetString(hex32(d)),
          parameters: new ECParameters({ namedCurve: SM2_OID }),
        }),
      )
      expectGmError(() => sm2PrivateKeyFromSec1(sec1), 'INVALID_KEY')
    }
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ d: hexToBytes(OPENSSL_D).subarray(1) })), 'INVALID_KEY')
    expectGmError(
      () => sm2PrivateKeyFromPkcs8(pkcs8({ d: concatBytes(Uint8Array.of(0), hexToBytes(OPENSSL_D)) })),
      'INVALID_KEY',
    )
    expectGmError(() => sm2PrivateKeyToPkcs8(hex32(0n)), 'INVALID_KEY')
    expectGmError(() => sm2PrivateKeyToSec1(hex32(N - 1n)), 'INVALID_KEY')
  })

  it('rejects an embedded public key that does not belong to d, or is not a valid point', () => {
    const other = generateSm2KeyPair().publicKey
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ publicKey: other })), 'INVALID_KEY')
    const offCurve = other.slice()
    offCurve[64]! ^= 1
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ publicKey: offCurve })), 'INVALID_POINT')
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ publicKey: other.subarray(0, 33) })), 'INVALID_POINT')
  })

  it('rejects wrong versions', () => {
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ version: 1 })), 'INVALID_KEY')
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ innerVersion: 0 })), 'INVALID_KEY')
    expectGmError(() => sm2PrivateKeyFromPkcs8(pkcs8({ innerVersion: 2 })), 'INVALID_KEY')
  })

  it('rejects other curves and algorithms with UNSUPPORTED_ALGORITHM', () => {
    expectGmError(() => sm2PrivateKeyFromPkcs8(hexToBytes(P256_PKCS8)), 'UNSUPPORTED_ALGORITHM')
    expectGmError(() => sm2PrivateKeyFromSec1(hexToBytes(P256_SEC1)), 'UNSUPPORTED_ALGORITHM')
    expectGmError(() => sm2PublicKeyFromSpki(hexToBytes(P256_SPKI)), 'UNSUPPORTED_ALGORITHM')
    expectGmError(() => sm2PublicKeyFromSpki(hexToBytes(SM2_EXPLICIT_SPKI)), 'UNSUPPORTED_ALGORITHM')
    const rsa = der(
      new SubjectPublicKeyInfo({
        algorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.1', parameters: null }),
        subjectPublicKey: new Uint8Array(65).buffer,
      }),
    )
    expectGmError(() => sm2PublicKeyFromSpki(rsa), 'UNSUPPORTED_ALGORITHM')
    // SM2 OID used as the algorithm itself, as some older toolkits did.
    const sm2AsAlgorithm = der(
      new SubjectPublicKeyInfo({
        algorithm: new AlgorithmIdentifier({ algorithm: SM2_OID }),
        subjectPublicKey: sm2PublicKeyFromSpki(opensslSpki).slice().buffer,
      }),
    )
    expectGmError(() => sm2PublicKeyFromSpki(sm2AsAlgorithm), 'UNSUPPORTED_ALGORITHM')
  })

  it('rejects compressed and invalid points in SPKI with INVALID_POINT', () => {
    expectGmError(() => sm2PublicKeyFromSpki(hexToBytes(SM2_COMPRESSED_SPKI)), 'INVALID_POINT')
    const spki = (point: Uint8Array) =>
      der(
        new SubjectPublicKeyInfo({
          algorithm: new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters: sm2Params() }),
          subjectPublicKey: point.slice().buffer,
        }),
      )
    const point = sm2PublicKeyFromSpki(opensslSpki)
    const offCurve = point.slice()
    offCurve[40]! ^= 0x10
    expectGmError(() => sm2PublicKeyFromSpki(spki(offCurve)), 'INVALID_POINT')
    expectGmError(() => sm2PublicKeyFromSpki(spki(Uint8Array.of(0))), 'INVALID_POINT')
    expectGmError(() => sm2PublicKeyFromSpki(spki(concatBytes(Uint8Array.of(4), new Uint8Array(64)))), 'INVALID_POINT')
    expectGmError(() => sm2PublicKeyToSpki(offCurve), 'INVALID_POINT')
  })

  it('requires SEC 1 keys to name their curve', () => {
    const noParameters = der(new ECPrivateKey({ version: 1, privateKey: new OctetString(hexToBytes(OPENSSL_D)) }))
    expectGmError(() => sm2PrivateKeyFromSec1(noParameters), 'INVALID_KEY')
  })

  it('rejects trailing bytes, truncation, BER lengths and oversized input with INVALID_ENCODING', () => {
    for (const [input, parse] of [
      [opensslPkcs8, sm2PrivateKeyFromPkcs8],
      [opensslSec1, sm2PrivateKeyFromSec1],
      [opensslSpki, sm2PublicKeyFromSpki],
    ] as const) {
      expectGmError(() => parse(concatBytes(input, Uint8Array.of(0))), 'INVALID_ENCODING')
      expectGmError(() => parse(concatBytes(input, input)), 'INVALID_ENCODING')
      for (let cut = 0; cut < input.length; cut++)
        expectGmError(() => parse(input.subarray(0, cut)), 'INVALID_ENCODING')
      expectGmError(() => parse(new Uint8Array(16 * 1024 + 1)), 'INVALID_ENCODING')
      expectGmError(() => parse('MIGH' as unknown as Uint8Array), 'INVALID_ENCODING')
    }
    // Outer SEQUENCE length in long form (0x81 0x59 instead of 0x59), and indefinite.
    const body = opensslSpki.subarray(2)
    expectGmError(() => sm2PublicKeyFromSpki(concatBytes(Uint8Array.of(0x30, 0x81, 0x59), body)), 'INVALID_ENCODING')
    expectGmError(
      () => sm2PublicKeyFromSpki(concatBytes(Uint8Array.of(0x30, 0x80), body, Uint8Array.of(0, 0))),
      'INVALID_ENCODING',
    )
    // BIT STRING with a non-zero unused-bits count.
    const unusedBits = opensslSpki.slice()
    expect(unusedBits[25]).toBe(0)
    unusedBits[25] = 1
    expectGmError(() => sm2PublicKeyFromSpki(unusedBits), 'INVALID_ENCODING')
    // PKCS#8 version INTEGER 0 written non-minimally (02 02 00 00) inside a longer SEQUENCE.
    const nonMinimal = concatBytes(
      Uint8Array.of(0x30, 0x81, opensslPkcs8[2]! + 1, 0x02, 0x02, 0x00, 0x00),
      opensslPkcs8.subarray(6),
    )
    expectGmError(() => sm2PrivateKeyFromPkcs8(nonMinimal), 'INVALID_ENCODING')
    // A non-strict ECPrivateKey inside a strict PKCS#8 is caught too.
    const inner = der(new ECPrivateKey({ version: 1, privateKey: new OctetString(hexToBytes(OPENSSL_D)) }))
    const innerLongForm = concatBytes(Uint8Array.of(0x30, 0x81, inner[1]!), inner.subarray(2))
    const wrapped = der(
      new PrivateKeyInfo({
        version: 0,
        privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters: sm2Params() }),
        privateKey: new OctetString(innerLongForm),
      }),
    )
    expectGmError(() => sm2PrivateKeyFromPkcs8(wrapped), 'INVALID_ENCODING')
  })
})

describe('PEM', () => {
  it('accepts CRLF and surrounding whitespace', () => {
    const expected = sm2PrivateKeyFromPem(OPENSSL_PKCS8)
    expect(sm2PrivateKeyFromPem(OPENSSL_PKCS8.replaceAll('\n', '\r\n'))).toEqual(expected)
    expect(sm2PrivateKeyFromPem(`\n  ${OPENSSL_PKCS8}\n\n`)).toEqual(expected)
    expect(sm2PrivateKeyFromPem(OPENSSL_PKCS8.trimEnd())).toEqual(expected)
  })

  it('accepts only the expected labels', () => {
    expectGmError(() => sm2PrivateKeyFromPem(OPENSSL_SPKI), 'INVALID_ENCODING')
    expectGmError(() => sm2PublicKeyFromPem(OPENSSL_PKCS8), 'INVALID_ENCODING')
    expectGmError(
      () => sm2PrivateKeyFromPem(OPENSSL_PKCS8.replaceAll('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY')),
      'INVALID_ENCODING',
    )
    expectGmError(() => sm2PrivateKeyFromPem(OPENSSL_PKCS8.replace('END PRIVATE', 'END PUBLIC')), 'INVALID_ENCODING')
    // The label decides the parser: PKCS#8 bytes under a SEC 1 label fail.
    expectGmError(
      () => sm2PrivateKeyFromPem(OPENSSL_PKCS8.replaceAll('PRIVATE KEY', 'EC PRIVATE KEY')),
      'INVALID_ENCODING',
    )
  })

  it('rejects trailing garbage, a second block, headers, blank lines and stray characters', () => {
    for (const pem of [
      `${OPENSSL_SPKI}x`,
      `${OPENSSL_SPKI}${OPENSSL_SPKI}`,
      `junk\n${OPENSSL_SPKI}`,
      OPENSSL_SPKI.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n'),
      OPENSSL_SPKI.replace('-----\n', '-----\n\n'),
      OPENSSL_SPKI.replace('MFkw', 'MF kw'),
      OPENSSL_SPKI.replace('MFkw', 'MF\tkw'),
      OPENSSL_SPKI.replace('MFkw', 'MF*w'),
      OPENSSL_SPKI.replace('==', '='),
      OPENSSL_SPKI.replace('==', ''),
      OPENSSL_SPKI.replace('Q==', 'R=='), // non-zero unused bits
      OPENSSL_SPKI.replace('\n', '\r'),
      '',
      'MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE',
    ]) {
      expectGmError(() => sm2PublicKeyFromPem(pem), 'INVALID_ENCODING')
    }
    expectGmError(() => sm2PublicKeyFromPem(`${OPENSSL_SPKI}${' '.repeat(30_000)}`), 'INVALID_ENCODING')
    expectGmError(() => sm2PublicKeyFromPem(undefined as unknown as string), 'INVALID_ENCODING')
  })

  it('writes 64-character lines and reads canonical base64 only', () => {
    const pem = derToPem(new Uint8Array(100).fill(0xfb), 'TEST')
    const lines = pem.trimEnd().split('\n')
    expect(lines.map((l) => l.length)).toEqual([20, 64, 64, 8, 18])
    expect(pemToDer(pem, ['TEST']).der).toEqual(new Uint8Array(100).fill(0xfb))
    expect(base64ToBytes('')).toEqual(new Uint8Array())
    expectGmError(() => base64ToBytes('AB=='.replace('B', 'C')), 'INVALID_ENCODING')
    expectGmError(() => base64ToBytes('A==='), 'INVALID_ENCODING')
    expectGmError(() => base64ToBytes('AAAA='), 'INVALID_ENCODING')
  })
})
