import { describe, expect, it } from 'vitest'
import { mutate, seededRandom } from '../cms/test-fixtures.js'
import {
  buildTimeStampReq,
  readTimeStampReq,
  readTimeStampReqBySchema,
  TIME_STAMP_HASHES,
  type TimeStampHash,
  type TimeStampRequest,
} from './time-stamp.js'

const CASES = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)
const hashes = Object.keys(TIME_STAMP_HASHES) as TimeStampHash[]

function requests(random: () => number, count: number): { request: TimeStampRequest; der: Uint8Array }[] {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
  return Array.from({ length: count }, (_, i) => {
    const hashAlgorithm = hashes[i % hashes.length]!
    const nonceBytes = bytes(1 + (i % 20))
    nonceBytes[0] = nonceBytes[0]! | 1
    const request: TimeStampRequest = {
      hashAlgorithm,
      imprint: bytes(TIME_STAMP_HASHES[hashAlgorithm].bytes),
      ...(i % 3 !== 0 && { nonce: BigInt(`0x${Buffer.from(nonceBytes).toString('hex')}`) }),
      ...(i % 2 === 0 && { certReq: true }),
      ...(i % 5 === 0 && { policy: `1.2.156.112559.${i % 7}.300000000` }),
    }
    return { request, der: buildTimeStampReq(request) }
  })
}

describe('readTimeStampReq', () => {
  it('reads the usual requests directly with the fields the schema parser gives', () => {
    for (const { request, der } of requests(seededRandom(0x7157), 400)) {
      const direct = readTimeStampReq(der)
      expect(direct).toEqual(readTimeStampReqBySchema(der))
      expect(direct).toMatchObject({
        ok: true,
        request: {
          hashAlgorithm: request.hashAlgorithm,
          imprint: request.imprint,
          nonce: request.nonce,
          certReq: request.certReq ?? false,
          policy: request.policy,
          extensions: [],
        },
      })
    }
  })

  it(`answers every mutated request as the schema parser does (seeded, ${CASES.toLocaleString('en-US')} mutations)`, {
    timeout: Math.max(30_000, CASES * 6),
  }, () => {
    const random = seededRandom(0xd15c)
    const valid = requests(random, 64)
    let accepted = 0
    for (let i = 0; i < CASES; i++) {
      const der = mutate(valid[i % valid.length]!.der, random)
      const direct = readTimeStampReq(der)
      const schema = readTimeStampReqBySchema(der)
      // The same outcome, failure class and fields; the reason text may differ only where the schema path produced it.
      expect(direct.ok).toBe(schema.ok)
      if (direct.ok && schema.ok) {
        expect(direct.request).toEqual(schema.request)
        accepted++
      } else if (!direct.ok && !schema.ok) expect(direct.failure).toBe(schema.failure)
    }
    // Some mutations (a changed imprint or nonce byte) stay valid requests: the comparison is not vacuous.
    expect(accepted).toBeGreaterThan(CASES / 20)
  })
})
