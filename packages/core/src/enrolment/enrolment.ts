/**
 * Phone enrolment (证书注册): the holder's phone and the server generate a two-party SM2 key (gm/two-party: the phone
 * commits to its share, the server answers with its own, the phone reveals), and the RA issues the certificate of the
 * approved application for the joint public key. Two round trips, each authenticated by the application's one-time
 * activation code: the first only checks it (wrong guesses count and burn it), the second redeems it.
 *
 * Replays: the phone's session id is the enrolment session's primary key, so a replayed commit cannot start a second
 * session, and gm refuses commits outside its freshness window; a session completes once (compare-and-set).
 */
import {
  createTwoPartyReplayLedger,
  createTwoPartyServerKeyShare,
  hexToBytes,
  isGmError,
  KEYGEN_LEDGER_SCOPE,
  peekTwoPartyMessageType,
  serverKeygenRespond,
  sm2PublicKeyToSpki,
  type TwoPartyServerKeygenSession,
} from '@yiqian/gm'
import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { IssuedReference } from '../ra/application.js'
import type { RaUseCases } from '../ra/use-cases.js'
import type { UnitOfWork } from '../unit-of-work.js'
import type { StaffKey } from './staff-key.js'

export const ENROLMENT_LIMITS = {
  /** Between the commit and the reveal. */
  sessionSeconds: 10 * 60,
  /** Two-party messages are a few hundred bytes. */
  messageBytes: 2048,
} as const

export interface EnrolmentDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  readonly ra: RaUseCases
}

export interface EnrolmentStarted {
  readonly sessionId: string
  /** The server's key generation message (keygenServerShare) for the phone. */
  readonly message: Uint8Array
  readonly expiresAt: Date
}

export interface EnrolmentCompleted {
  /** The server's confirmation (keygenConfirm): the phone checks it names the same joint key. */
  readonly message: Uint8Array
  readonly keyId: string
  readonly issued: IssuedReference
}

function invalid(field: string, reason: string, cause?: unknown): DomainError {
  return new DomainError(
    'ENROLMENT_INVALID',
    `${field}: 证书注册失败，请重新开始 / enrolment failed, start again (${reason})`,
    { field, reason },
    { cause },
  )
}

function checkMessage(field: string, message: unknown): Uint8Array {
  if (!(message instanceof Uint8Array) || message.length === 0 || message.length > ENROLMENT_LIMITS.messageBytes) {
    throw new DomainError('INVALID_INPUT', `${field}: 应为两方协议消息 / must be a two-party protocol message`, {
      field,
    })
  }
  return message
}

const sessionContext = (id: string) => `enrolment-session:${id}`
export const staffKeyContext = (id: string) => `staff-key:${id}`

export function createEnrolment(deps: EnrolmentDeps) {
  const { uow, clock, secretBox, ra } = deps

  return {
    /** Round trip 1: checks the activation code and answers the phone's commit with the server's share. */
    async begin(
      actor: ActorContext,
      input: { readonly applicationId: string; readonly code: string; readonly commit: Uint8Array },
    ): Promise<EnrolmentStarted> {
      const commit = checkMessage('commit', input.commit)
      if (peekTwoPartyMessageType(commit) !== 'keygenCommit') throw invalid('commit', 'not a keygenCommit message')
      await ra.redeemActivationCode(actor, { applicationId: input.applicationId, code: input.code }, { redeem: false })
      const now = clock.now()
      let answer: ReturnType<typeof serverKeygenRespond>
      try {
        // The enrolment_sessions primary key is the replay ledger across instances; gm checks freshness.
        answer = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), commit, { now: now.getTime() })
      } catch (error) {
        if (isGmError(error)) throw invalid('commit', error.message, error)
        throw error
      }
      const id = answer.session.sessionId
      const expiresAt = new Date(now.getTime() + ENROLMENT_LIMITS.sessionSeconds * 1000)
      await uow.run(async (tx) => {
        await tx.enrolmentSessions.insert({
          id,
          applicationId: input.applicationId,
          session: secretBox.seal(JSON.stringify(answer.session), sessionContext(id)),
          createdAt: now,
          expiresAt,
          completedAt: undefined,
        })
        await tx.audit.append({
          ...actor,
          type: 'enrolment.started',
          subject: input.applicationId,
          data: { sessionId: id },
          outcome: 'success',
        })
      })
      return { sessionId: id, message: answer.message, expiresAt }
    },

    /**
     * Round trip 2: redeems the activation code, completes key generation, stores the server's sealed share and has
     * the RA issue the certificate, all in one unit of work.
     */
    async complete(
      actor: ActorContext,
      input: { readonly sessionId: string; readonly code: string; readonly reveal: Uint8Array },
    ): Promise<EnrolmentCompleted> {
      const reveal = checkMessage('reveal', input.reveal)
      if (typeof input.sessionId !== 'string' || !/^[0-9a-f]{32}$/.test(input.sessionId)) {
        throw invalid('sessionId', 'unknown session')
      }
      const stored = await uow.run((tx) => tx.enrolmentSessions.find(input.sessionId))
      const now = clock.now()
      if (!stored || stored.completedAt || now.getTime() >= stored.expiresAt.getTime()) {
        throw invalid('sessionId', 'unknown, completed or expired session')
      }
      await ra.redeemActivationCode(actor, { applicationId: stored.applicationId, code: input.code })
      const prepared = await ra.prepareIssuer([stored.applicationId])
      const session = JSON.parse(
        secretBox.open(stored.session, sessionContext(stored.id)),
      ) as TwoPartyServerKeygenSession
      let result: ReturnType<typeof createTwoPartyServerKeyShare>
      try {
        result = createTwoPartyServerKeyShare(session, reveal, { now: now.getTime() })
      } catch (error) {
        if (isGmError(error)) throw invalid('reveal', error.message, error)
        throw error
      }
      const publicKey = sm2PublicKeyToSpki(hexToBytes(result.share.publicKey))
      return uow.run(async (tx) => {
        if (!(await tx.enrolmentSessions.complete(stored.id, now))) throw invalid('sessionId', 'completed meanwhile')
        const application = await tx.raApplications.find(stored.applicationId)
        if (!application) throw invalid('sessionId', 'application gone')
        const done = await ra.issueEnrolled(tx, prepared, actor, application.id, publicKey)
        const key: StaffKey = {
          id: result.share.keyId,
          staffId: application.holderId,
          applicationId: application.id,
          publicKey,
          serverShare: secretBox.seal(JSON.stringify(result.share), staffKeyContext(result.share.keyId)),
          status: 'active',
          certificateId: done.issued.certificateId,
          createdAt: now,
          version: 1,
        }
        await tx.staffKeys.insert(key)
        await tx.audit.append({
          ...actor,
          type: 'enrolment.completed',
          subject: application.id,
          data: { keyId: key.id, staffId: key.staffId, serial: done.issued.serial, certificateId: key.certificateId },
          outcome: 'success',
        })
        return { message: result.message, keyId: key.id, issued: done.issued }
      })
    },
  }
}

export type Enrolment = ReturnType<typeof createEnrolment>
