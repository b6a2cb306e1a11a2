/**
 * A small SNTP server for tests, in process on 127.0.0.1 and a random port: it answers like a stratum-1 receiver
 * and can be told to lie (a fixed offset), drift, fall silent, claim another stratum or leap indicator, or send
 * kiss-o'-death packets. Exported from the testing entry only.
 */

import { createSocket } from 'node:dgram'
import { type Clock, systemClock } from '@yiqian/core'
import { encodeNtpTimestamp, NTP_PACKET_LENGTH } from './sntp.js'

export interface TestSntpServerOptions {
  /** Added to the true time in every answer, ms. */
  readonly offsetMs?: number
  /** The answers run away from the true time by this much per second from now on (drift), ms/s. */
  readonly driftMsPerSecond?: number
  readonly silent?: boolean
  readonly stratum?: number
  readonly leap?: number
  /** Answer every request with this kiss-o'-death code (stratum 0), e.g. "RATE", "DENY". */
  readonly kissCode?: string
  /** Stratum-1 reference id, default "GPS". */
  readonly referenceId?: string
  /** The true time; default the system clock. */
  readonly clock?: Clock
}

export interface TestSntpServer {
  /** "127.0.0.1:port". */
  readonly address: string
  readonly port: number
  /** Requests received (including those left unanswered while silent). */
  readonly requests: number
  /** The time this server currently claims, Unix ms. */
  now(): number
  setOffset(offsetMs: number): void
  setDrift(driftMsPerSecond: number): void
  setSilent(silent: boolean): void
  setStratum(stratum: number): void
  setLeap(leap: number): void
  setKissCode(kissCode: string | undefined): void
  close(): Promise<void>
}

export async function startTestSntpServer(options: TestSntpServerOptions = {}): Promise<TestSntpServer> {
  const clock = options.clock ?? systemClock
  let offsetMs = options.offsetMs ?? 0
  let driftMsPerSecond = options.driftMsPerSecond ?? 0
  let driftSince = clock.now().getTime()
  let silent = options.silent ?? false
  let stratum = options.stratum ?? 1
  let leap = options.leap ?? 0
  let kissCode = options.kissCode
  let requests = 0
  const referenceId = options.referenceId ?? 'GPS'

  const claimed = () => {
    const trueMs = clock.now().getTime()
    return trueMs + offsetMs + ((trueMs - driftSince) / 1000) * driftMsPerSecond
  }

  const socket = createSocket('udp4')
  socket.on('message', (request, remote) => {
    requests += 1
    const receivedMs = claimed()
    if (silent || request.length < NTP_PACKET_LENGTH) return
    const mode = (request[0] as number) & 0x07
    if (mode !== 3) return
    const version = ((request[0] as number) >> 3) & 0x07
    const reply = new Uint8Array(NTP_PACKET_LENGTH)
    const kiss = kissCode !== undefined
    reply[0] = ((kiss ? 3 : leap) << 6) | (version << 3) | 4
    reply[1] = kiss ? 0 : stratum
    reply[2] = request[2] as number
    reply[3] = -20 & 0xff // precision: about a microsecond
    const view = new DataView(reply.buffer)
    view.setUint32(8, 0x0000_0010) // root dispersion: 16/65536 s ≈ 0.24 ms
    const ref = (kiss ? kissCode : referenceId) ?? ''
    for (let i = 0; i < 4; i++) reply[12 + i] = i < ref.length ? ref.charCodeAt(i) : 0
    if (!kiss) encodeNtpTimestamp(receivedMs - 1000, reply.subarray(16, 24))
    reply.set(request.subarray(40, 48), 24)
    if (!kiss) {
      encodeNtpTimestamp(receivedMs, reply.subarray(32, 40))
      encodeNtpTimestamp(claimed(), reply.subarray(40, 48))
    }
    socket.send(reply, remote.port, remote.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  const { port } = socket.address()
  return {
    address: `127.0.0.1:${port}`,
    port,
    get requests() {
      return requests
    },
    now: claimed,
    setOffset(value) {
      offsetMs = value
      driftSince = clock.now().getTime()
    },
    setDrift(value) {
      // Keep the time claimed so far continuous: fold the drift accumulated until now into the offset.
      const nowMs = clock.now().getTime()
      offsetMs += ((nowMs - driftSince) / 1000) * driftMsPerSecond
      driftSince = nowMs
      driftMsPerSecond = value
    },
    setSilent(value) {
      silent = value
    },
    setStratum(value) {
      stratum = value
    },
    setLeap(value) {
      leap = value
    },
    setKissCode(value) {
      kissCode = value
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}
