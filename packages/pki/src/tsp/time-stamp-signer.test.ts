import { OctetString } from '@peculiar/asn1-schema'
import { Accuracy, MessageImprint, TSTInfo } from '@peculiar/asn1-tsp'
import { AlgorithmIdentifier } from '@peculiar/asn1-x509'
import { createSigner, type Signer } from '@yiqian/gm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCms, signCms } from '../cms/signed-data.js'
import { type Fixtures, makeFixtures } from '../cms/test-fixtures.js'
import { encodeDer } from '../der.js'
import {
  buildTimeStampReq,
  buildTstInfo,
  createTimeStampSigner,
  parseTstInfo,
  readTimeStampReq,
  readTimeStampToken,
  TIME_STAMP_HASHES,
  type TimeStampHash,
  type TstInfoFields,
  timeStampDigest,
  verifyTimeStampToken,
} from './time-stamp.js'

// The TSA hot path: TSTInfo and token encoded directly must be byte for byte what the schema encoder and signCms
// give; tokens without certificates (certReq false) verify with the certificate supplied; SHA-384/512 imprints.

let fx: Fixtures
beforeAll(() => {
  fx = makeFixtures()
})
afterAll(() => fx?.cleanup())

const data = new TextEncoder().encode('病历 medical record\n')
const ID_CT_TST_INFO = '1.2.840.113549.1.9.16.1.4'

/** The schema-encoder buildTstInfo the direct writer replaced, kept as the oracle. */
function schemaTstInfo(fields: TstInfoFields): Uint8Array {
  const genTime = new Date((fields.genTime ?? new Date()).getTime())
  if (Number.isNaN(genTime.getTime())) throw new Error('genTime is not a valid date')
  genTime.setUTCMilliseconds(0)
  const positive = (value: bigint): ArrayBuffer => {
    if (value <= 0n) throw new Error('not positive')
    let hex = value.toString(16)
    if (hex.length % 2) hex = `0${hex}`
    if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
    return new Uint8Array(Buffer.from(hex, 'hex')).buffer
  }
  const known = TIME_STAMP_HASHES[fields.hashAlgorithm]
  if (!known || fields.imprint.length !== known.bytes) throw new Error('bad imprint')
  const accuracy = fields.accuracy
  for (const part of [accuracy?.millis, accuracy?.micros]) {
    if (part !== undefined && (!Number.isInteger(part) || part < 1 || part > 999)) throw new Error('bad accuracy')
  }
  return encodeDer(
    new TSTInfo({
      version: 1,
      policy: fields.policy,
      messageImprint: new MessageImprint({
        hashAlgorithm: new AlgorithmIdentifier({ algorithm: known.oid }),
        hashedMessage: new OctetString(fields.imprint),
      }),
      serialNumber: positive(fields.serialNumber),
      genTime,
      accuracy: accuracy ? new Accuracy({ ...accuracy, seconds: accuracy.seconds ?? 0 }) : undefined,
      ordering: fields.ordering ?? false,
      nonce: fields.nonce === undefined ? undefined : positive(fields.nonce),
    }),
  )
}

describe('direct TSTInfo encoding', () => {
  const base: TstInfoFields = {
    policy: '0.4.0.2023.1.1',
    imprint: timeStampDigest('SM3', data),
    hashAlgorithm: 'SM3',
    serialNumber: 0x1234n,
    genTime: new Date('2026-11-28T08:00:00Z'),
  }
  it.each<[string, Partial<TstInfoFields>]>([
    ['the minimum', {}],
    ['SHA-256', { hashAlgorithm: 'SHA-256', imprint: timeStampDigest('SHA-256', data) }],
    ['SHA-384', { hashAlgorithm: 'SHA-384', imprint: timeStampDigest('SHA-384', data) }],
    ['SHA-512', { hashAlgorithm: 'SHA-512', imprint: timeStampDigest('SHA-512', data) }],
    ['a 128-bit serial with the high bit of a byte set', { serialNumber: 0x7fff_ffff_ffff_ffff_8000_0000_0000_0001n }],
    ['a serial needing a leading zero', { serialNumber: 0x80n }],
    ['a nonce', { nonce: 0x00f1e2d3c4b5a6978899n }],
    ['a nonce with its high bit set', { nonce: 0xffn }],
    ['accuracy in millis', { accuracy: { millis: 520 } }],
    ['accuracy seconds and micros', { accuracy: { seconds: 3, micros: 7 } }],
    ['accuracy of all three', { accuracy: { seconds: 300, millis: 999, micros: 1 } }],
    ['ordering', { ordering: true }],
    ['milliseconds dropped', { genTime: new Date('2026-11-28T08:00:00.999Z') }],
    ['a year past 2049', { genTime: new Date('2061-01-02T03:04:05Z') }],
    ['a long policy OID', { policy: '1.2.156.112562.7.2.300000000' }],
  ])('%s', (_, over) => {
    const fields = { ...base, ...over }
    const direct = buildTstInfo(fields)
    expect(Buffer.from(direct).toString('hex')).toBe(Buffer.from(schemaTstInfo(fields)).toString('hex'))
    expect(parseTstInfo(direct).serialNumber).toBe(fields.serialNumber)
  })

  it('refuses what buildTstInfo refuses', () => {
    for (const over of [{ imprint: new Uint8Array(31) }, { accuracy: { millis: 1000 } }, { serialNumber: 0n }]) {
      expect(() => schemaTstInfo({ ...base, ...over })).toThrow()
      expect(() => buildTstInfo({ ...base, ...over })).toThrow()
    }
  })
})

