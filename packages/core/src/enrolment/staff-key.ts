/**
 * Two-party staff keys as the server keeps them: the joint public key and the server's share d2, sealed under the
 * key-encryption key with the key id as context. The phone's share d1 never reaches the server, so the server alone
 * cannot sign for a member of staff.
 */

export const STAFF_KEY_STATUSES = ['active', 'retired'] as const
export type StaffKeyStatus = (typeof STAFF_KEY_STATUSES)[number]

export interface StaffKey {
  /** The two-party key id (64 hex digits, SM3-derived from the joint public key). */
  readonly id: string
  readonly staffId: string
  readonly applicationId: string
  /** SubjectPublicKeyInfo (DER) of the joint key. */
  readonly publicKey: Uint8Array
  /** The gm TwoPartyServerKeyShare as JSON, sealed (SecretBox, context `staff-key:<id>`). */
  readonly serverShare: string
  readonly status: StaffKeyStatus
  readonly certificateId: string | undefined
  readonly createdAt: Date
  readonly version: number
}

export interface StaffKeyRepository {
  insert(key: StaffKey): Promise<void>
  find(id: string): Promise<StaffKey | undefined>
  listByStaff(staffId: string): Promise<StaffKey[]>
  /** Saves where the stored version is `key.version - 1`; false otherwise. */
  update(key: StaffKey): Promise<boolean>
}

/** Key generation between the phone's commit and its reveal. */
export interface EnrolmentSession {
  /** The phone's session id (32 hex digits): a replayed commit collides with it. */
  readonly id: string
  readonly applicationId: string
  /** The gm TwoPartyServerKeygenSession as JSON, sealed (it holds d2 until complete). */
  readonly session: string
  readonly createdAt: Date
  readonly expiresAt: Date
  readonly completedAt: Date | undefined
}

export interface EnrolmentSessionRepository {
  /** DUPLICATE (DomainError 'ENROLMENT_INVALID') when the id exists: a replayed commit. */
  insert(session: EnrolmentSession): Promise<void>
  find(id: string): Promise<EnrolmentSession | undefined>
  /** Marks complete where not yet complete; false when someone else completed it first. */
  complete(id: string, at: Date): Promise<boolean>
}
