import type { AuditRecord } from '@yiqian/core'

export const CSV_COLUMNS = [
  'seq',
  'at',
  'type',
  'actor',
  'actor_role',
  'subject',
  'outcome',
  'source',
  'request_id',
  'data',
  'prev_hash',
  'hash',
] as const

/** Excel reads a UTF-8 CSV as the local code page (GBK on Chinese Windows) unless it starts with a BOM. */
export const UTF8_BOM = '\uFEFF'

/**
 * One CSV field (RFC 4180). A value Excel would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a
 * leading apostrophe: an export must not execute what a caller once wrote into the trail.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

export function csvRow(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\r\n`
}

export function csvRecord(r: AuditRecord): string {
  return csvRow([
    String(r.seq),
    r.at.toISOString(),
    r.type,
    r.actor,
    r.actorRole ?? '',
    r.subject ?? '',
    r.outcome ?? '',
    r.source ?? '',
    r.requestId ?? '',
    JSON.stringify(r.data ?? {}),
    r.prevHash,
    r.hash,
  ])
}

/** The JSON form of a record, in the API and in JSON Lines exports. */
export function recordJson(r: AuditRecord) {
  return {
    seq: r.seq,
    at: r.at.toISOString(),
    type: r.type,
    actor: r.actor,
    actorRole: r.actorRole ?? null,
    subject: r.subject ?? null,
    outcome: r.outcome ?? null,
    source: r.source ?? null,
    requestId: r.requestId ?? null,
    data: { ...(r.data ?? {}) } as Record<string, unknown>,
    prevHash: r.prevHash,
    hash: r.hash,
  }
}
