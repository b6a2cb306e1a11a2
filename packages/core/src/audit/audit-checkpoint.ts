import { sm2PublicKeyFromPem, sm2Verify, sm3 } from '@yiqian/gm'
import { canonicalJson, GENESIS_HASH } from './audit-record.js'

/**
 * A signed statement "the audit chain had reached record `seq`, whose hash was `recordHash`, at `at`".
 * Checkpoints are chained to each other (`prevHash`), so that removing or re-signing one breaks the next.
 * The log's hash chain detects an edit in the middle; the signature detects a rewrite of the whole chain
 * by someone who can write to the database but does not hold the checkpoint key.
 */
export interface AuditCheckpoint {
  readonly seq: number
  readonly recordHash: string
  readonly at: Date
  /** Records since the previous checkpoint (`seq - previous.seq`). */
  readonly count: number
  /** The previous checkpoint's `hash`, or the genesis hash for the first. */
  readonly prevHash: string
  /** SM3 of the signed body (hex). */
  readonly hash: string
  readonly keyId: string
  readonly algorithm: CheckpointAlgorithm
  /** DER signature, base64. */
  readonly signature: string
  /** An RFC 3161 token over `hash`, once the TSA exists (issue 7); absent until then. */
  readonly timestampToken?: string | undefined
}

export type CheckpointAlgorithm = 'SM2-SM3'

/**
 * Signs checkpoints. Today a soft SM2 key kept sealed in the database (see `createStoredCheckpointSigner`);
 * issue 6's KeyStore provides one backed by a `soft:` or `pkcs11:` key, with the same shape.
 */
export interface CheckpointSigner {
  readonly keyId: string
  readonly algorithm: CheckpointAlgorithm
  /** SubjectPublicKeyInfo PEM, for offline verifiers. */
  readonly publicKeyPem: string
  /** Standard SM2 (SM3 with Z_A over the default signer ID), DER. */
  sign(body: Uint8Array): Promise<Uint8Array>
}

/** An optional ability (issue 7): a trusted timestamp over the checkpoint hash, stored beside the signature. */
export interface CheckpointTimestamper {
  timestamp(hash: Uint8Array): Promise<string>
}

/** A key that signed (or signs) checkpoints; the private half is sealed with the SecretBox. */
export interface AuditSigningKey {
  readonly id: string
  readonly algorithm: CheckpointAlgorithm
  readonly publicKeyPem: string
  /** SecretBox-sealed PKCS#8 PEM, context `audit_signing_keys.private_key:<id>`. */
  readonly sealedPrivateKey: string
  readonly createdAt: Date
  readonly retiredAt?: Date | undefined
}

/** The public half only: what a verifier needs. */
export interface CheckpointPublicKey {
  readonly keyId: string
  readonly publicKeyPem: string
}

export interface AuditSigningKeyRepository {
  /** The key new checkpoints are signed with: the oldest key not retired (deterministic when two were made at once). */
  active(): Promise<AuditSigningKey | undefined>
  insert(key: AuditSigningKey): Promise<void>
  /** Every key, retired ones included: old checkpoints stay verifiable. */
  publicKeys(): Promise<CheckpointPublicKey[]>
}

export interface AuditCheckpointRepository {
  latest(): Promise<AuditCheckpoint | undefined>
  get(seq: number): Promise<AuditCheckpoint | undefined>
  /**
   * Inserts unless a checkpoint for the same `seq`, or with the same predecessor, exists (another instance won
   * the race): returns false then, without failing the transaction.
   */
  insertIfAbsent(checkpoint: AuditCheckpoint): Promise<boolean>
  /** Checkpoints with `seq > afterSeq`, ascending. */
  page(afterSeq: number, limit: number): Promise<AuditCheckpoint[]>
}

/**
 * Where a retention purge cut the chain: the oldest remaining record's predecessor, which a signed checkpoint
 * covers. Verification of a purged log starts from here instead of the genesis hash.
 */
export interface AuditRetentionAnchor {
  readonly seq: number
  readonly hash: string
  readonly purgedAt: Date
  readonly purgedRows: number
  readonly retentionDays: number
}

