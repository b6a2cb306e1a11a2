import {
  type AuditCheckpoint,
  type AuditRetentionAnchor,
  type CheckpointPublicKey,
  checkCheckpointSignature,
  checkpointHash,
  publicKeyMap,
} from './audit-checkpoint.js'
import type { AuditChainHead } from './audit-query.js'
import { type AuditRecord, GENESIS_HASH, sealAuditRecord } from './audit-record.js'

/** Why the trail is not intact, named for what most likely happened to it. */
export type AuditBreakReason =
  /** A record's content no longer matches its hash: the row was changed. */
  | 'hash-mismatch'
  /** A sequence number is missing: the row was deleted. */
  | 'seq-gap'
  /** A record does not link to its predecessor: a row was inserted, or the chain relinked. */
  | 'prev-hash-mismatch'
  /** A checkpoint's signature does not verify. */
  | 'checkpoint-signature-invalid'
  /** A checkpoint names a key that no trusted public key matches. */
  | 'checkpoint-key-unknown'
  /** A checkpoint does not follow the one before it (hash or count), or its own hash is wrong. */
  | 'checkpoint-chain-mismatch'
  /** The record a checkpoint covers has a different hash than the checkpoint says. */
  | 'checkpoint-record-mismatch'
  /** Records a checkpoint or the chain head covers are missing at the end: the tail was truncated. */
  | 'tail-missing'
  /** The chain head (`audit_head`) does not match the last record. */
  | 'head-mismatch'
  /** The start of a purged log is not anchored by a signed checkpoint and a purge event. */
  | 'anchor-mismatch'

export interface AuditTrailBreak {
  readonly seq: number
  readonly reason: AuditBreakReason
  readonly message: { readonly zh: string; readonly en: string }
}

export interface AuditTrailReport {
  readonly status: 'ok' | 'broken'
  /** The first break, in sequence order; verification stops there. */
  readonly broken?: AuditTrailBreak | undefined
  readonly rowsChecked: number
  readonly checkpointsChecked: number
  readonly firstSeq: number | undefined
  readonly lastSeq: number | undefined
  readonly lastCheckpointSeq: number | undefined
  /** The oldest remaining record follows this purge boundary (retention). */
  readonly anchoredAt: number | undefined
  /** Records after the last checkpoint: chain-checked, but not yet covered by a signature. */
  readonly notYetCheckpointed: { readonly fromSeq: number; readonly toSeq: number; readonly count: number } | undefined
}

export interface VerifyAuditTrailInput {
  /** Every record in ascending seq, as single records or pages. */
  readonly records: AsyncIterable<AuditRecord | readonly AuditRecord[]> | Iterable<AuditRecord>
  /** Every checkpoint in ascending seq, as single checkpoints or pages. */
  readonly checkpoints: AsyncIterable<AuditCheckpoint | readonly AuditCheckpoint[]> | Iterable<AuditCheckpoint>
  /** The keys trusted to sign checkpoints. */
  readonly publicKeys: readonly CheckpointPublicKey[]
  /** The latest retention anchor, when records were purged. */
  readonly anchor?: AuditRetentionAnchor | undefined
  /** The chain head, read after the records (a function is called once the records are exhausted). */
  readonly head?: AuditChainHead | (() => AuditChainHead | Promise<AuditChainHead>) | undefined
  /** Called every `progressEvery` records (default 10,000). */
  readonly onProgress?: ((rowsChecked: number) => void) | undefined
  readonly progressEvery?: number | undefined
}

export const PURGE_EVENT_TYPE = 'audit.retention.purged'

