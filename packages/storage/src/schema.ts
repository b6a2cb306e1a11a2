import type { Generated } from 'kysely'

// Portable column types: timestamps as ISO-8601 text, JSON as text, booleans as 0/1 integers.

export interface AccountsTable {
  id: string
  username: string
  display_name: string
  roles: string
  password_hash: string
  must_change_password: number
  created_at: string
  version: number
  status: string
  department_ids: string
  totp_secret: string | null
  totp_last_step: number | string | null
  failed_logins: number
  locked_until: string | null
  password_changed_at: string | null
  last_login_at: string | null
}

export interface SessionsTable {
  id_hash: string
  account_id: string
  csrf_token: string
  stage: string
  source: string
  user_agent: string
  created_at: string
  last_seen_at: string
  expires_at: string
}

export interface SettingsTable {
  key: string
  value: string
  version: number
  updated_at: string
  updated_by: string
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
  actor_role: string | null
  source: string | null
  outcome: string | null
  request_id: string | null
}

/** One row: the tip of the audit chain. Updating it first serialises concurrent appends on PostgreSQL. */
export interface AuditHeadTable {
  id: number
  seq: number
  hash: string
}

export interface InstitutionsTable {
  id: string
  code: string
  name: string
  parent_id: string | null
  created_at: string
  version: number
}

export interface DepartmentsTable {
  id: string
  institution_id: string
  code: string
  name: string
  parent_id: string | null
  status: string
  created_at: string
  updated_at: string
  version: number
}

/** Phone and ID numbers only sealed (SecretBox, context `staff.<column>:<id>`) plus a blind index. */
export interface StaffTable {
  id: string
  institution_id: string
  employee_number: string
  name: string
  title: string
  status: string
  phone_sealed: string | null
  phone_index: string | null
  id_type: string | null
  id_number_sealed: string | null
  id_number_index: string | null
  created_at: string
  updated_at: string
  version: number
}

export interface StaffDepartmentsTable {
  staff_id: string
  department_id: string
  /** 0 = primary. */
  position: number
}

/** Signed checkpoints over the audit chain; `prev_hash` is unique so the checkpoint chain cannot fork. */
export interface AuditCheckpointsTable {
  seq: number | string
  record_hash: string
  at: string
  record_count: number | string
  prev_hash: string
  hash: string
  key_id: string
  algorithm: string
  signature: string
  timestamp_token: string | null
}

/** Keys that sign audit checkpoints; the private key is SecretBox-sealed. */
export interface AuditSigningKeysTable {
  id: string
  algorithm: string
  public_key_pem: string
  sealed_private_key: string
  created_at: string
  retired_at: string | null
}

/** Where a retention purge cut the audit chain; verification starts from the newest. */
export interface AuditRetentionAnchorsTable {
  seq: number | string
  hash: string
  purged_at: string
  purged_rows: number | string
  retention_days: number
}

export interface Database {
  accounts: AccountsTable
  audit_events: AuditEventsTable
  audit_head: AuditHeadTable
  audit_checkpoints: AuditCheckpointsTable
  audit_signing_keys: AuditSigningKeysTable
  audit_retention_anchors: AuditRetentionAnchorsTable
  institutions: InstitutionsTable
  departments: DepartmentsTable
  staff: StaffTable
  staff_departments: StaffDepartmentsTable
  sessions: SessionsTable
  settings: SettingsTable
  client_systems: ClientSystemsTable
  request_nonces: RequestNoncesTable
  keys: KeysTable
  certificate_authorities: CertificateAuthoritiesTable
  certificates: CertificatesTable
  certificate_applications: CertificateApplicationsTable
  job_leases: JobLeasesTable
  certificate_reminders: CertificateRemindersTable
  notifications: NotificationsTable
  staff_keys: StaffKeysTable
  enrolment_sessions: EnrolmentSessionsTable
  tsa_units: TsaUnitsTable
  tsa_unit_keys: TsaUnitKeysTable
  tsa_time_sources: TsaTimeSourcesTable
  tsa_settings: TsaSettingsTable
  tsa_tokens: TsaTokensTable
}

/** A clinical system's registration; the secrets are SecretBox-sealed, lists are JSON arrays. */
export interface ClientSystemsTable {
  id: string
  code: string
  name: string
  app_id: string
  enabled: number
  ip_allow_list: string
  rate_limit_per_minute: number
  department_ids: string
  document_types: string
  certificate_fingerprint: string | null
  sealed_secret: string
  previous_sealed_secret: string | null
  previous_secret_expires_at: string | null
  secret_rotated_at: string
  created_at: string
  updated_at: string
  version: number
}

/** Nonces of accepted signed requests; unique per (app_id, nonce), kept until expires_at. */
export interface RequestNoncesTable {
  app_id: string
  nonce: string
  expires_at: string
}

