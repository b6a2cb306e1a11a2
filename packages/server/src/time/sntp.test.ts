import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import {
  decodeNtpTimestamp,
  decodeSntpReply,
  encodeNtpTimestamp,
  encodeSntpRequest,
  offsetAndDelay,
  parseSntpAddress,
  querySntp,
  SntpError,
} from './sntp.js'
import { startTestSntpServer } from './test-sntp-server.js'

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

// A reply written byte by byte: LI 0, VN 4, mode 4, stratum 1, poll 6, precision −20, root delay 1/256 s,
// root dispersion 1/512 s, refid "GPS", and timestamps around NTP second 0xECA00000 (2025-10-20T00:25:36Z):
//   T1 (origin)  ECA00000.00000000                 (local clock)
//   T2 (receive) ECA00002.02000000  = T1 + 2 s + 7.8125 ms
//   T3 (transmit)ECA00002.04000000  = T1 + 2 s + 15.625 ms
//   T4 (arrival)                     = T1 + 23.4375 ms     (local clock)
// so θ = ((T2 − T1) + (T3 − T4)) / 2 = 2000 ms and δ = (T4 − T1) − (T3 − T2) = 15.625 ms.
const ORIGIN = hex('ECA00000 00000000')
const REPLY = hex(`
  24 01 06 EC
  00000100 00000080
  47505300
  ECA00001 00000000
  ECA00000 00000000
  ECA00002 02000000
  ECA00002 04000000`)
const T1_MS = 1_760_919_936_000

function withByte(packet: Uint8Array, index: number, value: number): Uint8Array {
  const copy = packet.slice()
  copy[index] = value
  return copy
}

describe('NTP timestamps', () => {
  it.each([
    ['the Unix epoch', 0, '83AA7E80 00000000'],
    ['half a second later', 500, '83AA7E80 80000000'],
    ['2025-10-20T00:25:36.0078125Z', T1_MS + 7.8125, 'ECA00000 02000000'],
    ['the start of NTP era 1 (2036-02-07T06:28:16Z)', Date.parse('2036-02-07T06:28:16Z'), '00000000 00000000'],
  ])('%s', (_, unixMs, wire) => {
    expect(Buffer.from(encodeNtpTimestamp(unixMs)).toString('hex').toUpperCase()).toBe(wire.replace(' ', ''))
    expect(decodeNtpTimestamp(hex(wire))).toBe(unixMs)
  })

  it('keeps sub-millisecond precision (to about a quarter of a microsecond, the float resolution of Unix ms)', () => {
    expect(decodeNtpTimestamp(hex('ECA00000 000010C7')) - T1_MS).toBeCloseTo(0.001, 3) // 0x10C7 ≈ 1 µs
    expect(decodeNtpTimestamp(hex('ECA00000 00418937')) - T1_MS).toBeCloseTo(1, 3) // 0x418937 ≈ 1 ms
    expect(decodeNtpTimestamp(hex('ECA00000 0020C49C')) - T1_MS).toBeCloseTo(0.5, 3) // ≈ 0.5 ms
  })
})

describe('SNTP request', () => {
  it('is 48 bytes, LI 0 VN 4 mode 3, with the nonce as transmit timestamp', () => {
    const request = encodeSntpRequest(hex('0123456789ABCDEF'))
    expect(request).toHaveLength(48)
    expect(request[0]).toBe(0x23)
    expect(request.subarray(1, 40).every((b) => b === 0)).toBe(true)
    expect(Buffer.from(request.subarray(40)).toString('hex')).toBe('0123456789abcdef')
  })

  it('draws a fresh random nonce for each request', () => {
    const nonces = new Set(
      Array.from({ length: 100 }, () => Buffer.from(encodeSntpRequest().subarray(40)).toString('hex')),
    )
    expect(nonces.size).toBe(100)
  })
})

