export type {
  AuditCheckpoint,
  AuditCheckpointRepository,
  AuditRetentionAnchor,
  AuditRetentionRepository,
  AuditSigningKey,
  AuditSigningKeyRepository,
  CheckpointAlgorithm,
  CheckpointPolicy,
  CheckpointPublicKey,
  CheckpointSignatureCheck,
  CheckpointSigner,
  CheckpointTimestamper,
  UnsignedCheckpoint,
} from './audit-checkpoint.js'
export {
  CHECKPOINT_FORMAT,
  checkCheckpointSignature,
  checkpointBody,
  checkpointDue,
  checkpointHash,
  DEFAULT_CHECKPOINT_POLICY,
  publicKeyMap,
  sealCheckpoint,
} from './audit-checkpoint.js'
export type { AuditChainHead, AuditLogReads, AuditPageRequest, AuditQuery } from './audit-query.js'
export { AUDIT_EXPORT_MAX_ROWS, AUDIT_PAGE_MAX } from './audit-query.js'
export {
  auditCheckpointPublicKeyPem,
  auditSigningKeyId,
  ensureAuditSigningKey,
  signingKeyContext,
  storedCheckpointSigner,
} from './checkpoint-signing-key.js'
export type { IssueCheckpointOutcome } from './issue-audit-checkpoint.js'
export { createIssueAuditCheckpoint } from './issue-audit-checkpoint.js'
export type { PurgeOutcome } from './purge-expired-audit-records.js'
export { AUDIT_RETENTION_MAX_DAYS, createPurgeExpiredAuditRecords } from './purge-expired-audit-records.js'
export type {
  AuditBreakReason,
  AuditTrailBreak,
  AuditTrailReport,
  VerifyAuditTrailInput,
} from './verify-audit-trail.js'
export { brokenReport, PURGE_EVENT_TYPE, pagesBySeq, verifyAuditTrail } from './verify-audit-trail.js'
export type { VerifyStoredAuditTrailOptions } from './verify-stored-audit-trail.js'
export { createVerifyStoredAuditTrail } from './verify-stored-audit-trail.js'