const MESSAGES: Record<AuditBreakReason, (seq: number) => { zh: string; en: string }> = {
  'hash-mismatch': (s) => ({ zh: `第 ${s} 条记录内容已被修改`, en: `record ${s}: content changed (hash mismatch)` }),
  'seq-gap': (s) => ({ zh: `第 ${s} 条记录缺失（已被删除）`, en: `record ${s} is missing (deleted)` }),
  'prev-hash-mismatch': (s) => ({
    zh: `第 ${s} 条记录与前一条不相连（插入或重排）`,
    en: `record ${s} does not link to its predecessor (inserted or relinked)`,
  }),
  'checkpoint-signature-invalid': (s) => ({
    zh: `第 ${s} 条处的检查点签名无效`,
    en: `checkpoint at record ${s}: signature invalid`,
  }),
  'checkpoint-key-unknown': (s) => ({
    zh: `第 ${s} 条处的检查点签名密钥不受信任`,
    en: `checkpoint at record ${s}: signed with an untrusted key`,
  }),
  'checkpoint-chain-mismatch': (s) => ({
    zh: `第 ${s} 条处的检查点与前一检查点不相连`,
    en: `checkpoint at record ${s} does not follow the previous checkpoint`,
  }),
  'checkpoint-record-mismatch': (s) => ({
    zh: `第 ${s} 条记录与已签名检查点不符`,
    en: `record ${s} does not match its signed checkpoint`,
  }),
  'tail-missing': (s) => ({
    zh: `自第 ${s} 条起的记录缺失（尾部被截断）`,
    en: `records from ${s} on are missing (tail truncated)`,
  }),
  'head-mismatch': (s) => ({
    zh: `链头与第 ${s} 条记录不符`,
    en: `the chain head does not match record ${s}`,
  }),
  'anchor-mismatch': (s) => ({
    zh: `第 ${s} 条记录之前的清理锚点未被签名检查点或清理事件证实`,
    en: `the retention anchor before record ${s} is not backed by a signed checkpoint and purge event`,
  }),
}

class Broken extends Error {
  constructor(readonly at: AuditTrailBreak) {
    super(at.message.en)
  }
}

/** The break description for `seq`, with its message in zh-CN and English. */
export function brokenReport(seq: number, reason: AuditBreakReason): AuditTrailBreak {
  return { seq, reason, message: MESSAGES[reason](seq) }
}

function brokenAt(seq: number, reason: AuditBreakReason): Broken {
  return new Broken(brokenReport(seq, reason))
}

async function* flatten<T>(source: AsyncIterable<T | readonly T[]> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of source as AsyncIterable<T | readonly T[]>) {
    if (Array.isArray(item)) yield* item as readonly T[]
    else yield item as T
  }
}

/**
 * Verifies the whole trail in one pass over records and checkpoints (both ascending, streamed: memory stays
 * flat for any number of rows). Reports the first break in sequence order, or ok with what was covered.
 */
