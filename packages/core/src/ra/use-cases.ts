import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import { csrFromPem, parseCsr, verifyCsr } from '@yiqian/pki'
import type { ActorContext, Principal } from '../access/principal.js'
import type { AuditEvent } from '../audit/audit-record.js'
import { describePublicKey } from '../ca/ca-service.js'
import {
  APPLICATION_TRANSITIONS,
  type CertificateRecord,
  type LifecyclePolicy,
  openApplication,
  type Transition,
  type TransitionContext,
  transitionApplication,
} from '../certificates/lifecycle.js'
import type { Clock } from '../clock.js'
import { DomainError, isDomainError } from '../errors.js'
import { type StaffMember, subtreeIds } from '../organisation/organisation.js'
import { inScope, type OrgScope, orgScopeOf } from '../organisation/scope.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  type ApplicationKind,
  type CertificateIssuer,
  type IssuedReference,
  type PreparedIssuer,
  PURPOSE_OF_KIND,
  RA_LIMITS,
  type RaApplication,
  type RaApplicationQuery,
} from './application.js'

/** The settings key of the RA policy; absent means the safe default (four-eyes on). */
export const RA_POLICY_KEY = 'ra.policy'
export const DEFAULT_RA_POLICY: LifecyclePolicy = { fourEyes: true }

/** Applications approved (and issued) per unit of work in a bulk approval. */
const BULK_CHUNK = 100

export interface RaDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  /** The CA service; absent until it is connected (issue then fails with CA_UNAVAILABLE). */
  readonly issuer?: CertificateIssuer | undefined
  readonly newId?: () => string
  /** Eight random digits; replaceable in tests. */
  readonly newActivationCode?: () => string
}

export interface ApplyInput {
  readonly staffId: string
  readonly profileId: string
  readonly kind?: ApplicationKind | undefined
  /** The certificate a renewal or recovery replaces. */
  readonly replaces?: string | undefined
  readonly subject?: Readonly<Record<string, string>> | undefined
  /** A PKCS #10 request (PEM or DER) whose key the certificate is for; else the phone's two-party enrolment gives it. */
  readonly csr?: string | Uint8Array | undefined
}

export interface BulkApplyInput {
  readonly profileId: string
  readonly staffIds?: readonly string[] | undefined
  /** Every active staff member of this department (and its sub-departments when `includeSubDepartments`). */
  readonly departmentId?: string | undefined
  readonly includeSubDepartments?: boolean | undefined
  /** CSRs (PEM or DER) by staff id, for keys made elsewhere (a smart-card bureau, a migration). */
  readonly csrs?: Readonly<Record<string, string | Uint8Array>> | undefined
}

export interface BulkApprovalItem {
  readonly applicationId: string
  readonly outcome: 'approved' | 'issued' | 'skipped'
  /** For approved applications without a key: the one-time activation code for the holder's phone. */
  readonly activationCode?: string | undefined
  readonly serial?: string | undefined
  readonly code?: string | undefined
  readonly message?: string | undefined
}

export interface BulkApprovalResult {
  readonly approved: number
  readonly issued: number
  readonly skipped: number
  readonly results: readonly BulkApprovalItem[]
}

export interface BulkItemResult {
  readonly staffId: string
  readonly outcome: 'created' | 'skipped'
  readonly applicationId?: string | undefined
  readonly code?: string | undefined
  readonly message?: string | undefined
}

export interface BulkApplyResult {
  readonly created: number
  readonly skipped: number
  readonly results: readonly BulkItemResult[]
}

export interface Approval {
  readonly application: RaApplication
  /**
   * Shown once to the officer (for the holder's phone); only its keyed hash is stored. Undefined when the key was
   * already known and the certificate was issued at once.
   */
  readonly activationCode: string | undefined
  readonly issued?: IssuedReference | undefined
}

function notFound(id: string): DomainError {
  return new DomainError(
    'CERTIFICATE_APPLICATION_NOT_FOUND',
    `证书申请 ${id} 不存在 / no certificate application ${id}`,
    { id },
  )
}

export async function raPolicyOf(tx: Repositories): Promise<LifecyclePolicy> {
  const stored = await tx.settings.get(RA_POLICY_KEY)
  const value = stored?.value as { fourEyes?: unknown } | undefined
  // Anything but an explicit false keeps four-eyes on.
  return { fourEyes: value?.fourEyes !== false }
}

