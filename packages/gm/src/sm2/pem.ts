import { GmError } from '../errors.js'

// PEM armor (RFC 7468) without Buffer, so that it runs in browsers. Parsing is strict: one block, an expected label,
// base64 lines with nothing else (no RFC 1421 headers), canonical base64, and only whitespace around the block.

const MAX_PEM_CHARS = 24 * 1024
const LINE_CHARS = 64
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  // Chunks keep String.fromCharCode's argument list far below engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/** Strict base64: canonical padding and zero unused bits, or INVALID_ENCODING. */
export function base64ToBytes(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new GmError('INVALID_ENCODING', 'not canonical base64')
  }
  let binary: string
  try {
    binary = atob(text)
  } catch (cause) {
    throw new GmError('INVALID_ENCODING', 'not canonical base64', { cause })
  }
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  // Non-zero bits in the last character's unused positions decode the same as zero bits: only one text is canonical.
  if (bytesToBase64(out) !== text) throw new GmError('INVALID_ENCODING', 'not canonical base64')
  return out
}

export function derToPem(der: Uint8Array, label: string): string {
  const body = bytesToBase64(der)
  const lines: string[] = []
  for (let i = 0; i < body.length; i += LINE_CHARS) lines.push(body.slice(i, i + LINE_CHARS))
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** The DER inside one PEM block whose label is one of `labels`; line ends may be LF or CRLF. */
export function pemToDer(pem: string, labels: readonly string[]): { label: string; der: Uint8Array } {
  if (typeof pem !== 'string') throw new GmError('INVALID_ENCODING', 'PEM must be a string')
  if (pem.length > MAX_PEM_CHARS)
    throw new GmError('INVALID_ENCODING', `PEM is longer than ${MAX_PEM_CHARS} characters`)
  const lines = pem.trim().split(/\r?\n/)
  const first = lines[0] ?? ''
  const last = lines[lines.length - 1] ?? ''
  const begin = /^-----BEGIN ([A-Z0-9 ]+)-----$/.exec(first)
  if (!begin || lines.length < 3) throw new GmError('INVALID_ENCODING', 'not a PEM block')
  const label = begin[1]!
  if (!labels.includes(label)) {
    throw new GmError('INVALID_ENCODING', `unexpected PEM label "${label}" (expected ${labels.join(' or ')})`)
  }
  if (last !== `-----END ${label}-----`) throw new GmError('INVALID_ENCODING', 'PEM END line missing or mismatched')
  const body = lines.slice(1, -1)
  for (let i = 0; i < body.length; i++) {
    const line = body[i]!
    if (!BASE64_LINE.test(line) || (line.includes('=') && i !== body.length - 1)) {
      throw new GmError('INVALID_ENCODING', 'PEM body is not base64 lines (headers, blank lines or stray text)')
    }
  }
  return { label, der: base64ToBytes(body.join('')) }
}