/** `soft:` signing keys: PKCS#8 sealed under the KEK `kek_id` (base64), SPKI DER (base64); never deleted. */
export interface KeysTable {
  id: string
  algorithm: string
  label: string
  purpose: string
  origin: string
  public_key: string
  sealed_private_key: string
  kek_id: string
  created_at: string
  sealed_at: string
  retired_at: string | null
}

/** RA certificate applications; subject is JSON text, the activation code only its keyed hash. */
export interface CertificateApplicationsTable {
  id: string
  kind: string
  staff_id: string
  institution_id: string
  department_id: string | null
  profile_id: string
  replaces: string | null
  subject: string
  status: string
  holder_actor: string | null
  requested_by: string
  requested_at: string
  decided_by: string | null
  decided_at: string | null
  reason: string | null
  activation_code_hash: string | null
  activation_expires_at: string | null
  activation_attempts: number
  activation_redeemed_at: string | null
  certificate_id: string | null
  certificate_serial: string | null
  version: number
  created_at: string
  /** SubjectPublicKeyInfo (base64 DER) once known (0009-enrolment). */
  public_key: string | null
  /** 'csr' | 'two-party'. */
  key_origin: string | null
  updated_at: string
}

/** The server's sealed share of two-party staff keys (0009-enrolment). */
export interface StaffKeysTable {
  id: string
  staff_id: string
  application_id: string
  public_key: string
  server_share: string
  status: string
  certificate_id: string | null
  created_at: string
  version: number
}

/** Two-party key generation sessions between the phone's commit and reveal (0009-enrolment). */
export interface EnrolmentSessionsTable {
  id: string
  application_id: string
  session: string
  created_at: string
  expires_at: string
  completed_at: string | null
}

export type { Generated }

/** Certificate authorities (0007-ca): DER as base64 text, `chain` a JSON array of base64 DER, nearest issuer first. */
export interface CertificateAuthoritiesTable {
  id: string
  name: string
  key_uri: string
  algorithm: string
  certificate: string
  chain: string
  parent_id: string | null
  status: string
  crl: string | null
  crl_number: number
  crl_next_update: string | null
  ocsp_key_uri: string | null
  ocsp_certificate: string | null
  created_at: string
}

/** Issued certificates (0007-ca): serial lower-case hex, unique per issuer; `version` for optimistic locking. */
export interface CertificatesTable {
  id: string
  serial: string
  issuer_id: string
  subject: string
  staff_id: string | null
  holder_id: string
  holder_actor: string | null
  profile_id: string
  ca: number
  status: string
  status_changed_at: string
  revocation_reason: string | null
  revoked_at: string | null
  revoked_by: string | null
  invalidity_date: string | null
  superseded_by: string | null
  not_before: string
  not_after: string
  der: string
  version: number
  created_at: string
}

/** Job leases (0010-certificate-jobs): one row per scheduled job; who may run it until `expires_at`. */
export interface JobLeasesTable {
  name: string
  holder: string
  expires_at: string
  run_count: number
  last_started_at: string | null
  last_finished_at: string | null
  last_outcome: string | null
  last_error: string | null
}

/** Certificate expiry reminders (0010-certificate-jobs), one per certificate and threshold. */
export interface CertificateRemindersTable {
  certificate_id: string
  days_before: number
  staff_id: string
  serial: string
  not_after: string
  created_at: string
  delivered_at: string | null
  attempts: number
  last_error: string | null
  next_attempt_at: string | null
}

/** In-app notifications for staff (0010-certificate-jobs); `body` is JSON text. */
export interface NotificationsTable {
  id: string
  staff_id: string
  kind: string
  title_zh: string
  title_en: string
  body: string
  created_at: string
  read_at: string | null
}

/** TSA signing units (0012-tsa): current key and certificate (base64 DER), `chain` a JSON array of base64 DER. */
export interface TsaUnitsTable {
  id: string
  name: string
  algorithm: string
  ca_id: string
  policy: string | null
  is_default: number
  key_uri: string
  certificate: string
  chain: string
  created_at: string
  version: number
}

/** Every key a TSA unit had (0012-tsa); `retired_at` set once it was rolled over. */
export interface TsaUnitKeysTable {
  key_uri: string
  unit_id: string
  certificate: string
  serial: string
  not_after: string
  created_at: string
  retired_at: string | null
}

export interface TsaTimeSourcesTable {
  id: string
  name: string
  address: string
  created_at: string
}

/** One row (id 1): `policies` a JSON array of OIDs. */
export interface TsaSettingsTable {
  id: number
  policies: string
  default_policy: string
  tolerance_ms: number
  holdover_seconds: number
  poll_interval_seconds: number
  state: string
  state_reason: string | null
  state_changed_at: string | null
  version: number
  updated_at: string
}

/** The token log (0012-tsa): serial lower-case hex, primary key across all instances. */
export interface TsaTokensTable {
  serial: string
  unit_id: string
  certificate_serial: string
  gen_time: string
  hash_algorithm: string
  imprint: string
  nonce: string | null
  policy: string
  requester_ip: string
  client_system_id: string | null
}
