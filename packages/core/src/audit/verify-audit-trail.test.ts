import { generateSm2KeyPair, sm2PublicKeyToPem, sm2Sign } from '@yiqian/gm'
import { describe, expect, it } from 'vitest'
import { type AuditCheckpoint, type CheckpointSigner, sealCheckpoint } from './audit-checkpoint.js'
import { type AuditRecord, sealAuditRecord } from './audit-record.js'
import { type AuditBreakReason, PURGE_EVENT_TYPE, verifyAuditTrail } from './verify-audit-trail.js'

const t0 = new Date('2026-11-28T00:00:00.000Z')

function signerOf(keyId: string): CheckpointSigner {
  const { privateKey, publicKey } = generateSm2KeyPair()
  return {
    keyId,
    algorithm: 'SM2-SM3',
    publicKeyPem: sm2PublicKeyToPem(publicKey),
    sign: async (body) => sm2Sign(body, privateKey),
  }
}
const signer = signerOf('k1')
const keys = [{ keyId: signer.keyId, publicKeyPem: signer.publicKeyPem }]

function chain(n: number, from?: AuditRecord): AuditRecord[] {
  const out: AuditRecord[] = []
  let prev = from
  for (let i = 0; i < n; i++) {
    prev = sealAuditRecord(
      prev,
      { type: 'thing.done', actor: `user-${i}`, data: { i, 名: '值' }, outcome: 'success', source: '10.0.0.1' },
      new Date(t0.getTime() + (prev?.seq ?? 0) * 1000),
    )
    out.push(prev)
  }
  return out
}

async function checkpointsEvery(records: readonly AuditRecord[], every: number): Promise<AuditCheckpoint[]> {
  const out: AuditCheckpoint[] = []
  for (const r of records) {
    if (r.seq % every === 0) out.push(await sealCheckpoint(out.at(-1), r, new Date(r.at.getTime() + 1), signer))
  }
  return out
}

const records = chain(100)
const checkpoints = await checkpointsEvery(records, 25)
const last = records.at(-1)!
const head = { seq: last.seq, hash: last.hash }

async function brokenOf(
  rs: readonly AuditRecord[],
  cs: readonly AuditCheckpoint[] = checkpoints,
  h: { seq: number; hash: string } = head,
): Promise<[number, AuditBreakReason] | 'ok'> {
  const report = await verifyAuditTrail({ records: rs, checkpoints: cs, publicKeys: keys, head: h })
  return report.broken ? [report.broken.seq, report.broken.reason] : 'ok'
}

