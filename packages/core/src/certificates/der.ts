/**
 * The few DER values the certificate profiles need that @yiqian/pki's ExtensionsInput cannot express yet: a
 * *critical* extendedKeyUsage (RFC 3161 §2.3 requires it for a TSA), id-pkix-ocsp-nocheck (a NULL) and a
 * subjectAltName holding IP addresses. They travel to the builder as `custom` raw extensions. When pki grows
 * `extKeyUsageCritical` and `{ ip }` alt names, these should go and the plan should use the typed fields.
 */

function lengthOf(n: number): number[] {
  if (n < 0x80) return [n]
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return [0x80 | bytes.length, ...bytes]
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...lengthOf(content.length), ...content])
}

export function sequence(items: readonly Uint8Array[]): Uint8Array {
  const content = new Uint8Array(items.reduce((n, i) => n + i.length, 0))
  let at = 0
  for (const item of items) {
    content.set(item, at)
    at += item.length
  }
  return tlv(0x30, content)
}

export function objectIdentifier(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a))
  const first = arcs[0]! * 40n + arcs[1]!
  const body: number[] = []
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)]
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80)
    body.push(...chunk)
  }
  return tlv(0x06, Uint8Array.from(body))
}

export const DER_NULL = Uint8Array.of(0x05, 0x00)

/** GeneralName choices used in subjectAltName: [1] rfc822Name, [2] dNSName (IA5String), [7] iPAddress. */
export function generalName(kind: 'email' | 'dns' | 'ip', value: string | Uint8Array): Uint8Array {
  const tag = kind === 'email' ? 0x81 : kind === 'dns' ? 0x82 : 0x87
  return tlv(tag, typeof value === 'string' ? new TextEncoder().encode(value) : value)
}