function checkSubject(subject: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (subject === undefined) return {}
  const entries = Object.entries(subject)
  if (entries.length > RA_LIMITS.subjectAttributes) {
    throw new DomainError('INVALID_INPUT', `subject: 最多 ${RA_LIMITS.subjectAttributes} 项 / too many attributes`, {
      field: 'subject',
    })
  }
  for (const [key, value] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(key)) {
      throw new DomainError('INVALID_INPUT', `subject.${key}: 属性名不合法 / not an attribute name`, {
        field: `subject.${key}`,
      })
    }
    if (
      typeof value !== 'string' ||
      value.trim() === '' ||
      [...value].length > RA_LIMITS.subjectValue ||
      /\p{Cc}/u.test(value)
    ) {
      throw new DomainError(
        'INVALID_INPUT',
        `subject.${key}: 1–${RA_LIMITS.subjectValue} 个字符且不含控制字符 / 1–${RA_LIMITS.subjectValue} characters, no control characters`,
        { field: `subject.${key}` },
      )
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, v.trim()]))
}

const CSR_MAX_BYTES = 16 * 1024

/**
 * The public key of a PKCS #10 request whose signature verifies (proof of possession); INVALID_INPUT naming `field`
 * for anything else.
 */
export async function publicKeyFromCsr(csr: string | Uint8Array, field = 'csr'): Promise<Uint8Array> {
  const bad = (zh: string, en: string) => new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field })
  let der: Uint8Array
  if (typeof csr === 'string') {
    if (csr.length > CSR_MAX_BYTES * 2) throw bad('过长', 'too long')
    const text = csr.trim()
    try {
      der = text.startsWith('-----') ? csrFromPem(text) : new Uint8Array(Buffer.from(text, 'base64'))
    } catch {
      throw bad('不是 PEM 格式的证书请求', 'not a PEM certificate request')
    }
  } else if (csr instanceof Uint8Array) {
    der = csr
  } else {
    throw bad('应为 PKCS #10 证书请求', 'must be a PKCS #10 certificate request')
  }
  if (der.length === 0 || der.length > CSR_MAX_BYTES) throw bad('长度不合法', 'empty or too large')
  let parsed: ReturnType<typeof parseCsr>
  try {
    parsed = parseCsr(der)
  } catch {
    throw bad('无法解析证书请求', 'not a PKCS #10 certificate request that can be read')
  }
  let valid = false
  try {
    valid = await verifyCsr(parsed)
  } catch {
    valid = false
  }
  if (!valid) throw bad('签名无效：请求未由其中的密钥签名', 'the request is not signed by the key it contains')
  describePublicKey(parsed.subjectPublicKeyInfo)
  return parsed.subjectPublicKeyInfo
}

function caUnavailable(): DomainError {
  return new DomainError('CA_UNAVAILABLE', '证书签发服务未启用 / the certificate authority is not available')
}

function checkProfileId(profileId: string): string {
  if (typeof profileId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(profileId)) {
    throw new DomainError('INVALID_INPUT', 'profileId: 1–64 个字母、数字或 ._- / 1–64 letters, digits or ._-', {
      field: 'profileId',
    })
  }
  return profileId
}

/** Why `member` cannot be applied for, or undefined. */
function staffProblem(member: StaffMember | undefined, staffId: string, scope: OrgScope): DomainError | undefined {
  // Out of scope reads as not found: a caller learns nothing about staff they may not see.
  if (!member || !inScope(scope, member.departmentIds)) {
    return new DomainError('STAFF_NOT_FOUND', `人员 ${staffId} 不存在 / no staff member ${staffId}`, {
      field: 'staffId',
      id: staffId,
    })
  }
  if (member.status !== 'active') {
    return new DomainError(
      'STAFF_NOT_ACTIVE',
      `人员 ${staffId} 状态为 ${member.status}，不能申请证书 / staff member ${staffId} is ${member.status}`,
      { field: 'staffId', id: staffId, status: member.status },
    )
  }
  return undefined
}

function openProblem(staffId: string): DomainError {
  return new DomainError(
    'CERTIFICATE_APPLICATION_OPEN',
    `人员 ${staffId} 已有待审批或待签发的申请 / staff member ${staffId} already has a pending or approved application`,
    { field: 'staffId', id: staffId },
  )
}