describe('verifyAuditTrail', () => {
  it('passes an intact trail and reports what the last checkpoint does not cover yet', async () => {
    const more = [...records, ...chain(7, last)]
    const report = await verifyAuditTrail({
      records: more,
      checkpoints,
      publicKeys: keys,
      head: { seq: 107, hash: more.at(-1)!.hash },
    })
    expect(report).toMatchObject({
      status: 'ok',
      rowsChecked: 107,
      checkpointsChecked: 4,
      firstSeq: 1,
      lastSeq: 107,
      lastCheckpointSeq: 100,
      notYetCheckpointed: { fromSeq: 101, toSeq: 107, count: 7 },
    })
    expect(await brokenOf(records)).toBe('ok')
  })

  it('passes an empty log', async () => {
    expect(await brokenOf([], [], { seq: 0, hash: '0'.repeat(64) })).toBe('ok')
  })

  it.each<
    [string, () => [AuditRecord[], AuditCheckpoint[]?, { seq: number; hash: string }?], number, AuditBreakReason]
  >([
    ['changed content', () => [records.with(41, { ...records[41]!, actor: 'mallory' })], 42, 'hash-mismatch'],
    ['changed context', () => [records.with(41, { ...records[41]!, outcome: 'denied' })], 42, 'hash-mismatch'],
    ['a deleted row', () => [records.toSpliced(41, 1)], 42, 'seq-gap'],
    ['a deleted first row', () => [records.slice(1)], 1, 'seq-gap'],
    [
      'an inserted row (renumbered after it, itself hashed correctly)',
      () => {
        const forged = sealAuditRecord(records[40], { type: 'thing.done', actor: 'forger' }, records[40]!.at)
        const shifted = records.slice(41).map((r) => ({ ...r, seq: r.seq + 1 }))
        return [[...records.slice(0, 41), forged, ...shifted]]
      },
      43,
      'prev-hash-mismatch',
    ],
    [
      'a rewritten chain (every hash recomputed after a change)',
      () => {
        const rewritten = [...records.slice(0, 60), ...chain(40, records[59])]
        rewritten[60] = sealAuditRecord(records[59], { type: 'thing.done', actor: 'mallory' }, records[60]!.at)
        let prev = rewritten[60]!
        for (let i = 61; i < 100; i++) {
          prev = sealAuditRecord(prev, records[i]!, records[i]!.at)
          rewritten[i] = prev
        }
        return [rewritten, checkpoints, { seq: 100, hash: prev.hash }]
      },
      75,
      'checkpoint-record-mismatch',
    ],
    [
      'an altered checkpoint signature',
      () => {
        const sig = Buffer.from(checkpoints[1]!.signature, 'base64')
        sig[sig.length - 1]! ^= 1
        return [records, checkpoints.with(1, { ...checkpoints[1]!, signature: sig.toString('base64') })]
      },
      50,
      'checkpoint-signature-invalid',
    ],
    [
      'a garbage checkpoint signature',
      () => [records, checkpoints.with(1, { ...checkpoints[1]!, signature: 'bm90IGEgc2lnbmF0dXJl' })],
      50,
      'checkpoint-signature-invalid',
    ],
    [
      'a checkpoint by an unknown key',
      () => [records, checkpoints.with(0, { ...checkpoints[0]!, keyId: 'k-other' })],
      25,
      'checkpoint-key-unknown',
    ],
    ['a deleted checkpoint', () => [records, checkpoints.toSpliced(1, 1)], 75, 'checkpoint-chain-mismatch'],
    ['a truncated tail, head left', () => [records.slice(0, 90), []], 91, 'tail-missing'],
    [
      'a truncated tail, head moved back',
      () => [records.slice(0, 80), undefined, { seq: 80, hash: records[79]!.hash }],
      81,
      'tail-missing',
    ],
    [
      'a head that does not match',
      () => [records, checkpoints, { seq: 100, hash: 'f'.repeat(64) }],
      100,
      'head-mismatch',
    ],
    ['rows beyond the head', () => [[...records, ...chain(2, last)]], 101, 'head-mismatch'],
  ])('finds %s at the right seq', async (_, make, seq, reason) => {
    const [rs, cs, h] = make()
    expect(await brokenOf(rs, cs ?? checkpoints, h ?? head)).toEqual([seq, reason])
  })

  it('gives the first break in both languages', async () => {
    const report = await verifyAuditTrail({ records: records.toSpliced(10, 1), checkpoints, publicKeys: keys })
    expect(report.status).toBe('broken')
    expect(report.broken?.message.zh).toContain('第 11 条')
    expect(report.broken?.message.en).toContain('record 11')
  })

  it('starts a purged log at its anchor, which a signed checkpoint and a purge event must back', async () => {
    const purge = sealAuditRecord(
      last,
      { type: PURGE_EVENT_TYPE, actor: 'system', data: { boundarySeq: 50, boundaryHash: records[49]!.hash } },
      t0,
    )
    const kept = [...records.slice(50), purge]
    const anchor = { seq: 50, hash: records[49]!.hash, purgedAt: t0, purgedRows: 50, retentionDays: 180 }
    const h = { seq: purge.seq, hash: purge.hash }
    const ok = await verifyAuditTrail({ records: kept, checkpoints, publicKeys: keys, anchor, head: h })
    expect(ok).toMatchObject({ status: 'ok', firstSeq: 51, anchoredAt: 50, rowsChecked: 51 })

    const run = (a: typeof anchor, rs = kept) =>
      verifyAuditTrail({ records: rs, checkpoints, publicKeys: keys, anchor: a, head: h }).then((r) => r.broken)
    // Cut where no checkpoint is: not a purge.
    expect(await run({ ...anchor, seq: 49, hash: records[48]!.hash }, records.slice(49).concat(purge))).toMatchObject({
      reason: 'anchor-mismatch',
    })
    // Rows removed beyond the anchor.
    expect(await run(anchor, kept.slice(1))).toMatchObject({ seq: 51, reason: 'anchor-mismatch' })
    // No purge event for this anchor.
    expect(await run(anchor, [...records.slice(50)])).toMatchObject({ reason: 'anchor-mismatch' })
  })

  it('streams pages without holding them (300,000 rows here; the memory bound is what matters)', async () => {
    const n = 300_000
    async function* pages() {
      let prev: AuditRecord | undefined
      for (let p = 0; p < n / 1000; p++) {
        const page: AuditRecord[] = []
        for (let i = 0; i < 1000; i++) {
          prev = sealAuditRecord(prev, { type: 'x', actor: 'a' }, t0)
          page.push(prev)
        }
        yield page
      }
    }
    const before = process.memoryUsage().heapUsed
    let peak = before
    const report = await verifyAuditTrail({
      records: pages(),
      checkpoints: [],
      publicKeys: keys,
      progressEvery: 20_000,
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage().heapUsed)
      },
    })
    expect(report).toMatchObject({ status: 'ok', rowsChecked: n, notYetCheckpointed: { count: n } })
    // 300,000 records held at once take well over 100 MB.
    expect(peak - before).toBeLessThan(64 * 1024 * 1024)
  }, 120_000)
})
