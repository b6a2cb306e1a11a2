import { describe, expect, it } from 'vitest'
import { ipAllowed, parseIpAddress, parseIpBlock } from './ip-allow-list.js'

describe('IP allow-list', () => {
  it.each([
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['11.1.2.3', ['10.0.0.0/8'], false],
    ['192.168.1.255', ['192.168.1.0/24'], true],
    ['192.168.2.0', ['192.168.1.0/24'], false],
    ['192.168.1.7', ['192.168.1.7'], true],
    ['192.168.1.8', ['192.168.1.7'], false],
    ['8.8.8.8', ['0.0.0.0/0'], true],
    ['172.16.5.4', ['10.0.0.0/8', '172.16.0.0/12'], true],
    ['172.32.0.1', ['10.0.0.0/8', '172.16.0.0/12'], false],
    ['2001:db8::1', ['2001:db8::/32'], true],
    ['2001:db9::1', ['2001:db8::/32'], false],
    ['2001:DB8:0:0:0:0:0:ffff', ['2001:db8::/64'], true],
    ['2001:db8:0:1::', ['2001:db8::/64'], false],
    ['fe80::1%eth0', ['fe80::/10'], true],
    ['::1', ['::1'], true],
    ['::1', ['127.0.0.1'], false],
    // What a dual-stack socket reports for an IPv4 client matches the IPv4 rule, and the reverse.
    ['::ffff:10.1.2.3', ['10.0.0.0/8'], true],
    ['::ffff:10.1.2.3', ['192.168.0.0/16'], false],
    ['::ffff:a01:203', ['10.0.0.0/8'], true],
    ['10.1.2.3', ['::ffff:10.0.0.0/104'], true],
    ['10.1.2.3', ['::ffff:10.1.2.3'], true],
    ['11.1.2.3', ['::ffff:10.0.0.0/104'], false],
    // An IPv6 rule does not match an IPv4 client and vice versa.
    ['10.1.2.3', ['::/0'], false],
    ['2001:db8::1', ['0.0.0.0/0'], false],
    // An address that cannot be parsed is refused, not allowed.
    ['unknown', ['0.0.0.0/0'], false],
    ['', ['0.0.0.0/0'], false],
  ] as const)('%s against %j → %s', (address, entries, expected) => {
    expect(ipAllowed(address, entries)).toBe(expected)
  })

  it.each([
    ['10.0.0.1/24', /host bits/],
    ['10.0.0.0/33', /prefix length must be 0–32/],
    ['2001:db8::/129', /prefix length must be 0–128/],
    ['10.0.0.0/08', /prefix/],
    ['10.0.0.0/-1', /prefix/],
    ['256.0.0.0', /not an IPv4 or IPv6/],
    ['10.0.0', /not an IPv4 or IPv6/],
    ['010.0.0.1', /not an IPv4 or IPv6/],
    ['1:2:3:4:5:6:7:8:9', /not an IPv4 or IPv6/],
    ['1::2::3', /not an IPv4 or IPv6/],
    ['12345::', /not an IPv4 or IPv6/],
    ['::ffff:1.2.3.4.5', /not an IPv4 or IPv6/],
    ['1.2.3.4::', /not an IPv4 or IPv6/],
    ['10.0.0.0/8/8', /not an address or CIDR/],
    ['example.org', /not an IPv4 or IPv6/],
  ])('refuses %s', (entry, message) => {
    expect(() => parseIpBlock(entry)).toThrowError(message)
  })

  it('parses IPv6 forms to the same bytes', () => {
    const full = parseIpAddress('2001:0db8:0000:0000:0000:0000:0000:0001')
    expect(parseIpAddress('2001:db8::1')).toEqual(full)
    expect(parseIpAddress('2001:db8:0:0::0:1')).toEqual(full)
    expect(parseIpAddress('::ffff:192.0.2.1')).toEqual(new Uint8Array([192, 0, 2, 1]))
    expect(parseIpAddress('::')).toEqual(new Uint8Array(16))
  })
})
