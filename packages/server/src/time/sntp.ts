/**
 * SNTP client (RFC 4330, with the on-wire rules of RFC 5905): one request, one reply, over UDP. The codec is pure
 * and tested against hand-made packets; `querySntp` adds the socket.
 */

import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { type Clock, systemClock } from '@yiqian/core'

export const NTP_PACKET_LENGTH = 48
export const NTP_DEFAULT_PORT = 123
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800
const TWO_32 = 2 ** 32

/** Kiss-o'-death codes after which the source must not be asked again until reconfigured (RFC 5905 §7.4). */
export const SNTP_STOP_CODES: readonly string[] = ['DENY', 'RSTR']

export type SntpErrorCode =
  | 'malformed' // too short, wrong mode or version, zero timestamps
  | 'origin-mismatch' // not an answer to our request (late, duplicated or spoofed)
  | 'kiss-o-death' // stratum 0: the server refuses (RATE, DENY, RSTR, …)
  | 'timeout'
  | 'unreachable' // DNS or socket error
  | 'invalid-address'

export class SntpError extends Error {
  override readonly name = 'SntpError'
  constructor(
    readonly code: SntpErrorCode,
    message: string,
    /** For 'kiss-o-death': the ASCII code from the reference id, e.g. "DENY". */
    readonly kissCode?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The fields of a server's reply (RFC 5905 §7.3); timestamps as Unix milliseconds with sub-ms fractions. */
export interface SntpReply {
  readonly leap: number
  readonly version: number
  readonly mode: number
  readonly stratum: number
  readonly poll: number
  readonly precision: number
  readonly rootDelayMs: number
  readonly rootDispersionMs: number
  /** Stratum 1: the reference clock ("GPS", "BDS", "PPS"); stratum 0: the kiss code; above: an address. */
  readonly referenceId: string
  readonly referenceTimeMs: number
  /** T1 as echoed by the server. */
  readonly originTimestamp: Uint8Array
  /** T2: when the server received the request. */
  readonly receiveTimeMs: number
  /** T3: when the server sent the reply. */
  readonly transmitTimeMs: number
}

/** One measurement: what the time selection consumes. */
export interface SntpSample {
  /** Source time minus local time, ms (θ). */
  readonly offsetMs: number
  /** Round-trip delay, ms (δ). */
  readonly delayMs: number
  /** Error the server declares about its own time: root delay / 2 + root dispersion, ms. */
  readonly dispersionMs: number
  readonly stratum: number
  readonly leap: number
  readonly referenceId: string
  /** Local time (T4) at which the reply arrived. */
  readonly receivedAt: Date
}

/** Unix ms (fractions allowed) → 64-bit NTP timestamp. Times from 2036-02-07 go to era 1 (RFC 4330 §3). */
export function encodeNtpTimestamp(unixMs: number, target: Uint8Array = new Uint8Array(8)): Uint8Array {
  const totalSeconds = unixMs / 1000 + NTP_UNIX_OFFSET_SECONDS
  let seconds = Math.floor(totalSeconds)
  let fraction = Math.round((totalSeconds - seconds) * TWO_32)
  if (fraction >= TWO_32) {
    seconds += 1
    fraction = 0
  }
  const view = new DataView(target.buffer, target.byteOffset, 8)
  view.setUint32(0, seconds % TWO_32)
  view.setUint32(4, fraction)
  return target
}

/**
 * 64-bit NTP timestamp → Unix ms with sub-ms fraction. A seconds field with the top bit clear is read as era 1
 * (2036–2104), as RFC 4330 §3 recommends: this code will not meet a time before 1968.
 */
export function decodeNtpTimestamp(bytes: Uint8Array, offset = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8)
  const raw = view.getUint32(0)
  const seconds = raw >= 0x8000_0000 ? raw : raw + TWO_32
  const fraction = view.getUint32(4)
  return (seconds - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction / TWO_32) * 1000
}

/**
 * A client request (LI 0, VN 4, mode 3). Its transmit timestamp is 64 random bits rather than T1: the server only
 * echoes it as the origin, so random bits make a blind spoof improbable and do not reveal our clock (the NTP
 * data-minimisation practice); the client keeps the real T1 itself.
 */
export function encodeSntpRequest(nonce: Uint8Array = randomBytes(8)): Uint8Array {
  if (nonce.length !== 8) throw new RangeError('the request nonce is 8 bytes')
  const packet = new Uint8Array(NTP_PACKET_LENGTH)
  packet[0] = (0 << 6) | (4 << 3) | 3
  packet.set(nonce, 40)
  return packet
}

/** NTP short format (16.16 seconds) → ms. */
function shortToMs(view: DataView, offset: number): number {
  return (view.getUint32(offset) / 65536) * 1000
}

/** Parses a reply and checks that it answers the request whose transmit timestamp was `expectedOrigin`. */
export function decodeSntpReply(packet: Uint8Array, expectedOrigin: Uint8Array): SntpReply {
  if (packet.length < NTP_PACKET_LENGTH) {
    throw new SntpError('malformed', `reply of ${packet.length} bytes, at least ${NTP_PACKET_LENGTH} expected`)
  }
  // The origin first: a packet that does not answer our request says nothing about the server.
  const originTimestamp = packet.slice(24, 32)
  if (!sameBytes(originTimestamp, expectedOrigin)) {
    throw new SntpError('origin-mismatch', 'the origin timestamp is not our transmit timestamp')
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length)
  const first = view.getUint8(0)
  const leap = first >> 6
  const version = (first >> 3) & 0x07
  const mode = first & 0x07
  if (mode !== 4 && mode !== 5) throw new SntpError('malformed', `mode ${mode}, a server reply (4 or 5) expected`)
  if (version !== 3 && version !== 4) throw new SntpError('malformed', `NTP version ${version}, 3 or 4 expected`)
  const stratum = view.getUint8(1)
  const refBytes = packet.subarray(12, 16)
  const referenceId =
    stratum <= 1 ? String.fromCharCode(...refBytes).replace(/\0+$/, '') : [...refBytes].map(String).join('.')
  if (stratum === 0) {
    const kissCode = /^[\x20-\x7e]{1,4}$/.test(referenceId) ? referenceId : '????'
    throw new SntpError('kiss-o-death', `kiss-o'-death ${kissCode}`, kissCode)
  }
  const reply: SntpReply = {
    leap,
    version,
    mode,
    stratum,
    poll: view.getInt8(2),
    precision: view.getInt8(3),
    rootDelayMs: shortToMs(view, 4),
    rootDispersionMs: shortToMs(view, 8),
    referenceId,
    referenceTimeMs: decodeNtpTimestamp(packet, 16),
    originTimestamp,
    receiveTimeMs: decodeNtpTimestamp(packet, 32),
    transmitTimeMs: decodeNtpTimestamp(packet, 40),
  }
  if (isZero(packet.subarray(32, 40)) || isZero(packet.subarray(40, 48))) {
    throw new SntpError('malformed', 'zero receive or transmit timestamp')
  }
  return reply
}

/** θ = ((T2 − T1) + (T3 − T4)) / 2 and δ = (T4 − T1) − (T3 − T2) (RFC 5905 §8), all in ms. */
export function offsetAndDelay(t1: number, t2: number, t3: number, t4: number): { offsetMs: number; delayMs: number } {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) }
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 address; the port defaults to 123. */
export function parseSntpAddress(address: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address)
  const [host, portText] = bracketed
    ? [bracketed[1] as string, bracketed[2]]
    : isIP(address) === 6
      ? [address, undefined]
      : (() => {
          const colon = address.lastIndexOf(':')
          return colon < 0 ? [address, undefined] : [address.slice(0, colon), address.slice(colon + 1)]
        })()
  const port = portText === undefined ? NTP_DEFAULT_PORT : Number(portText)
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535 || !/^\d*$/.test(portText ?? '')) {
    throw new SntpError('invalid-address', `invalid time source address "${address}"`)
  }
  return { host, port }
}

