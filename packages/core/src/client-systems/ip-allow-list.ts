/**
 * IP allow-lists for client systems: CIDR blocks (`10.1.0.0/16`, `2001:db8::/32`) or single addresses. Parsed by
 * hand rather than with node:net so that the core stays free of Node-only modules and every rule is tested here.
 * An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, what a dual-stack socket reports for an IPv4 peer) is treated
 * as the IPv4 address it carries, on both sides of the comparison.
 */

export interface IpBlock {
  /** 4 bytes for IPv4, 16 for IPv6, host bits zero. */
  readonly network: Uint8Array
  readonly prefix: number
}

const IPV4_PART = /^(0|[1-9]\d{0,2})$/

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (const [i, part] of parts.entries()) {
    if (!IPV4_PART.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    bytes[i] = n
  }
  return bytes
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (half: string, endsAddress: boolean): number[] | undefined => {
    if (half === '') return []
    const out: number[] = []
    const pieces = half.split(':')
    for (const [i, piece] of pieces.entries()) {
      if (piece.includes('.')) {
        // An embedded IPv4 address may only end the address.
        if (!endsAddress || i !== pieces.length - 1) return undefined
        const v4 = parseIpv4(piece)
        if (!v4) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(piece)) return undefined
        out.push(Number.parseInt(piece, 16))
      }
    }
    return out
  }
  const head = groupsOf(halves[0] ?? '', halves.length === 1)
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '', true) : []
  if (!head || !tail) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  for (const [i, g] of groups.entries()) {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  }
  return bytes
}

function unmapIpv4(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : bytes
}

/** The address as 4 (IPv4, including IPv4-mapped IPv6) or 16 bytes; undefined when it is not an IP address. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  // A zone index (`fe80::1%eth0`) names a local interface; it never appears in an allow-list match.
  const address = text.trim().replace(/%[0-9A-Za-z._-]+$/, '')
  if (address.length === 0 || address.length > 45) return undefined
  const bytes = address.includes(':') ? parseIpv6(address) : parseIpv4(address)
  return bytes && unmapIpv4(bytes)
}

/**
 * Parses one allow-list entry. Throws a RangeError saying what is wrong (the caller names the field): not an
 * address, a prefix out of range, or host bits set (`10.0.0.1/24` is refused rather than silently widened).
 */
export function parseIpBlock(entry: string): IpBlock {
  const [address = '', prefixText, ...rest] = entry.trim().split('/')
  if (rest.length > 0) throw new RangeError(`"${entry}" is not an address or CIDR block`)
  const raw = address.includes(':') ? parseIpv6(address) : parseIpv4(address)
  if (!raw) throw new RangeError(`"${entry}" is not an IPv4 or IPv6 address`)
  const bits = raw.length * 8
  let prefix = bits
  if (prefixText !== undefined) {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      throw new RangeError(`"${entry}": the prefix length must be 0–${bits}`)
    }
    prefix = Number(prefixText)
  }
  for (let bit = prefix; bit < bits; bit++) {
    if ((raw[bit >> 3]! >> (7 - (bit & 7))) & 1) {
      throw new RangeError(`"${entry}": host bits are set after the /${prefix} prefix`)
    }
  }
  // ::ffff:a.b.c.d/96+n is the IPv4 block a.b.c.d/n.
  const unmapped = unmapIpv4(raw)
  if (unmapped.length === 4 && raw.length === 16) {
    if (prefix < 96) return { network: raw, prefix }
    return { network: unmapped, prefix: prefix - 96 }
  }
  return { network: raw, prefix }
}

/** Canonical text of an entry (`10.0.0.0/8`, `2001:db8::/32` kept as given but trimmed and lower-cased). */
export function normaliseIpBlock(entry: string): string {
  parseIpBlock(entry)
  return entry.trim().toLowerCase()
}

export function blockContains(block: IpBlock, address: Uint8Array): boolean {
  if (block.network.length !== address.length) return false
  for (let bit = 0; bit < block.prefix; bit++) {
    const mask = 1 << (7 - (bit & 7))
    if ((block.network[bit >> 3]! & mask) !== (address[bit >> 3]! & mask)) return false
  }
  return true
}

/** True when `address` lies in one of `entries`. An unparsable address is never allowed (fail closed). */
export function ipAllowed(address: string, entries: readonly string[]): boolean {
  const bytes = parseIpAddress(address)
  if (!bytes) return false
  return entries.some((entry) => blockContains(parseIpBlock(entry), bytes))
}