describe('SNTP reply', () => {
  it('decodes a hand-made reply and yields θ = 2000 ms, δ = 15.625 ms', () => {
    const reply = decodeSntpReply(REPLY, ORIGIN)
    expect(reply).toMatchObject({
      leap: 0,
      version: 4,
      mode: 4,
      stratum: 1,
      poll: 6,
      precision: -20,
      rootDelayMs: 1000 / 256,
      rootDispersionMs: 1000 / 512,
      referenceId: 'GPS',
      referenceTimeMs: T1_MS + 1000,
      receiveTimeMs: T1_MS + 2007.8125,
      transmitTimeMs: T1_MS + 2015.625,
    })
    expect(offsetAndDelay(T1_MS, reply.receiveTimeMs, reply.transmitTimeMs, T1_MS + 23.4375)).toEqual({
      offsetMs: 2000,
      delayMs: 15.625,
    })
  })

  it('reads a stratum-2 reference id as an IPv4 address', () => {
    expect(decodeSntpReply(withByte(withByte(REPLY, 1, 2), 12, 10), ORIGIN).referenceId).toBe('10.80.83.0')
  })

  it('accepts version 3 and the leap indicator as sent', () => {
    const v3 = decodeSntpReply(withByte(REPLY, 0, 0x1c), ORIGIN)
    expect(v3.version).toBe(3)
    expect(decodeSntpReply(withByte(REPLY, 0, 0xe4), ORIGIN).leap).toBe(3)
  })

  it.each([
    ['a truncated packet', REPLY.subarray(0, 47), ORIGIN, 'malformed'],
    ['an empty packet', new Uint8Array(0), ORIGIN, 'malformed'],
    ['a client packet (mode 3)', withByte(REPLY, 0, 0x23), ORIGIN, 'malformed'],
    ['a symmetric-active packet (mode 1)', withByte(REPLY, 0, 0x21), ORIGIN, 'malformed'],
    ['version 2', withByte(REPLY, 0, 0x14), ORIGIN, 'malformed'],
    ['version 5', withByte(REPLY, 0, 0x2c), ORIGIN, 'malformed'],
    ['an answer to another request', REPLY, hex('ECA00000 00000001'), 'origin-mismatch'],
    [
      'a zero transmit timestamp',
      Uint8Array.from([...REPLY.subarray(0, 40), 0, 0, 0, 0, 0, 0, 0, 0]),
      ORIGIN,
      'malformed',
    ],
  ] as const)('rejects %s', (_, packet, origin, code) => {
    expect(() => decodeSntpReply(packet, origin)).toThrowError(expect.objectContaining({ code }))
  })

  it.each(['RATE', 'DENY', 'RSTR'])("reports kiss-o'-death %s with its code", (kissCode) => {
    const kiss = withByte(REPLY, 1, 0)
    kiss.set(Buffer.from(kissCode, 'ascii'), 12)
    expect(() => decodeSntpReply(kiss, ORIGIN)).toThrowError(
      expect.objectContaining({ code: 'kiss-o-death', kissCode }),
    )
  })

  it('accepts trailing bytes (extension fields / MAC) after the 48-byte header', () => {
    const longer = new Uint8Array(68)
    longer.set(REPLY)
    expect(decodeSntpReply(longer, ORIGIN).stratum).toBe(1)
  })
})