export interface SntpQueryOptions {
  readonly timeoutMs?: number
  /** The local clock whose offset is measured; default the system clock. */
  readonly clock?: Clock
}

/** Asks one server for the time: resolves with a sample, rejects with an SntpError. */
export async function querySntp(address: string, options: SntpQueryOptions = {}): Promise<SntpSample> {
  const timeoutMs = options.timeoutMs ?? 1000
  const clock = options.clock ?? systemClock
  const { host, port } = parseSntpAddress(address)
  let ip = host
  let family = isIP(host)
  if (family === 0) {
    try {
      const found = await lookup(host)
      ip = found.address
      family = found.family
    } catch (error) {
      throw new SntpError('unreachable', `cannot resolve ${host}`, undefined, { cause: error })
    }
  }
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4')
  try {
    return await exchange(socket, ip, port, clock, timeoutMs)
  } finally {
    socket.close()
  }
}

function exchange(socket: Socket, ip: string, port: number, clock: Clock, timeoutMs: number): Promise<SntpSample> {
  return new Promise<SntpSample>((resolve, reject) => {
    let t1 = Number.NaN
    let origin = new Uint8Array(8)
    const timer = setTimeout(() => reject(new SntpError('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs)
    const settle = () => {
      clearTimeout(timer)
      socket.removeAllListeners('message')
    }
    socket.on('error', (error) => {
      settle()
      reject(new SntpError('unreachable', error.message, undefined, { cause: error }))
    })
    socket.on('message', (message) => {
      const t4 = clock.now().getTime()
      // The socket is connected, so only the server we asked reaches us; short packets and answers to other
      // requests (late or spoofed) are ignored, not fatal.
      if (message.length < NTP_PACKET_LENGTH) return
      let reply: SntpReply
      try {
        reply = decodeSntpReply(message, origin)
      } catch (error) {
        if (error instanceof SntpError && error.code === 'origin-mismatch') return
        settle()
        reject(error)
        return
      }
      settle()
      const { offsetMs, delayMs } = offsetAndDelay(t1, reply.receiveTimeMs, reply.transmitTimeMs, t4)
      resolve({
        offsetMs,
        // A server that answers faster than its own clock ticks can yield a tiny negative delay: clamp (RFC 5905 §8).
        delayMs: Math.max(0, delayMs),
        dispersionMs: reply.rootDelayMs / 2 + reply.rootDispersionMs,
        stratum: reply.stratum,
        leap: reply.leap,
        referenceId: reply.referenceId,
        receivedAt: new Date(t4),
      })
    })
    socket.connect(port, ip, () => {
      const request = encodeSntpRequest()
      origin = request.slice(40, 48)
      t1 = clock.now().getTime()
      socket.send(request, (error) => {
        if (!error) return
        settle()
        reject(new SntpError('unreachable', error.message, undefined, { cause: error }))
      })
    })
  })
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0)
}
