import type { Generated } from 'kysely'

// Portable column types: timestamps as ISO-8601 text, JSON as text, booleans as 0/1 integers.

export interface AdministratorsTable {
  id: string
  username: string
  display_name: string
  roles: string
  password_hash: string
  must_change_password: number
  created_at: string
  version: number
}

export interface AuditEventsTable {
  seq: number
  at: string
  type: string
  actor: string
  subject: string | null
  data: string
  prev_hash: string
  hash: string
}

/** One row: the tip of the audit chain. Updating it first serialises concurrent appends on PostgreSQL. */
export interface AuditHeadTable {
  id: number
  seq: number
  hash: string
}

export interface Database {
  administrators: AdministratorsTable
  audit_events: AuditEventsTable
  audit_head: AuditHeadTable
}

export type { Generated }