export interface AuditRetentionRepository {
  latestAnchor(): Promise<AuditRetentionAnchor | undefined>
  /** The smallest seq whose record is at or after `at`, or undefined when every record is older. */
  firstSeqAtOrAfter(at: Date): Promise<number | undefined>
  /** The newest checkpoint with `afterSeq < seq < beforeSeq`. */
  latestCheckpointBetween(afterSeq: number, beforeSeq: number): Promise<AuditCheckpoint | undefined>
  /**
   * Stores the anchor and deletes the audit records up to and including `anchor.seq`; returns how many, or
   * undefined when another instance already purged at this boundary. The only deletion of audit rows.
   */
  purgeThrough(anchor: Omit<AuditRetentionAnchor, 'purgedRows'>): Promise<number | undefined>
}

export const CHECKPOINT_FORMAT = 'yiqian-audit-checkpoint/v1'

export type UnsignedCheckpoint = Pick<AuditCheckpoint, 'seq' | 'recordHash' | 'at' | 'count' | 'prevHash' | 'keyId'>

/** The exact bytes signed: canonical JSON of a tagged array, so the format can be re-implemented anywhere. */
export function checkpointBody(c: UnsignedCheckpoint): Uint8Array {
  return new TextEncoder().encode(
    canonicalJson([CHECKPOINT_FORMAT, c.seq, c.recordHash, c.at.toISOString(), c.count, c.prevHash, c.keyId]),
  )
}

export function checkpointHash(c: UnsignedCheckpoint): string {
  return Buffer.from(sm3(checkpointBody(c))).toString('hex')
}

/** Signs the checkpoint that follows `previous` (or the first) at record `record`. */
export async function sealCheckpoint(
  previous: Pick<AuditCheckpoint, 'seq' | 'hash'> | undefined,
  record: { seq: number; hash: string },
  at: Date,
  signer: CheckpointSigner,
): Promise<AuditCheckpoint> {
  const unsigned: UnsignedCheckpoint = {
    seq: record.seq,
    recordHash: record.hash,
    at,
    count: record.seq - (previous?.seq ?? 0),
    prevHash: previous?.hash ?? GENESIS_HASH,
    keyId: signer.keyId,
  }
  const signature = await signer.sign(checkpointBody(unsigned))
  return {
    ...unsigned,
    hash: checkpointHash(unsigned),
    algorithm: signer.algorithm,
    signature: Buffer.from(signature).toString('base64'),
  }
}

export type CheckpointSignatureCheck = 'valid' | 'invalid' | 'unknown-key'

/** Checks the signature against the named key; a malformed signature or key counts as invalid, never throws. */
export function checkCheckpointSignature(
  checkpoint: AuditCheckpoint,
  keys: ReadonlyMap<string, Uint8Array>,
): CheckpointSignatureCheck {
  const key = keys.get(checkpoint.keyId)
  if (!key) return 'unknown-key'
  if (checkpoint.algorithm !== 'SM2-SM3') return 'invalid'
  try {
    const signature = new Uint8Array(Buffer.from(checkpoint.signature, 'base64'))
    return sm2Verify(checkpointBody(checkpoint), signature, key) ? 'valid' : 'invalid'
  } catch {
    return 'invalid'
  }
}

/** Parses the PEMs once; a key that does not parse is left out (its checkpoints then report `unknown-key`). */
export function publicKeyMap(keys: readonly CheckpointPublicKey[]): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>()
  for (const key of keys) {
    try {
      map.set(key.keyId, sm2PublicKeyFromPem(key.publicKeyPem))
    } catch {
      // reported per checkpoint
    }
  }
  return map
}

export interface CheckpointPolicy {
  /** Issue a checkpoint once this many records follow the last one (default 1,000). */
  readonly everyRecords: number
  /** … or once this many minutes passed since the last one and at least one record follows it (default 10). */
  readonly everyMinutes: number
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { everyRecords: 1000, everyMinutes: 10 }

/** Whether a checkpoint is due at `now`; never when no record follows the last checkpoint. */
export function checkpointDue(
  latest: Pick<AuditCheckpoint, 'seq' | 'at'> | undefined,
  headSeq: number,
  now: Date,
  policy: CheckpointPolicy,
  force = false,
): boolean {
  const since = headSeq - (latest?.seq ?? 0)
  if (since <= 0) return false
  if (force || !latest) return true
  return since >= policy.everyRecords || now.getTime() - latest.at.getTime() >= policy.everyMinutes * 60_000
}
