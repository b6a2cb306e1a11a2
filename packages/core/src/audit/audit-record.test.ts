import { describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.js'
import { type AuditRecord, canonicalJson, GENESIS_HASH, sealAuditRecord, verifyAuditChain } from './audit-record.js'

const t0 = new Date('2026-11-28T00:00:00.000Z')

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = []
  for (let i = 0; i < n; i++) {
    out.push(
      sealAuditRecord(out.at(-1), { type: 'thing.done', actor: `user-${i}`, data: { i } }, new Date(t0.getTime() + i)),
    )
  }
  return out
}

describe('audit chain', () => {
  it('links the first record to the genesis hash and each next one to its predecessor', () => {
    const [a, b] = chain(2)
    expect(a!.seq).toBe(1)
    expect(a!.prevHash).toBe(GENESIS_HASH)
    expect(b!.prevHash).toBe(a!.hash)
    expect(a!.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(() => verifyAuditChain(chain(5))).not.toThrow()
  })

  it.each([
    ['a changed actor', (r: AuditRecord[]) => r.with(2, { ...r[2]!, actor: 'mallory' })],
    ['a changed payload', (r: AuditRecord[]) => r.with(2, { ...r[2]!, data: { i: 99 } })],
    ['a changed time', (r: AuditRecord[]) => r.with(2, { ...r[2]!, at: new Date(0) })],
    ['a removed record', (r: AuditRecord[]) => r.toSpliced(2, 1)],
    ['swapped records', (r: AuditRecord[]) => r.with(1, r[2]!).with(2, r[1]!)],
    ['a forged hash', (r: AuditRecord[]) => r.with(4, { ...r[4]!, hash: GENESIS_HASH })],
  ])('detects %s', (_, tamper) => {
    const broken = tamper(chain(5))
    let error: unknown
    try {
      verifyAuditChain(broken)
    } catch (e) {
      error = e
    }
    expect(isDomainError(error, 'AUDIT_CHAIN_BROKEN')).toBe(true)
  })

  it('does not depend on the order of keys in the payload', () => {
    const a = sealAuditRecord(undefined, { type: 't', actor: 'a', data: { x: 1, y: { b: 2, a: 1 } } }, t0)
    const b = sealAuditRecord(undefined, { type: 't', actor: 'a', data: { y: { a: 1, b: 2 }, x: 1 } }, t0)
    expect(a.hash).toBe(b.hash)
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}')
  })
})