export function createRaUseCases(deps: RaDeps) {
  const { uow, clock, secretBox } = deps
  const newId = deps.newId ?? randomUUID
  const newActivationCode =
    deps.newActivationCode ??
    (() => String(randomInt(0, 10 ** RA_LIMITS.activationCodeDigits)).padStart(RA_LIMITS.activationCodeDigits, '0'))
  const activationHash = (id: string, code: string) => secretBox.blindIndex(`ra.activation:${id}`, code)

  async function scopeOf(tx: Repositories, principal: Principal): Promise<OrgScope> {
    if (principal.roles.includes('ra-officer')) return { all: true }
    return orgScopeOf(principal, await tx.departments.list())
  }

  async function visibleOrThrow(tx: Repositories, principal: Principal, id: string): Promise<RaApplication> {
    const application = await tx.raApplications.find(id)
    if (!application) throw notFound(id)
    const scope = await scopeOf(tx, principal)
    if (!inScope(scope, application.departmentId === undefined ? [] : [application.departmentId])) throw notFound(id)
    return application
  }

  function newApplication(
    member: StaffMember,
    input: {
      profileId: string
      kind: ApplicationKind
      replaces?: string | undefined
      subject: Record<string, string>
      publicKey?: Uint8Array | undefined
    },
    ctx: TransitionContext,
  ): { application: RaApplication; audit: AuditEvent } {
    const opened = openApplication(
      {
        id: newId(),
        holderId: member.id,
        profile: input.profileId,
        purpose: PURPOSE_OF_KIND[input.kind],
        replaces: input.replaces,
      },
      ctx,
    )
    const application: RaApplication = {
      ...opened.state,
      applicationKind: input.kind,
      institutionId: member.institutionId,
      departmentId: member.departmentIds[0],
      subject: input.subject,
      activation: undefined,
      serialHex: undefined,
      publicKey: input.publicKey,
      keyOrigin: input.publicKey ? 'csr' : undefined,
      updatedAt: ctx.now,
    }
    return {
      application,
      audit: {
        ...opened.audit,
        data: { ...opened.audit.data, kind: input.kind, departmentId: application.departmentId },
      },
    }
  }

  /** Applies a lifecycle transition and saves it with its audit event, in the caller's unit of work. */
  async function save(tx: Repositories, next: RaApplication, audit: AuditEvent): Promise<RaApplication> {
    await tx.raApplications.update(next)
    await tx.audit.append(audit)
    return next
  }

  function checkVersion(application: RaApplication, version: number | undefined): void {
    if (version !== undefined && version !== application.version) {
      throw new DomainError(
        'VERSION_CONFLICT',
        `证书申请 ${application.id} 已被修改 / application ${application.id} is at version ${application.version}, not ${version}`,
        { id: application.id, version: application.version },
      )
    }
  }

  function newActivation(id: string, code: string, now: Date): RaApplication['activation'] {
    return {
      hash: activationHash(id, code),
      expiresAt: new Date(now.getTime() + RA_LIMITS.activationHours * 3600_000),
      attempts: 0,
      redeemedAt: undefined,
    }
  }

  /**
   * The CA's prepared issuer for these applications (signers of the CAs of the certificates they replace included),
   * loaded before any unit of work. `required: false`: undefined when no CA is connected (approval still works).
   */
  async function prepareIssuer(
    ids: readonly string[],
    { required }: { required: boolean },
  ): Promise<PreparedIssuer | undefined> {
    const issuer = deps.issuer
    if (!issuer) {
      if (!required) return undefined
      throw caUnavailable()
    }
    const replaced = await uow.run(async (tx) => {
      const out: string[] = []
      for (const id of ids.slice(0, RA_LIMITS.bulkItems)) {
        const application = typeof id === 'string' ? await tx.raApplications.find(id) : undefined
        if (application?.replaces) out.push(application.replaces)
      }
      return out
    })
    try {
      return await issuer.prepare({ certificates: replaced })
    } catch (error) {
      if (!required && isDomainError(error, 'CA_UNAVAILABLE')) return undefined
      throw error
    }
  }

  async function certificateIssuer(certificateIds: readonly string[]): Promise<PreparedIssuer> {
    if (!deps.issuer) throw caUnavailable()
    return deps.issuer.prepare({ certificates: certificateIds })
  }

  /** The staff member holding a certificate, when the principal may act on it (out of scope reads as not found). */
  async function certificateHolder(
    tx: Repositories,
    principal: Principal,
    certificateId: string,
  ): Promise<StaffMember> {
    const certificate = typeof certificateId === 'string' ? await tx.certificates.find(certificateId) : undefined
    const member = certificate?.staffId ? await tx.staff.find(certificate.staffId) : undefined
    if (!certificate || !member || !inScope(await scopeOf(tx, principal), member.departmentIds)) {
      throw new DomainError('CERTIFICATE_NOT_FOUND', `证书 ${certificateId} 不存在 / no certificate ${certificateId}`, {
        field: 'certificateId',
        id: String(certificateId).slice(0, 64),
      })
    }
    return member
  }

  /** Inserts the application a renew or recover transition opened, with its audit event. */
  async function insertOpened(
    tx: Repositories,
    member: StaffMember,
    transition: Transition<CertificateRecord>,
    kind: ApplicationKind,
  ): Promise<RaApplication> {
    const opened = transition.application
    if (!opened || !transition.applicationAudit) throw new Error(`${kind} opened no application`)
    const application: RaApplication = {
      ...opened,
      applicationKind: kind,
      institutionId: member.institutionId,
      departmentId: member.departmentIds[0],
      subject: {},
      activation: undefined,
      serialHex: undefined,
      publicKey: undefined,
      keyOrigin: undefined,
      updatedAt: clock.now(),
    }
    await tx.raApplications.insertMany([application])
    await tx.audit.append({
      ...transition.applicationAudit,
      data: { ...transition.applicationAudit.data, kind, departmentId: application.departmentId },
    })
    return application
  }

  async function approveWithin(
    tx: Repositories,
    prepared: PreparedIssuer | undefined,
    application: RaApplication,
    ctx: TransitionContext,
  ): Promise<Approval> {
    const t = transitionApplication(application, { type: 'approve' }, ctx)
    if (application.publicKey && prepared) {
      const approved = await save(tx, { ...application, ...t.state, updatedAt: ctx.now }, t.audit)
      const done = await issueWithin(tx, prepared, approved, ctx)
      return { application: done.application, activationCode: undefined, issued: done.issued }
    }
    const code = newActivationCode()
    const next: RaApplication = {
      ...application,
      ...t.state,
      updatedAt: ctx.now,
      activation: newActivation(application.id, code, ctx.now),
    }
    // The audit event says a code was issued and until when, never the code.
    const audit = {
      ...t.audit,
      data: { ...t.audit.data, activationExpiresAt: next.activation?.expiresAt.toISOString() },
    }
    return { application: await save(tx, next, audit), activationCode: code }
  }

  /** Issues an approved application that has its key, marks it issued, and supersedes what a renewal replaces. */
  async function issueWithin(
    tx: Repositories,
    prepared: PreparedIssuer,
    application: RaApplication,
    ctx: TransitionContext,
  ): Promise<{ application: RaApplication; issued: IssuedReference }> {
    if (APPLICATION_TRANSITIONS[application.status].issue === undefined) {
      throw new DomainError(
        'INVALID_TRANSITION',
        `证书申请 ${application.id} 处于 ${application.status} 状态，不能签发 / application ${application.id} is ${application.status}; issue is not allowed`,
        { id: application.id, from: application.status, event: 'issue' },
      )
    }
    if (!application.publicKey) {
      throw new DomainError(
        'INVALID_INPUT',
        'csr: 尚无密钥：请提交证书请求，或由持有人用激活码在手机上注册 / no key yet: give a CSR, or let the holder enrol the phone with the activation code',
        { field: 'csr' },
      )
    }
    const issued = await prepared.issue(tx, application, ctx.actor)
    const t = transitionApplication(
      application,
      { type: 'issue', certificateId: issued.certificateId, serialHex: issued.serial },
      ctx,
    )
    const next = await save(tx, { ...application, ...t.state, serialHex: issued.serial, updatedAt: ctx.now }, t.audit)
    if (application.applicationKind === 'renew' && application.replaces) {
      const old = await tx.certificates.find(application.replaces)
      // A certificate revoked or expired meanwhile has nothing left to supersede.
      if (old && (old.status === 'active' || old.status === 'suspended')) {
        await prepared.change(
          tx,
          old.id,
          { type: 'supersede', byCertificateId: issued.certificateId },
          ctx.actor,
          ctx.policy,
        )
      }
    }
    return { application: next, issued }
  }

  return {
    /** One application by an RA officer for one staff member. */
    async apply(principal: Principal, actor: ActorContext, input: ApplyInput): Promise<RaApplication> {
      const profileId = checkProfileId(input.profileId)
      const subject = checkSubject(input.subject)
      const kind = input.kind ?? 'apply'
      if (kind !== 'apply' && !input.replaces) {
        throw new DomainError('INVALID_INPUT', 'replaces: 更新或找回须指明原证书 / required for renew and recover', {
          field: 'replaces',
        })
      }
      const publicKey = input.csr === undefined ? undefined : await publicKeyFromCsr(input.csr)
      return uow.run(async (tx) => {
        const now = clock.now()
        const ctx: TransitionContext = { actor, now, policy: await raPolicyOf(tx) }
        const member = await tx.staff.find(input.staffId)
        const problem = staffProblem(member, input.staffId, await scopeOf(tx, principal))
        if (problem || !member) throw problem
        if ((await tx.raApplications.staffWithOpenApplications([member.id])).size > 0) throw openProblem(member.id)
        const { application, audit } = newApplication(
          member,
          { profileId, kind, replaces: input.replaces, subject, publicKey },
          ctx,
        )
        await tx.raApplications.insertMany([application])
        await tx.audit.append(audit)
        return application
      })
    },

    /**
     * Applications for many staff members in one unit of work, with a result per staff member. Semantics: every
     * eligible staff member gets an application; the others (unknown, out of scope, not active, already with an
     * open application, listed twice) are skipped with their reason — nothing is written for them, and the
     * eligible ones are written together or not at all.
     */
    async applyBulk(principal: Principal, actor: ActorContext, input: BulkApplyInput): Promise<BulkApplyResult> {
      const profileId = checkProfileId(input.profileId)
      if ((input.staffIds === undefined) === (input.departmentId === undefined)) {
        throw new DomainError(
          'INVALID_INPUT',
          'staffIds: 须给出 staffIds 或 departmentId 之一 / give staffIds or departmentId',
          {
            field: 'staffIds',
          },
        )
      }
      if (input.staffIds && input.staffIds.length > RA_LIMITS.bulkItems) {
        throw new DomainError(
          'INVALID_INPUT',
          `staffIds: 最多 ${RA_LIMITS.bulkItems} 人 / at most ${RA_LIMITS.bulkItems}`,
          {
            field: 'staffIds',
          },
        )
      }
      // Each CSR's signature is checked before the unit of work opens; a bad one skips its staff member only.
      const keys = new Map<string, Uint8Array | DomainError>()
      const csrs = Object.entries(input.csrs ?? {})
      if (csrs.length > RA_LIMITS.bulkItems) {
        throw new DomainError(
          'INVALID_INPUT',
          `csrs: 最多 ${RA_LIMITS.bulkItems} 个 / at most ${RA_LIMITS.bulkItems}`,
          {
            field: 'csrs',
          },
        )
      }
      for (const [staffId, csr] of csrs) {
        try {
          keys.set(staffId, await publicKeyFromCsr(csr, `csrs.${staffId}`))
        } catch (error) {
          if (!isDomainError(error)) throw error
          keys.set(staffId, error)
        }
      }
      return uow.run(async (tx) => {
        const now = clock.now()
        const ctx: TransitionContext = { actor, now, policy: await raPolicyOf(tx) }
        const scope = await scopeOf(tx, principal)
        let candidates: { staffId: string; member: StaffMember | undefined }[]
        if (input.departmentId !== undefined) {
          const department = await tx.departments.find(input.departmentId)
          if (!department || !inScope(scope, [department.id])) {
            throw new DomainError('DEPARTMENT_NOT_FOUND', `科室 ${input.departmentId} 不存在 / no department`, {
              field: 'departmentId',
              id: input.departmentId,
            })
          }
          const departments = await tx.departments.list(department.institutionId)
          const ids = input.includeSubDepartments ? subtreeIds(departments, [department.id]) : new Set([department.id])
          const everyone = await tx.staff.listAll(department.institutionId)
          candidates = everyone
            .filter((m) => m.status === 'active' && m.departmentIds.some((d) => ids.has(d)))
            .map((member) => ({ staffId: member.id, member }))
        } else {
          candidates = []
          for (const staffId of input.staffIds ?? []) {
            candidates.push({ staffId, member: await tx.staff.find(staffId) })
          }
        }
        const open = await tx.raApplications.staffWithOpenApplications(
          candidates.flatMap((c) => (c.member ? [c.member.id] : [])),
        )
        const seen = new Set<string>()
        const results: BulkItemResult[] = []
        const created: RaApplication[] = []
        const audits: AuditEvent[] = []
        for (const { staffId, member } of candidates) {
          let problem = staffProblem(member, staffId, scope)
          if (!problem && seen.has(staffId)) {
            problem = new DomainError('INVALID_INPUT', `人员 ${staffId} 重复 / listed twice`, { field: 'staffIds' })
          }
          if (!problem && open.has(staffId)) problem = openProblem(staffId)
          const key = keys.get(staffId)
          if (!problem && key instanceof DomainError) problem = key
          seen.add(staffId)
          if (problem || !member) {
            results.push({ staffId, outcome: 'skipped', code: problem?.code, message: problem?.message })
            continue
          }
          const { application, audit } = newApplication(
            member,
            { profileId, kind: 'apply', subject: {}, publicKey: key instanceof Uint8Array ? key : undefined },
            ctx,
          )
          created.push(application)
          audits.push(audit)
          results.push({ staffId, outcome: 'created', applicationId: application.id })
        }
        await tx.raApplications.insertMany(created)
        for (const audit of audits) await tx.audit.append(audit)
        return { created: created.length, skipped: results.length - created.length, results }
      })
    },

    /**
     * Approves (a second officer when four-eyes is on). An application whose key is already known (a CSR) is issued
     * in the same unit of work; one without gets the one-time activation code for the holder's phone enrolment.
     */
    async approve(principal: Principal, actor: ActorContext, id: string, version?: number): Promise<Approval> {
      const prepared = await prepareIssuer([id], { required: false })
      return uow.run(async (tx) => {
        const application = await visibleOrThrow(tx, principal, id)
        checkVersion(application, version)
        const ctx: TransitionContext = { actor, now: clock.now(), policy: await raPolicyOf(tx) }
        return approveWithin(tx, prepared, application, ctx)
      })
    },

    /**
     * Approves many applications (e.g. a department's, after a bulk application), 100 per unit of work. Each is
     * approved or skipped with its reason; those with a known key are issued at once. Re-running is safe: what is
     * already approved or issued is skipped.
     */
    async approveBulk(principal: Principal, actor: ActorContext, ids: readonly string[]): Promise<BulkApprovalResult> {
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > RA_LIMITS.bulkItems) {
        throw new DomainError(
          'INVALID_INPUT',
          `ids: 1–${RA_LIMITS.bulkItems} 个申请 / 1–${RA_LIMITS.bulkItems} applications`,
          {
            field: 'ids',
          },
        )
      }
      const prepared = await prepareIssuer(ids, { required: false })
      const results: BulkApprovalItem[] = []
      const unique = [...new Set(ids.map(String))]
      for (let i = 0; i < unique.length; i += BULK_CHUNK) {
        const chunk = unique.slice(i, i + BULK_CHUNK)
        const out = await uow.run(async (tx) => {
          const ctx: TransitionContext = { actor, now: clock.now(), policy: await raPolicyOf(tx) }
          const items: BulkApprovalItem[] = []
          for (const id of chunk) {
            try {
              const application = await visibleOrThrow(tx, principal, id)
              const done = await approveWithin(tx, prepared, application, ctx)
              items.push(
                done.issued
                  ? { applicationId: id, outcome: 'issued', serial: done.issued.serial }
                  : { applicationId: id, outcome: 'approved', activationCode: done.activationCode },
              )
            } catch (error) {
              // Domain checks all happen before the first write of an item, so skipping leaves nothing half-done.
              if (!isDomainError(error) || error.code === 'VERSION_CONFLICT') throw error
              items.push({ applicationId: id, outcome: 'skipped', code: error.code, message: error.message })
            }
          }
          return items
        })
        results.push(...out)
      }
      const count = (outcome: BulkApprovalItem['outcome']) => results.filter((r) => r.outcome === outcome).length
      return { approved: count('approved'), issued: count('issued'), skipped: count('skipped'), results }
    },

    async reject(principal: Principal, actor: ActorContext, id: string, reason: string, version?: number) {
      return uow.run(async (tx) => {
        const application = await visibleOrThrow(tx, principal, id)
        checkVersion(application, version)
        const now = clock.now()
        const t = transitionApplication(
          application,
          { type: 'reject', reason },
          { actor, now, policy: await raPolicyOf(tx) },
        )
        return save(tx, { ...application, ...t.state, updatedAt: now }, t.audit)
      })
    },

    async cancel(principal: Principal, actor: ActorContext, id: string, reason?: string, version?: number) {
      return uow.run(async (tx) => {
        const application = await visibleOrThrow(tx, principal, id)
        checkVersion(application, version)
        const now = clock.now()
        const t = transitionApplication(
          application,
          { type: 'cancel', reason },
          { actor, now, policy: await raPolicyOf(tx) },
        )
        // A cancelled application's activation code is dead with it.
        return save(tx, { ...application, ...t.state, activation: undefined, updatedAt: now }, t.audit)
      })
    },

    /**
     * Has the CA issue the certificate of an approved application for the key of `csr` (proof of possession checked)
     * or the key already attached (phone enrolment), and marks it issued in the same unit of work: if saving fails
     * the CA's writes roll back too. A renewal's old certificate is superseded (revoked, CRL republished) there.
     */
    async issue(
      principal: Principal,
      actor: ActorContext,
      id: string,
      input: { readonly csr?: string | Uint8Array | undefined } = {},
    ): Promise<RaApplication & { readonly issued: IssuedReference }> {
      const csrKey = input.csr === undefined ? undefined : await publicKeyFromCsr(input.csr)
      const prepared = await prepareIssuer([id], { required: true })
      return uow.run(async (tx) => {
        let application = await visibleOrThrow(tx, principal, id)
        if (csrKey) application = { ...application, publicKey: csrKey, keyOrigin: 'csr' }
        const ctx: TransitionContext = { actor, now: clock.now(), policy: await raPolicyOf(tx) }
        const done = await issueWithin(tx, prepared as PreparedIssuer, application, ctx)
        return { ...done.application, issued: done.issued }
      })
    },

    /**
     * Renewal online before expiry with a new key (更新): opens a renewal application for an active certificate; the
     * old certificate stays valid until the replacement is issued, then it is superseded.
     */
    async renew(principal: Principal, actor: ActorContext, certificateId: string): Promise<RaApplication> {
      const prepared = await certificateIssuer([certificateId])
      return uow.run(async (tx) => {
        const member = await certificateHolder(tx, principal, certificateId)
        if ((await tx.raApplications.staffWithOpenApplications([member.id])).size > 0) throw openProblem(member.id)
        const policy = await raPolicyOf(tx)
        const change = await prepared.change(
          tx,
          certificateId,
          { type: 'renew', applicationId: newId() },
          actor,
          policy,
        )
        return insertOpened(tx, member, change.transition, 'renew')
      })
    },

    /**
     * Recovery after a lost phone (找回): the officer has re-verified the holder's identity; the old certificate is
     * revoked at once (reason superseded, or keyCompromise on evidence) with the CRL republished, and an approved
     * recovery application is opened with a new activation code for the new device.
     */
    async recover(
      principal: Principal,
      actor: ActorContext,
      input: {
        readonly certificateId: string
        readonly identityVerification: string
        readonly reason?: 'superseded' | 'keyCompromise' | undefined
      },
    ): Promise<Approval> {
      const prepared = await certificateIssuer([input.certificateId])
      return uow.run(async (tx) => {
        const member = await certificateHolder(tx, principal, input.certificateId)
        if ((await tx.raApplications.staffWithOpenApplications([member.id])).size > 0) throw openProblem(member.id)
        const policy = await raPolicyOf(tx)
        const change = await prepared.change(
          tx,
          input.certificateId,
          {
            type: 'recover',
            applicationId: newId(),
            identityVerification: input.identityVerification,
            reason: input.reason,
          },
          actor,
          policy,
        )
        const opened = await insertOpened(tx, member, change.transition, 'recover')
        const code = newActivationCode()
        const now = clock.now()
        const application: RaApplication = { ...opened, activation: newActivation(opened.id, code, now) }
        await tx.raApplications.update({ ...application, version: application.version + 1 })
        return { application: { ...application, version: application.version + 1 }, activationCode: code }
      })
    },

    /** For enrolment: the prepared issuer (loaded outside any unit of work) for these applications. */
    prepareIssuer: (ids: readonly string[]) => prepareIssuer(ids, { required: true }) as Promise<PreparedIssuer>,

    /**
     * Attaches the key of a phone's two-party enrolment to an approved application and issues its certificate, in the
     * caller's unit of work (the enrolment stores the server's key share in the same one).
     */
    async issueEnrolled(
      tx: Repositories,
      prepared: PreparedIssuer,
      actor: ActorContext,
      applicationId: string,
      publicKey: Uint8Array,
    ): Promise<{ application: RaApplication; issued: IssuedReference }> {
      const application = await tx.raApplications.find(applicationId)
      if (!application) throw notFound(applicationId)
      const ctx: TransitionContext = { actor, now: clock.now(), policy: await raPolicyOf(tx) }
      return issueWithin(tx, prepared, { ...application, publicKey, keyOrigin: 'two-party' }, ctx)
    },

    async get(principal: Principal, id: string): Promise<RaApplication> {
      return uow.run((tx) => visibleOrThrow(tx, principal, id))
    },

    /** Search with paging; a department filter covers its sub-departments; department managers see their scope. */
    async list(
      principal: Principal,
      query: Omit<RaApplicationQuery, 'departmentIds'> & { readonly departmentId?: string | undefined },
    ): Promise<{ items: RaApplication[]; total: number }> {
      const limit = Math.min(Math.max(1, query.limit), RA_LIMITS.pageSize)
      const offset = Math.max(0, query.offset)
      return uow.run(async (tx) => {
        const scope = await scopeOf(tx, principal)
        let departmentIds: string[] | undefined
        if (query.departmentId !== undefined) {
          departmentIds = [...subtreeIds(await tx.departments.list(), [query.departmentId])]
          if (!scope.all) departmentIds = departmentIds.filter((d) => scope.departmentIds.has(d))
        } else if (!scope.all) {
          departmentIds = [...scope.departmentIds]
        }
        if (departmentIds?.length === 0) return { items: [], total: 0 }
        const { departmentId: _unused, ...rest } = query
        return tx.raApplications.search({ ...rest, departmentIds, offset, limit })
      })
    },

    /** The RA policy and its version (0 while the default applies). */
    async policy(): Promise<LifecyclePolicy & { version: number }> {
      return uow.run(async (tx) => {
        const stored = await tx.settings.get(RA_POLICY_KEY)
        return { ...(await raPolicyOf(tx)), version: stored?.version ?? 0 }
      })
    },

    /** Changes the RA policy (security administrators); `version` is the one read, 0 when never set. */
    async setPolicy(actor: ActorContext, input: { fourEyes: boolean; version: number }) {
      if (typeof input.fourEyes !== 'boolean') {
        throw new DomainError('INVALID_INPUT', 'fourEyes: 须为布尔值 / must be a boolean', { field: 'fourEyes' })
      }
      return uow.run(async (tx) => {
        const before = await raPolicyOf(tx)
        const now = clock.now()
        await tx.settings.put(RA_POLICY_KEY, { fourEyes: input.fourEyes }, input.version + 1, now, actor.actor)
        const { actor: who, actorRole, source, requestId } = actor
        await tx.audit.append({
          actor: who,
          actorRole,
          source,
          requestId,
          type: 'ra.policy.changed',
          subject: RA_POLICY_KEY,
          data: { fourEyes: { from: before.fourEyes, to: input.fourEyes } },
          outcome: 'success',
        })
        return { fourEyes: input.fourEyes, version: input.version + 1 }
      })
    },

    /**
     * Redeems the activation code of an approved application (phone self-service enrolment). One-time; wrong
     * guesses count (committed even though the call fails) and burn the code at the limit.
     */
    async redeemActivationCode(
      actor: ActorContext,
      input: { applicationId: string; code: string },
      { redeem = true }: { readonly redeem?: boolean } = {},
    ) {
      const invalid = (reason: string) =>
        new DomainError('ACTIVATION_CODE_INVALID', '激活码无效或已过期 / the activation code is not valid', {
          field: 'code',
          reason,
        })
      const outcome = await uow.run(async (tx) => {
        const application = await tx.raApplications.find(input.applicationId)
        const activation = application?.activation
        if (!application || !activation || application.status !== 'approved') return invalid('unknown')
        const now = clock.now()
        if (activation.redeemedAt) return invalid('used')
        if (activation.attempts >= RA_LIMITS.activationAttempts) return invalid('attempts')
        if (now.getTime() >= activation.expiresAt.getTime()) return invalid('expired')
        const given = Buffer.from(activationHash(application.id, String(input.code)))
        const stored = Buffer.from(activation.hash)
        const ok = given.length === stored.length && timingSafeEqual(given, stored)
        // Checking without redeeming (the first round trip of enrolment): a right code changes nothing.
        if (ok && !redeem) return application
        const next: RaApplication = {
          ...application,
          activation: ok ? { ...activation, redeemedAt: now } : { ...activation, attempts: activation.attempts + 1 },
          version: application.version + 1,
          updatedAt: now,
        }
        const { actor: who, actorRole, source, requestId } = actor
        await save(tx, next, {
          actor: who,
          actorRole,
          source,
          requestId,
          type: 'certificate-application.activation-redeemed',
          subject: application.id,
          data: ok ? {} : { attempts: next.activation?.attempts },
          outcome: ok ? 'success' : 'failure',
        })
        return ok ? next : invalid('mismatch')
      })
      if (isDomainError(outcome)) throw outcome
      return outcome
    },
  }
}

export type RaUseCases = ReturnType<typeof createRaUseCases>