describe('hostile replies', () => {
  /** Deterministic PRNG (mulberry32) so a failing mutation can be replayed from its seed. */
  function prng(seed: number): () => number {
    let a = seed >>> 0
    return () => {
      a = (a + 0x6d2b79f5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
  const CASES = Number(process.env.YIQIAN_FUZZ_CASES ?? 10_000)

  it(`never throws anything but an SntpError, nor accepts a changed origin (seeded, ${CASES} mutations)`, () => {
    const random = prng(0x5eed)
    const pick = (n: number) => Math.floor(random() * n)
    for (let i = 0; i < CASES; i++) {
      let packet: Uint8Array = REPLY.slice()
      for (let edits = 1 + pick(4); edits > 0; edits--) {
        const at = pick(packet.length)
        const kind = pick(4)
        if (kind === 0) packet[at] = (packet[at] as number) ^ (1 << pick(8))
        else if (kind === 1) packet[at] = pick(256)
        else if (kind === 2) packet = packet.slice(0, pick(packet.length + 1))
        else packet = Uint8Array.from([...packet, ...Array.from({ length: pick(64) }, () => pick(256))])
      }
      try {
        const reply = decodeSntpReply(packet, ORIGIN)
        expect(Buffer.from(reply.originTimestamp).equals(Buffer.from(ORIGIN))).toBe(true)
        expect(reply.stratum).toBeGreaterThan(0)
        expect([3, 4]).toContain(reply.version)
        expect([4, 5]).toContain(reply.mode)
      } catch (error) {
        if (!(error instanceof SntpError)) throw new Error(`case ${i}: ${String(error)}`)
      }
    }
  })
})

describe('time source addresses', () => {
  it.each([
    ['ntp.example.cn', 'ntp.example.cn', 123],
    ['10.1.2.3', '10.1.2.3', 123],
    ['10.1.2.3:1123', '10.1.2.3', 1123],
    ['gps-1.hospital.local:123', 'gps-1.hospital.local', 123],
    ['::1', '::1', 123],
    ['fe80::1:2', 'fe80::1:2', 123],
    ['[::1]:1234', '::1', 1234],
    ['[2001:db8::5]', '2001:db8::5', 123],
  ])('%s', (address, host, port) => {
    expect(parseSntpAddress(address)).toEqual({ host, port })
  })

  it.each(['', ':123', 'host:', 'host:0', 'host:70000', 'host:12a', '[::1]:x'])('rejects "%s"', (address) => {
    expect(() => parseSntpAddress(address)).toThrowError(SntpError)
  })
})

describe('querySntp over UDP', () => {
  it('measures the offset of a server that runs 1.5 s ahead', async () => {
    const server = await startTestSntpServer({ offsetMs: 1500 })
    try {
      const sample = await querySntp(server.address, { timeoutMs: 1000 })
      // The true offset lies within θ ± δ/2 (RFC 5905 §8), give or take the millisecond resolution of the clocks.
      expect(sample.delayMs).toBeGreaterThanOrEqual(0)
      expect(Math.abs(sample.offsetMs - 1500)).toBeLessThanOrEqual(sample.delayMs / 2 + 1)
      expect(sample).toMatchObject({ stratum: 1, leap: 0, referenceId: 'GPS' })
    } finally {
      await server.close()
    }
  })

  it('times out when the server is silent', async () => {
    const server = await startTestSntpServer({ silent: true })
    try {
      await expect(querySntp(server.address, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' })
      expect(server.requests).toBe(1)
    } finally {
      await server.close()
    }
  })

  it("rejects a kiss-o'-death with its code", async () => {
    const server = await startTestSntpServer({ kissCode: 'DENY' })
    try {
      await expect(querySntp(server.address, { timeoutMs: 1000 })).rejects.toMatchObject({
        code: 'kiss-o-death',
        kissCode: 'DENY',
      })
    } finally {
      await server.close()
    }
  })

  it('fails fast when nothing listens on the port', async () => {
    const closed = createSocket('udp4')
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve))
    const { port } = closed.address()
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    await expect(querySntp(`127.0.0.1:${port}`, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'unreachable' })
  })

  it('ignores a reply that does not echo our transmit timestamp (spoofed) and waits for the real one', async () => {
    // A fake server that first sends a well-formed reply with a wrong origin, then none: the query must time out
    // rather than accept the forged time.
    const fake = createSocket('udp4')
    await new Promise<void>((resolve) => fake.bind(0, '127.0.0.1', resolve))
    fake.on('message', (_request, remote) => fake.send(REPLY, remote.port, remote.address))
    try {
      await expect(querySntp(`127.0.0.1:${fake.address().port}`, { timeoutMs: 200 })).rejects.toMatchObject({
        code: 'timeout',
      })
    } finally {
      fake.close()
    }
  })

  it('works over IPv6 loopback', async () => {
    const fake = createSocket('udp6')
    const bound = await new Promise<boolean>((resolve) => {
      fake.once('error', () => resolve(false))
      fake.bind(0, '::1', () => resolve(true))
    })
    // Echo a reply built for the request: origin = the request's transmit timestamp.
    fake.on('message', (request, remote) => {
      const reply = REPLY.slice()
      reply.set(request.subarray(40, 48), 24)
      fake.send(reply, remote.port, remote.address)
    })
    try {
      expect(bound).toBe(true)
      const sample = await querySntp(`[::1]:${fake.address().port}`, { timeoutMs: 1000 })
      expect(sample.stratum).toBe(1)
    } finally {
      fake.close()
    }
  })
})
