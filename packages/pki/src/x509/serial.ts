import { bytesToHex, hexToBytes, randomBytes } from '@yiqian/gm'
import { PkiError } from '../errors.js'

/** A serial number as given to builders: minimal positive INTEGER content bytes, a bigint, or hex. */
export type SerialInput = Uint8Array | bigint | string

/**
 * 16 CSPRNG bytes, top bit cleared (positive) and the next bit set so the encoding is always 16 octets and minimal:
 * 126 random bits, well above the 64 the CA/B Forum and RFC 5280 practice ask for.
 */
export function generateSerial(): Uint8Array {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x40
  return bytes
}

/** The DER INTEGER content octets of a positive serial (≤ 20 octets, RFC 5280 §4.1.2.2). */
export function serialToBytes(serial: SerialInput): Uint8Array {
  let value: bigint
  if (typeof serial === 'bigint') value = serial
  else if (typeof serial === 'string') {
    if (!/^[0-9a-fA-F]+$/.test(serial)) throw new PkiError('INVALID_ARGUMENT', 'serial hex must be hex digits')
    value = BigInt(`0x${serial}`)
  } else if (serial instanceof Uint8Array) {
    checkSerial(serial, 'INVALID_ARGUMENT')
    return serial.slice()
  } else throw new PkiError('INVALID_ARGUMENT', 'serial must be bytes, bigint or hex')
  if (value <= 0n) throw new PkiError('INVALID_ARGUMENT', 'serial must be positive')
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
  const bytes = hexToBytes(hex)
  checkSerial(bytes, 'INVALID_ARGUMENT')
  return bytes
}

/** Rejects zero, negative and oversize serials (RFC 5280: positive, at most 20 octets). */
export function checkSerial(bytes: Uint8Array, code: 'INVALID_ARGUMENT' | 'INVALID_CERTIFICATE'): void {
  if (bytes.length === 0) throw new PkiError(code, 'serial number is empty')
  if (bytes.length > 20) throw new PkiError(code, `serial number is ${bytes.length} octets (at most 20)`)
  if (bytes[0]! & 0x80) throw new PkiError(code, 'serial number is negative')
  if (bytes.every((b) => b === 0)) throw new PkiError(code, 'serial number is zero')
  if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) {
    throw new PkiError(code, 'serial number is not minimally encoded')
  }
}

/** Lower-case hex of the value, without the sign-padding zero octet (as OpenSSL prints it, but lower case). */
export function serialToHex(bytes: Uint8Array): string {
  const start = bytes.length > 1 && bytes[0] === 0 ? 1 : 0
  return bytesToHex(bytes.subarray(start))
}
