import { PkiError } from '../errors.js'

/** PEM armour (RFC 7468) with 64-column base64. */
export function toPem(der: Uint8Array, label: string): string {
  let binary = ''
  for (const b of der) binary += String.fromCharCode(b)
  const lines = btoa(binary).match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** The DER inside the first `label` PEM block of `text`; MALFORMED_DER when there is none or the base64 is bad. */
export function fromPem(text: string, label: string): Uint8Array {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(text)
  if (!match) throw new PkiError('MALFORMED_DER', `no ${label} PEM block`)
  try {
    const binary = atob(match[1]!.replace(/\s+/g, ''))
    return Uint8Array.from(binary, (c) => c.charCodeAt(0))
  } catch (cause) {
    throw new PkiError('MALFORMED_DER', `${label} PEM has invalid base64`, { cause })
  }
}
