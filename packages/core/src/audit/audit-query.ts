import type { AuditOutcome, AuditRecord } from './audit-record.js'

/** What an auditor filters the trail by. Every field narrows; absent fields do not. */
export interface AuditQuery {
  /** Inclusive. */
  readonly from?: Date | undefined
  /** Exclusive. */
  readonly to?: Date | undefined
  readonly actor?: string | undefined
  /** `account.` matches `account.created`, `account.locked`, … (a plain string prefix). */
  readonly typePrefix?: string | undefined
  readonly outcome?: AuditOutcome | undefined
  readonly subject?: string | undefined
  readonly source?: string | undefined
}

export interface AuditPageRequest {
  /** Exclusive cursor: records after it in the chosen order. */
  readonly cursor?: number | undefined
  readonly limit: number
  readonly order: 'asc' | 'desc'
}

export const AUDIT_PAGE_MAX = 500
export const AUDIT_EXPORT_MAX_ROWS = 1_000_000

/** The tip of the chain as the `audit_head` row records it. */
export interface AuditChainHead {
  readonly seq: number
  readonly hash: string
}

/** Reading the log; added to AuditLog so that one repository answers for the table. */
export interface AuditLogReads {
  head(): Promise<AuditChainHead>
  get(seq: number): Promise<AuditRecord | undefined>
  /** Records with `seq > afterSeq`, ascending: how verification streams the log (gaps included). */
  after(afterSeq: number, limit: number): Promise<AuditRecord[]>
  query(filter: AuditQuery, page: AuditPageRequest): Promise<AuditRecord[]>
  /** How many records match, counting no further than `upTo` (so that a huge log is not counted whole). */
  count(filter: AuditQuery, upTo: number): Promise<number>
}