export async function verifyAuditTrail(input: VerifyAuditTrailInput): Promise<AuditTrailReport> {
  const keys = publicKeyMap(input.publicKeys)
  const progressEvery = input.progressEvery ?? 10_000
  const checkpoints = flatten(input.checkpoints)[Symbol.asyncIterator]()
  const anchor = input.anchor

  let rowsChecked = 0
  let checkpointsChecked = 0
  let firstSeq: number | undefined
  let prev: { seq: number; hash: string } | undefined = anchor ? { seq: anchor.seq, hash: anchor.hash } : undefined
  let prevCheckpoint: AuditCheckpoint | undefined
  let anchorCheckpointSeen = false
  let purgeAnnounced = false

  let pending = await checkpoints.next()
  /** Verifies the checkpoint's own signature and its link to the checkpoint before it. */
  const checkCheckpoint = (c: AuditCheckpoint) => {
    const signature = checkCheckpointSignature(c, keys)
    if (signature === 'unknown-key') throw brokenAt(c.seq, 'checkpoint-key-unknown')
    if (signature === 'invalid') throw brokenAt(c.seq, 'checkpoint-signature-invalid')
    if (
      c.hash !== checkpointHash(c) ||
      c.prevHash !== (prevCheckpoint?.hash ?? GENESIS_HASH) ||
      c.count !== c.seq - (prevCheckpoint?.seq ?? 0) ||
      c.seq <= (prevCheckpoint?.seq ?? 0)
    ) {
      throw brokenAt(c.seq, 'checkpoint-chain-mismatch')
    }
    if (anchor && c.seq === anchor.seq) {
      if (c.recordHash !== anchor.hash) throw brokenAt(anchor.seq + 1, 'anchor-mismatch')
      anchorCheckpointSeen = true
    }
    prevCheckpoint = c
    checkpointsChecked++
  }

  try {
    for await (const record of flatten(input.records)) {
      const expectedSeq = (prev?.seq ?? 0) + 1
      if (firstSeq === undefined) {
        firstSeq = record.seq
        // A purged log must start right after its anchor, and the anchor must be a signed checkpoint (checked as
        // the checkpoints before this record are consumed below).
        if (anchor && record.seq !== expectedSeq) throw brokenAt(Math.min(record.seq, expectedSeq), 'anchor-mismatch')
        if (!anchor && record.seq > 1) throw brokenAt(1, 'seq-gap')
      }
      if (record.seq > expectedSeq) throw brokenAt(expectedSeq, 'seq-gap')
      if (record.seq < expectedSeq) throw brokenAt(record.seq, 'prev-hash-mismatch')
      if (record.prevHash !== (prev?.hash ?? GENESIS_HASH)) throw brokenAt(record.seq, 'prev-hash-mismatch')
      if (sealAuditRecord(prev, record, record.at).hash !== record.hash) throw brokenAt(record.seq, 'hash-mismatch')

      while (!pending.done && pending.value.seq <= record.seq) {
        const c = pending.value
        checkCheckpoint(c)
        if (c.seq === record.seq && c.recordHash !== record.hash) throw brokenAt(c.seq, 'checkpoint-record-mismatch')
        // A checkpoint between the anchor and this record would name a row that should exist: already a gap.
        pending = await checkpoints.next()
      }
      if (anchor && rowsChecked === 0 && !anchorCheckpointSeen) throw brokenAt(record.seq, 'anchor-mismatch')

      if (
        record.type === PURGE_EVENT_TYPE &&
        anchor &&
        record.data?.boundarySeq === anchor.seq &&
        record.data?.boundaryHash === anchor.hash
      ) {
        purgeAnnounced = true
      }
      prev = { seq: record.seq, hash: record.hash }
      rowsChecked++
      if (input.onProgress && rowsChecked % progressEvery === 0) input.onProgress(rowsChecked)
    }

    const lastSeq = rowsChecked > 0 ? prev?.seq : undefined
    if (!pending.done) {
      // A checkpoint beyond the last record: the records it covered were cut off. Its signature is checked first
      // so that a forged checkpoint is not mistaken for a truncation.
      checkCheckpoint(pending.value)
      throw brokenAt((lastSeq ?? anchor?.seq ?? 0) + 1, 'tail-missing')
    }
    if (anchor && rowsChecked === 0) throw brokenAt(anchor.seq + 1, 'anchor-mismatch')
    if (anchor && !purgeAnnounced) throw brokenAt(firstSeq ?? anchor.seq + 1, 'anchor-mismatch')

    if (input.head !== undefined) {
      const head = typeof input.head === 'function' ? await input.head() : input.head
      const last = lastSeq ?? anchor?.seq ?? 0
      if (head.seq > last) throw brokenAt(last + 1, 'tail-missing')
      if (head.seq < last) throw brokenAt(head.seq + 1, 'head-mismatch')
      if (head.hash !== (prev?.hash ?? GENESIS_HASH)) throw brokenAt(last, 'head-mismatch')
    }

    const lastCheckpointSeq = prevCheckpoint?.seq
    const uncovered =
      lastSeq !== undefined && lastSeq > (lastCheckpointSeq ?? 0)
        ? {
            fromSeq: Math.max((lastCheckpointSeq ?? 0) + 1, firstSeq ?? 1),
            toSeq: lastSeq,
            count: lastSeq - Math.max(lastCheckpointSeq ?? 0, (firstSeq ?? 1) - 1),
          }
        : undefined
    return {
      status: 'ok',
      rowsChecked,
      checkpointsChecked,
      firstSeq,
      lastSeq,
      lastCheckpointSeq,
      anchoredAt: anchor?.seq,
      notYetCheckpointed: uncovered,
    }
  } catch (error) {
    if (!(error instanceof Broken)) throw error
    return {
      status: 'broken',
      broken: error.at,
      rowsChecked,
      checkpointsChecked,
      firstSeq,
      lastSeq: prev?.seq,
      lastCheckpointSeq: prevCheckpoint?.seq,
      anchoredAt: anchor?.seq,
      notYetCheckpointed: undefined,
    }
  }
}

/** Streams a log page by page (by seq, so memory stays at one page), for `verifyAuditTrail`. */
export async function* pagesBySeq<T extends { seq: number }>(
  fetchPage: (afterSeq: number, limit: number) => Promise<readonly T[]>,
  pageSize = 1000,
  startAfter = 0,
): AsyncGenerator<readonly T[]> {
  let after = startAfter
  for (;;) {
    const page = await fetchPage(after, pageSize)
    if (page.length === 0) return
    yield page
    after = page[page.length - 1]!.seq
    if (page.length < pageSize) return
  }
}