describe('createTimeStampSigner', () => {
  /** A deterministic signer over the TSA key's public half: both encoders then give comparable bytes. */
  function fixedSigner(of: Signer): Signer & { signed: Uint8Array[] } {
    const signed: Uint8Array[] = []
    return {
      algorithm: of.algorithm,
      publicKey: () => of.publicKey(),
      signed,
      async sign(bytes: Uint8Array) {
        signed.push(bytes)
        return Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01)
      },
    }
  }

  it('gives the same bytes as signCms for the token with certificates', async () => {
    const signer = fixedSigner(createSigner(fx.tsa.keyPem))
    const genTime = new Date('2026-11-28T08:00:00Z')
    const tstInfo = buildTstInfo({
      policy: '1.2.3.4.1',
      imprint: timeStampDigest('SHA-256', data),
      hashAlgorithm: 'SHA-256',
      serialNumber: 99n,
      genTime,
    })
    const direct = await createTimeStampSigner({ signer, certificate: fx.tsa.certDer, chain: [fx.ec.certDer] }).sign(
      tstInfo,
      genTime,
      true,
    )
    const generic = await signCms({
      content: tstInfo,
      detached: false,
      signer,
      certificate: fx.tsa.certDer,
      chain: [fx.ec.certDer],
      signingTime: genTime,
      contentType: ID_CT_TST_INFO,
    })
    expect(Buffer.from(direct).toString('hex')).toBe(Buffer.from(generic).toString('hex'))
    // Both signed the same attribute SET.
    expect(signer.signed[0]).toEqual(signer.signed[1])
  })

  it.each(['tsa', 'sm2Tsa'] as const)(
    'a %s token without certificates verifies once the certificate is supplied',
    async (which) => {
      const fixture = fx[which]
      const issuer = createTimeStampSigner({ signer: createSigner(fixture.keyPem), certificate: fixture.certDer })
      const imprint = timeStampDigest('SHA-384', data)
      const { token } = await issuer.issue(
        {
          policy: '1.2.3.4.1',
          imprint,
          hashAlgorithm: 'SHA-384',
          serialNumber: 5n,
          nonce: 6n,
          accuracy: { millis: 20 },
        },
        false,
      )
      expect(parseCms(token).signedData.certificates ?? []).toHaveLength(0)
      expect(readTimeStampToken(token).accuracyMs).toBe(20)
      const alone = await verifyTimeStampToken(token, { imprint, nonce: 6n })
      expect(alone.valid).toBe(false)
      const supplied = await verifyTimeStampToken(token, {
        imprint,
        nonce: 6n,
        certificates: [fx.ec.certDer, fixture.certDer],
      })
      expect(supplied.checks.filter((c) => c.status === 'failed')).toEqual([])
      expect(supplied.valid).toBe(true)
      expect(supplied.tstInfo?.hashAlgorithm).toBe('SHA-384')
      const wrong = await verifyTimeStampToken(token, {
        imprint: timeStampDigest('SHA-384', Uint8Array.of(1)),
        certificates: [fixture.certDer],
      })
      expect(wrong.valid).toBe(false)
    },
  )

  it('refuses a certificate without the timeStamping EKU or not holding the key', () => {
    expect(() => createTimeStampSigner({ signer: createSigner(fx.ec.keyPem), certificate: fx.ec.certDer })).toThrow(
      expect.objectContaining({ code: 'INVALID_CERTIFICATE' }),
    )
    expect(() => createTimeStampSigner({ signer: createSigner(fx.ec.keyPem), certificate: fx.tsa.certDer })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})

describe('readTimeStampReq', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  const req = (hash: TimeStampHash, nonce?: bigint) =>
    buildTimeStampReq({ imprint: timeStampDigest(hash, data), hashAlgorithm: hash, nonce })

  it.each(Object.keys(TIME_STAMP_HASHES) as TimeStampHash[])('reads a %s imprint', (hash) => {
    const reading = readTimeStampReq(req(hash, 1n))
    expect(reading.ok && reading.request.hashAlgorithm).toBe(hash)
    expect(reading.ok && reading.request.imprint.length).toBe(TIME_STAMP_HASHES[hash].bytes)
  })

  it('classifies each way a request is wrong', () => {
    const good = req('SHA-256', 1n)
    const sha256 = '0609608648016503040201'
    const cases: [string, Uint8Array, string][] = [
      ['truncated', good.subarray(0, 10), 'badDataFormat'],
      ['not DER (trailing byte)', Uint8Array.from([...good, 0]), 'badDataFormat'],
      ['an unknown hash', Buffer.from(hex(good).replace(sha256, '0609608648016503040209'), 'hex'), 'badAlg'],
      [
        'SHA-384 OID over 32 bytes',
        Buffer.from(hex(good).replace(sha256, '0609608648016503040202'), 'hex'),
        'badDataFormat',
      ],
      ['version 2', Buffer.from(hex(good).replace(/^(30..)020101/, '$1020102'), 'hex'), 'badRequest'],
      ['a zero nonce', Buffer.from(hex(good).replace(/020101$/, '020100'), 'hex'), 'badRequest'],
    ]
    for (const [label, bytes, failure] of cases) {
      const reading = readTimeStampReq(new Uint8Array(bytes))
      expect([label, reading.ok ? 'ok' : reading.failure]).toEqual([label, failure])
    }
  })
})
