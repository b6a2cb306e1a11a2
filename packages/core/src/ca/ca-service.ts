/**
 * The certificate authority: a root and an issuing CA whose keys live in the KeyStore, issuance from profiles,
 * revocation through the lifecycle machine with the CRL regenerated in the same unit of work, and an OCSP
 * responder. Signers are loaded before a unit of work opens (a KeyStore reads its own rows in a transaction of its
 * own, and SQLite has one connection).
 */
import { createPublicKey, randomBytes, randomUUID } from 'node:crypto'
import { createVerifier, equalBytes, type Signer } from '@yiqian/gm'
import {
  buildCertificate,
  buildCrl,
  buildOcspResponse,
  certIdMatches,
  generateSerial,
  type NameList,
  nameToString,
  type OcspCertStatus,
  type OcspEntry,
  type ParsedCertificate,
  parseCertificate,
  parseOcspRequest,
  type RevokedInput,
  serialToHex,
  spkiParts,
} from '@yiqian/pki'
import type { ActorContext } from '../access/principal.js'
import {
  type CertificateEvent,
  type CertificateRecord,
  type LifecyclePolicy,
  type RevocationReason,
  type Transition,
  transitionCertificate,
} from '../certificates/lifecycle.js'
import {
  builtInProfile,
  type CertificateRequest,
  type IssuerFacts,
  type PublicKeyDescription,
  planCertificateOrThrow,
  type SubjectAttribute,
} from '../certificates/profiles.js'
import type { Clock } from '../clock.js'
import { DomainError, isDomainError } from '../errors.js'
import type { KeyStore } from '../keys/key-store.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import {
  CA_ALGORITHMS,
  CA_LIMITS,
  type CaAlgorithm,
  type CertificateAuthority,
  type CertificateRevocationStatus,
  type IssuedCertificate,
} from './certificate-authority.js'

export type SubjectInput = Readonly<Partial<Record<SubjectAttribute, string>>>

export interface CaServiceDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly keyStore: KeyStore
  /**
   * Where the publication routes are reachable from relying parties, e.g. `http://ca.hospital.local`; written into
   * certificates as CRL distribution point, OCSP and caIssuers URLs. Without it certificates carry no pointers.
   */
  readonly publicBaseUrl?: string | undefined
}

export interface CreateHierarchyInput {
  readonly algorithm: CaAlgorithm
  readonly names: { readonly root: SubjectInput; readonly issuing: SubjectInput }
}

export interface IssueCertificateInput {
  readonly caId: string
  readonly profileId: string
  readonly subject: SubjectInput
  readonly subjectAltName?: CertificateRequest['subjectAltName']
  readonly idCardNumber?: string | undefined
  /** SubjectPublicKeyInfo, DER. The key algorithm is read from it, never taken from the request. */
  readonly publicKey: Uint8Array
  readonly staffId?: string | undefined
  /** The holder's actor (`user:<id>`), for four-eyes checks on later transitions. */
  readonly holderActor?: string | undefined
}

export interface SerialReference {
  /** Lower-case or upper-case hex, with or without a leading 00. */
  readonly serial: string
  /** Needed only when two issuers used the same serial. */
  readonly caId?: string | undefined
}

/** End-entity profiles `issueCertificate` accepts; CA certificates come from `createHierarchy` only. */
const CA_PROFILES = new Set(['root-ca', 'issuing-ca'])

/** RFC 6960 §4.2.1 OCSPResponse with only a responseStatus: malformedRequest (1), internalError (2), unauthorized (6). */
export const OCSP_MALFORMED_REQUEST = Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x01)
export const OCSP_INTERNAL_ERROR = Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x02)
export const OCSP_UNAUTHORIZED = Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x06)

const SERIAL_HEX = /^[0-9a-fA-F]{1,42}$/
const CA_ID = /^ca-[0-9a-f]{16}$/

function invalid(field: string, zh: string, en: string): DomainError {
  return new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field })
}

/** Lower-case hex without leading zero octets: how serials are stored and compared. */
export function normaliseSerial(serial: string): string {
  if (typeof serial !== 'string' || !SERIAL_HEX.test(serial)) {
    throw invalid('serial', '应为十六进制证书序列号', 'must be a hexadecimal certificate serial number')
  }
  const hex = serial.toLowerCase().replace(/^(00)+/, '')
  if (hex === '' || /^0+$/.test(hex)) throw invalid('serial', '不能为 0', 'must not be zero')
  return hex.length % 2 ? `0${hex}` : hex
}

function serialFromBytes(bytes: Uint8Array): string {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  return Buffer.from(bytes.subarray(i)).toString('hex')
}

/** What the SubjectPublicKeyInfo says the key is; INVALID_INPUT naming `publicKey` when it cannot be read. */
export function describePublicKey(spki: Uint8Array): PublicKeyDescription {
  if (!(spki instanceof Uint8Array) || spki.length === 0 || spki.length > CA_LIMITS.publicKeyBytes) {
    throw invalid(
      'publicKey',
      `应为不超过 ${CA_LIMITS.publicKeyBytes} 字节的 DER 公钥`,
      'must be a DER SubjectPublicKeyInfo',
    )
  }
  // The two EC keys the profiles take are read directly (the OIDs, the point checked against the curve): a
  // verifier costs far more than the issuance it guards. Anything else goes through the general parser.
  const fast = describeEcKey(spki)
  if (fast) return fast
  let algorithm: string
  try {
    algorithm = createVerifier(spki).algorithm
  } catch {
    throw invalid('publicKey', '无法解析公钥（SubjectPublicKeyInfo）', 'not a SubjectPublicKeyInfo that can be read')
  }
  if (algorithm === 'SM2-SM3') return { algorithm: 'SM2' }
  if (algorithm === 'ECDSA-P256-SHA256') return { algorithm: 'ECDSA-P256' }
  if (algorithm.startsWith('RSA')) {
    const bits = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyDetails
      ?.modulusLength
    return { algorithm: 'RSA', bits }
  }
  throw invalid('publicKey', '不支持的公钥算法', 'unsupported public key algorithm')
}

const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1'

/** Short Weierstrass curves y² = x³ + ax + b over GF(p), both with a = p − 3 and cofactor 1. */
const CURVES: Readonly<Record<string, { algorithm: 'SM2' | 'ECDSA-P256'; p: bigint; b: bigint }>> = {
  '1.2.156.10197.1.301': {
    algorithm: 'SM2',
    p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
    b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  },
  '1.2.840.10045.3.1.7': {
    algorithm: 'ECDSA-P256',
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
}

function bigintOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`)
}

/**
 * SM2 or P-256 keys as id-ecPublicKey with the named curve and an uncompressed point on the curve; undefined for
 * anything else (other encodings, other algorithms, malformed input), which the general parser then judges.
 */
function describeEcKey(spki: Uint8Array): PublicKeyDescription | undefined {
  let parts: ReturnType<typeof spkiParts>
  try {
    parts = spkiParts(spki)
  } catch {
    return undefined
  }
  const curve = parts.algorithm === ID_EC_PUBLIC_KEY && parts.parameterOid ? CURVES[parts.parameterOid] : undefined
  const point = parts.key
  if (!curve || point.length !== 65 || point[0] !== 0x04) return undefined
  const { p, b } = curve
  const x = bigintOf(point.subarray(1, 33))
  const y = bigintOf(point.subarray(33))
  if (x >= p || y >= p) return undefined
  if ((y * y - (x * x * x - 3n * x + b)) % p !== 0n) return undefined
  return { algorithm: curve.algorithm }
}

function checkSubject(field: string, subject: unknown): SubjectInput {
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) {
    throw invalid(field, '应为主题字段对象', 'must be an object of subject attributes')
  }
  return subject as SubjectInput
}

function factsOf(cert: ParsedCertificate): IssuerFacts {
  const bc = cert.extensions.basicConstraints
  return { notBefore: cert.notBefore, notAfter: cert.notAfter, ca: bc?.ca === true, pathLength: bc?.pathLength }
}

function caNotFound(id: string): DomainError {
  return new DomainError('CA_NOT_FOUND', `CA ${id} 不存在 / no certificate authority ${id}`, { field: 'caId', id })
}

function certificateNotFound(serial: string): DomainError {
  return new DomainError('CERTIFICATE_NOT_FOUND', `证书 ${serial} 不存在 / no certificate with serial ${serial}`, {
    field: 'serial',
    serial,
  })
}

export interface CertificateStatusChange {
  readonly certificate: IssuedCertificate
  readonly transition: Transition<CertificateRecord>
}

export interface CaService {
  createHierarchy(
    input: CreateHierarchyInput,
    actor: ActorContext,
  ): Promise<{ root: CertificateAuthority; issuing: CertificateAuthority }>
  issueCertificate(input: IssueCertificateInput, actor: ActorContext): Promise<IssuedCertificate>
  /**
   * The same inside a unit of work the caller opened (the RA marks its application issued in it). The signer must be
   * loaded before that unit of work with `signerFor`.
   */
  issueWithin(
    tx: Repositories,
    input: IssueCertificateInput,
    actor: ActorContext,
    signer: Signer,
  ): Promise<IssuedCertificate>
  signerFor(caId: string): Promise<Signer>
  /**
   * A lifecycle event on one certificate inside the caller's unit of work, its issuer's CRL republished there when
   * the status changed. The transition is returned too: renewal and recovery open an application with it.
   */
  changeWithin(
    tx: Repositories,
    certificateId: string,
    event: CertificateEvent,
    actor: ActorContext,
    signer: Signer,
    policy?: LifecyclePolicy,
  ): Promise<CertificateStatusChange>
  revoke(
    ref: SerialReference,
    reason: RevocationReason,
    actor: ActorContext,
    options?: { readonly invalidityDate?: Date | undefined; readonly comment?: string | undefined },
  ): Promise<IssuedCertificate>
  suspend(ref: SerialReference, actor: ActorContext, comment?: string): Promise<IssuedCertificate>
  resume(ref: SerialReference, actor: ActorContext): Promise<IssuedCertificate>
  /** The current CRL (DER); regenerated first when missing or due within a day. */
  crl(caId: string, actor?: ActorContext): Promise<Uint8Array>
  find(caId: string): Promise<CertificateAuthority>
  /**
   * Issues a fresh delegated OCSP responder certificate (`ocsp-signer` profile: OCSPSigning, ocsp-nocheck, 30 days)
   * for the CA, with a new KeyStore key (purpose `ocsp`), and makes it the CA's responder. Run again before it lapses;
   * until then, and after, the CA's own key answers.
   */
  provisionOcspResponder(caId: string, actor: ActorContext): Promise<CertificateAuthority>
  list(): Promise<CertificateAuthority[]>
  /** Answers an OCSP request (DER) with an OCSP response (DER); never throws for bad input. */
  respondOcsp(request: Uint8Array): Promise<Uint8Array>
}

const CONFLICT_ATTEMPTS = 3

async function retryOnConflict<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (error) {
      if (attempt >= CONFLICT_ATTEMPTS || !isDomainError(error, 'VERSION_CONFLICT')) throw error
    }
  }
}

const SYSTEM: ActorContext = { actor: 'system', actorRole: '', source: 'local', requestId: 'crl-refresh' }

export function createCaService(deps: CaServiceDeps): CaService {
  const { uow, clock, keyStore } = deps
  const base = deps.publicBaseUrl?.replace(/\/+$/, '')
  const pointers = (issuerId: string, crlOf: string) =>
    base
      ? {
          crl: [`${base}/pki/crl/${crlOf}.crl`],
          ocsp: [`${base}/pki/ocsp`],
          caIssuers: [`${base}/pki/ca/${issuerId}.crt`],
        }
      : undefined

  /**
   * The active CAs with their parsed certificates, as the OCSP responder matches requests to them: read at most
   * once per ACTIVE_CA_TTL_MS (a public hot path must not load every CA row per request), read again whenever a
   * request names none of them, and dropped when this service creates a CA or a responder. Certificate status is
   * never cached: each answer reads it.
   */
  const ACTIVE_CA_TTL_MS = 1000
  type ActiveCa = { readonly ca: CertificateAuthority; readonly cert: ParsedCertificate }
  let activeCas: { readonly at: number; readonly list: readonly ActiveCa[] } | undefined
  /** CA certificates parsed once per service: the OCSP responder, a public hot path, matches every request to them. */
  const parsedCaCertificates = new Map<string, { der: Uint8Array; parsed: ParsedCertificate }>()
  function caCertificateOf(ca: CertificateAuthority): ParsedCertificate {
    const cached = parsedCaCertificates.get(ca.id)
    if (cached && equalBytes(cached.der, ca.certificate)) return cached.parsed
    const parsed = parseCertificate(ca.certificate)
    parsedCaCertificates.set(ca.id, { der: ca.certificate.slice(), parsed })
    return parsed
  }

  async function loadCa(tx: Repositories, caId: string): Promise<CertificateAuthority> {
    if (typeof caId !== 'string' || !CA_ID.test(caId)) throw caNotFound(String(caId).slice(0, 64))
    const ca = await tx.certificateAuthorities.find(caId)
    if (!ca) throw caNotFound(caId)
    return ca
  }

  /**
   * The issuing CA as read once per unit of work: a bulk approval issues hundreds of certificates in one transaction
   * under the same CA, and its row (certificate, status) does not change within it. Keyed by the transaction's
   * repositories object, so the next unit of work reads it afresh.
   */
  const issuingCas = new WeakMap<Repositories, Map<string, CertificateAuthority>>()
  async function issuingCaIn(tx: Repositories, caId: string): Promise<CertificateAuthority> {
    let inTx = issuingCas.get(tx)
    const cached = typeof caId === 'string' ? inTx?.get(caId) : undefined
    if (cached) return cached
    const ca = await loadCa(tx, caId)
    if (!inTx) {
      inTx = new Map()
      issuingCas.set(tx, inTx)
    }
    inTx.set(ca.id, ca)
    return ca
  }

  /**
   * Signers per key URI, kept for the life of the service: keys never change, and retiring one still stops it, since
   * a store's signer asks again when it signs (the soft store drops its decrypted key on retire and re-reads the
   * row; a PKCS#11 token refuses a key whose CKA_SIGN was cleared). Only successful loads are kept.
   */
  const signers = new Map<string, Signer>()
  async function signerOf(keyUri: string): Promise<Signer> {
    const cached = signers.get(keyUri)
    if (cached) return cached
    const signer = await keyStore.signer(keyUri)
    if (signers.size >= 256) signers.clear()
    signers.set(keyUri, signer)
    return signer
  }

  async function signerFor(caId: string): Promise<Signer> {
    const ca = await uow.run((tx) => loadCa(tx, caId))
    return signerOf(ca.keyUri)
  }

  /** Builds and stores a new CRL for `ca` in `tx`, appending `ca.crl-published`. */
  async function publishCrl(
    tx: Repositories,
    ca: CertificateAuthority,
    signer: Signer,
    actor: ActorContext,
  ): Promise<Uint8Array> {
    const now = clock.now()
    const current = (await tx.certificateAuthorities.find(ca.id)) ?? ca
    const listed = await tx.certificates.listRevoked(ca.id, now)
    const revoked: RevokedInput[] = listed.map((c) => ({
      serial: c.serialHex,
      date: c.status === 'suspended' ? c.statusChangedAt : (c.revocation?.at ?? c.statusChangedAt),
      reason: c.status === 'suspended' ? 'certificateHold' : (c.revocation?.reason ?? 'unspecified'),
    }))
    const number = current.crlNumber + 1
    const nextUpdate = new Date(now.getTime() + CA_LIMITS.crlValiditySeconds * 1000)
    const der = await buildCrl({
      issuer: ca.certificate,
      signer,
      thisUpdate: now,
      nextUpdate,
      crlNumber: number,
      revoked,
    })
    // The audit head's lock first, the CA row's second — the order every other writer of a CA row takes (issuing an
    // OCSP responder certificate appends audit, then saves the responder). The opposite order deadlocked two
    // instances running crl-refresh and ocsp-responder-renewal at once on PostgreSQL. A failed save rolls it back.
    await tx.audit.append({
      ...actor,
      type: 'ca.crl-published',
      subject: ca.id,
      data: { crlNumber: number, entries: revoked.length, nextUpdate: nextUpdate.toISOString() },
      outcome: 'success',
    })
    const saved = await tx.certificateAuthorities.saveCrl(ca.id, { der, number, nextUpdate }, current.crlNumber)
    if (!saved) {
      throw new DomainError('VERSION_CONFLICT', `CA ${ca.id} 的 CRL 已被更新 / the CRL of ${ca.id} changed meanwhile`, {
        id: ca.id,
      })
    }
    return der
  }

  async function issueWithin(
    tx: Repositories,
    input: IssueCertificateInput,
    actor: ActorContext,
    signer: Signer,
  ): Promise<IssuedCertificate> {
    if (typeof input?.profileId !== 'string' || CA_PROFILES.has(input.profileId)) {
      throw invalid('profileId', 'CA 证书只能在创建层级时签发', 'CA certificates are issued by createHierarchy only')
    }
    const profile = builtInProfile(input.profileId)
    if (input.staffId !== undefined && (typeof input.staffId !== 'string' || input.staffId.length > 64)) {
      throw invalid('staffId', '最多 64 个字符', 'at most 64 characters')
    }
    if (input.holderActor !== undefined && (typeof input.holderActor !== 'string' || input.holderActor.length > 200)) {
      throw invalid('holderActor', '最多 200 个字符', 'at most 200 characters')
    }
    const publicKey = describePublicKey(input.publicKey)
    const ca = await issuingCaIn(tx, input.caId)
    if (ca.status !== 'active') {
      throw new DomainError('CA_NOT_FOUND', `CA ${ca.id} 已停用 / certificate authority ${ca.id} is retired`, {
        field: 'caId',
        id: ca.id,
      })
    }
    const caCert = caCertificateOf(ca)
    const now = clock.now()
    const plan = planCertificateOrThrow(
      profile,
      {
        subject: checkSubject('subject', input.subject),
        subjectAltName: input.subjectAltName,
        idCardNumber: input.idCardNumber,
        publicKey,
      },
      { now, issuer: factsOf(caCert), revocation: pointers(ca.id, ca.id) },
    )
    return issueFromPlan(tx, {
      ca,
      caCert,
      signer,
      plan,
      publicKey: input.publicKey,
      actor,
      staffId: input.staffId,
      holderActor: input.holderActor,
    })
  }

  async function issueFromPlan(
    tx: Repositories,
    args: {
      ca: CertificateAuthority
      caCert: ParsedCertificate
      signer: Signer
      plan: ReturnType<typeof planCertificateOrThrow>
      publicKey: Uint8Array
      actor: ActorContext
      staffId?: string | undefined
      holderActor?: string | undefined
    },
  ): Promise<IssuedCertificate> {
    const { ca, caCert, signer, plan, actor } = args
    // 126 random bits: a collision is all but impossible; if it happens, draw again rather than fail. The insert
    // itself tells (the issuer+serial constraint), so no lookup goes before it.
    let record: IssuedCertificate | undefined
    for (let attempt = 0; !record; attempt++) {
      if (attempt > 3) throw new Error(`could not draw an unused serial for ${ca.id}`)
      const serial = generateSerial()
      const serialHex = serialToHex(serial)
      const der = await buildCertificate({
        issuer: caCert,
        subject: plan.subject as NameList,
        subjectPublicKey: args.publicKey,
        serial,
        notBefore: plan.notBefore,
        notAfter: plan.notAfter,
        extensions: plan.extensions,
        signer,
      })
      const now = clock.now()
      const candidate: IssuedCertificate = {
        kind: 'certificate',
        id: randomUUID(),
        serialHex,
        holderId: args.staffId ?? `ca:${ca.id}`,
        holderActor: args.holderActor,
        profile: plan.profile,
        ca: plan.extensions.basicConstraints.ca,
        notBefore: plan.notBefore,
        notAfter: plan.notAfter,
        status: 'active',
        statusChangedAt: now,
        revocation: undefined,
        supersededBy: undefined,
        version: 1,
        issuerId: ca.id,
        // What parseCertificate(der).subjectString reads back: the name is encoded from exactly this list.
        subject: nameToString(plan.subject as NameList),
        staffId: args.staffId,
        der,
        createdAt: now,
      }
      if (await tx.certificates.insertUnlessSerialTaken(candidate)) record = candidate
    }
    await tx.audit.append({
      ...actor,
      type: 'certificate.issued',
      subject: record.id,
      data: {
        serial: record.serialHex,
        issuer: ca.id,
        profile: record.profile,
        subject: record.subject,
        keyAlgorithm: plan.keyAlgorithm,
        notAfter: record.notAfter.toISOString(),
        ...(record.staffId && { staffId: record.staffId }),
      },
      outcome: 'success',
    })
    return record
  }

  async function locate(ref: SerialReference): Promise<{ certificate: IssuedCertificate; signer: Signer }> {
    const serial = normaliseSerial(ref?.serial)
    const found = await uow.run(async (tx) => {
      if (ref.caId !== undefined) {
        const ca = await loadCa(tx, ref.caId)
        const one = await tx.certificates.findBySerial(ca.id, serial)
        return one ? [one] : []
      }
      return tx.certificates.listBySerial(serial)
    })
    if (found.length === 0) throw certificateNotFound(serial)
    if (found.length > 1) {
      throw invalid('caId', '多个 CA 签发了该序列号，请指定 CA', 'several CAs issued this serial; name the CA')
    }
    const certificate = found[0]!
    return { certificate, signer: await signerFor(certificate.issuerId) }
  }

  /**
   * Applies a lifecycle event to one certificate inside the caller's unit of work and republishes its issuer's CRL
   * there: the change and the CRL that shows it commit together. `signer` is the issuer's, loaded beforehand.
   */
  async function changeWithin(
    tx: Repositories,
    certificateId: string,
    event: CertificateEvent,
    actor: ActorContext,
    signer: Signer,
    policy: LifecyclePolicy = { fourEyes: false },
  ): Promise<CertificateStatusChange> {
    const current = await tx.certificates.find(certificateId)
    if (!current) throw certificateNotFound(certificateId)
    const next = transitionCertificate(current, event, { actor, now: clock.now(), policy })
    const saved: IssuedCertificate = { ...current, ...next.state }
    if (!(await tx.certificates.update(saved))) {
      throw new DomainError(
        'VERSION_CONFLICT',
        `证书 ${current.serialHex} 已被他人修改 / certificate ${current.serialHex} was changed meanwhile`,
        { id: current.id },
      )
    }
    await tx.audit.append({ ...next.audit, data: { ...next.audit.data, issuer: current.issuerId } })
    // Renewal leaves the certificate as it was (only its version moves): nothing for the CRL to say.
    if (saved.status !== current.status || saved.revocation !== current.revocation) {
      await publishCrl(tx, await loadCa(tx, current.issuerId), signer, actor)
    }
    return { certificate: saved, transition: next }
  }

  async function change(ref: SerialReference, event: CertificateEvent, actor: ActorContext) {
    const { certificate, signer } = await locate(ref)
    // Two changes under one CA race for the next CRL number; the loser starts again on what the winner committed.
    return retryOnConflict(() =>
      uow.run(async (tx) => (await changeWithin(tx, certificate.id, event, actor, signer)).certificate),
    )
  }

  async function createCa(
    algorithm: CaAlgorithm,
    profileId: 'root-ca' | 'issuing-ca',
    subject: SubjectInput,
    parent: { ca: CertificateAuthority; signer: Signer } | undefined,
    actor: ActorContext,
  ): Promise<{ ca: CertificateAuthority; signer: Signer; record?: IssuedCertificate }> {
    const name = subject.CN
    if (typeof name !== 'string' || name.trim() === '' || [...name].length > CA_LIMITS.name) {
      throw invalid(
        `names.${profileId === 'root-ca' ? 'root' : 'issuing'}.CN`,
        `必填，最多 ${CA_LIMITS.name} 个字符`,
        `required, at most ${CA_LIMITS.name} characters`,
      )
    }
    // Every CaAlgorithm is a KeyAlgorithm of the same name.
    const key = await keyStore.generate({ algorithm, label: name.trim(), purpose: 'ca' }, actor)
    const signer = await keyStore.signer(key.uri)
    const id = `ca-${randomBytes(8).toString('hex')}`
    const now = clock.now()
    const parentCert = parent && parseCertificate(parent.ca.certificate)
    const plan = planCertificateOrThrow(
      builtInProfile(profileId),
      { subject, publicKey: describePublicKey(key.publicKey) },
      {
        now,
        issuer: parentCert && factsOf(parentCert),
        revocation: parent ? pointers(parent.ca.id, parent.ca.id) : undefined,
      },
    )
    const created = await uow.run(async (tx) => {
      let der: Uint8Array
      let record: IssuedCertificate | undefined
      if (parent && parentCert) {
        record = await issueFromPlan(tx, {
          ca: parent.ca,
          caCert: parentCert,
          signer: parent.signer,
          plan,
          publicKey: key.publicKey,
          actor,
        })
        der = record.der
      } else {
        der = await buildCertificate({
          issuer: plan.subject as NameList,
          subject: plan.subject as NameList,
          subjectPublicKey: key.publicKey,
          serial: generateSerial(),
          notBefore: plan.notBefore,
          notAfter: plan.notAfter,
          extensions: plan.extensions,
          signer,
        })
      }
      const ca: CertificateAuthority = {
        id,
        name: name.trim(),
        keyUri: key.uri,
        algorithm,
        certificate: der,
        chain: parent ? [parent.ca.certificate, ...parent.ca.chain] : [],
        parentId: parent?.ca.id,
        status: 'active',
        crl: undefined,
        crlNumber: 0,
        crlNextUpdate: undefined,
        ocspResponder: undefined,
        createdAt: now,
      }
      await tx.certificateAuthorities.insert(ca)
      await tx.audit.append({
        ...actor,
        type: 'ca.created',
        subject: id,
        data: {
          name: ca.name,
          algorithm,
          profile: profileId,
          keyUri: key.uri,
          serial: parseCertificate(der).serialHex,
          ...(parent && { parent: parent.ca.id }),
        },
        outcome: 'success',
      })
      const crl = await publishCrl(tx, ca, signer, actor)
      return {
        ca: { ...ca, crl, crlNumber: 1, crlNextUpdate: new Date(now.getTime() + CA_LIMITS.crlValiditySeconds * 1000) },
        signer,
        ...(record && { record }),
      }
    })
    activeCas = undefined
    return created
  }

  async function provisionOcspResponder(caId: string, actor: ActorContext): Promise<CertificateAuthority> {
    const caSigner = await signerFor(caId)
    const ca = await uow.run((tx) => loadCa(tx, caId))
    const label = `${[...ca.name].slice(0, CA_LIMITS.name - 5).join('')} OCSP`
    const key = await keyStore.generate({ algorithm: ca.algorithm, label, purpose: 'ocsp' }, actor)
    const caCert = parseCertificate(ca.certificate)
    const plan = planCertificateOrThrow(
      builtInProfile('ocsp-signer'),
      { subject: { CN: label }, publicKey: describePublicKey(key.publicKey) },
      { now: clock.now(), issuer: factsOf(caCert) },
    )
    const provisioned = await uow.run(async (tx) => {
      const record = await issueFromPlan(tx, { ca, caCert, signer: caSigner, plan, publicKey: key.publicKey, actor })
      const ocspResponder = { keyUri: key.uri, certificate: record.der }
      await tx.certificateAuthorities.saveOcspResponder(ca.id, ocspResponder)
      await tx.audit.append({
        ...actor,
        type: 'ca.ocsp-responder-provisioned',
        subject: ca.id,
        data: { keyUri: key.uri, serial: record.serialHex, notAfter: record.notAfter.toISOString() },
        outcome: 'success',
      })
      return { ...ca, ocspResponder }
    })
    activeCas = undefined
    return provisioned
  }

  /** Delegated responder certificates parsed once per CA (and again only when the CA gets a new one). */
  const parsedResponders = new Map<string, { der: Uint8Array; parsed: ParsedCertificate }>()
  function responderCertificateOf(ca: CertificateAuthority, der: Uint8Array): ParsedCertificate {
    const cached = parsedResponders.get(ca.id)
    if (cached && equalBytes(cached.der, der)) return cached.parsed
    const parsed = parseCertificate(der)
    parsedResponders.set(ca.id, { der: der.slice(), parsed })
    return parsed
  }

  /** The delegated responder while it is valid for at least another OCSP validity period. */
  function responderOf(ca: CertificateAuthority, now: Date): { keyUri: string; certificate: ParsedCertificate } {
    if (ca.ocspResponder) {
      const cert = responderCertificateOf(ca, ca.ocspResponder.certificate)
      const margin = CA_LIMITS.ocspValiditySeconds * 1000
      if (cert.notBefore.getTime() <= now.getTime() && cert.notAfter.getTime() - now.getTime() > margin) {
        return { keyUri: ca.ocspResponder.keyUri, certificate: cert }
      }
    }
    return { keyUri: ca.keyUri, certificate: caCertificateOf(ca) }
  }

  async function activeCaList(fresh: boolean): Promise<readonly ActiveCa[]> {
    const at = performance.now()
    if (!fresh && activeCas && at - activeCas.at < ACTIVE_CA_TTL_MS) return activeCas.list
    const cas = (await uow.read((tx) => tx.certificateAuthorities.list())).filter((ca) => ca.status === 'active')
    const list = cas.map((ca) => ({ ca, cert: caCertificateOf(ca) }))
    activeCas = { at, list }
    return list
  }

  function statusOf(certificate: CertificateRevocationStatus): OcspCertStatus {
    if (certificate.revocation) {
      return { status: 'revoked', revocationTime: certificate.revocation.at, reason: certificate.revocation.reason }
    }
    if (certificate.status === 'suspended') {
      return { status: 'revoked', revocationTime: certificate.statusChangedAt, reason: 'certificateHold' }
    }
    return { status: 'good' }
  }

  async function answerOcsp(request: Uint8Array): Promise<Uint8Array> {
    if (!(request instanceof Uint8Array) || request.length === 0 || request.length > CA_LIMITS.ocspRequestBytes) {
      return OCSP_MALFORMED_REQUEST
    }
    let parsed: ReturnType<typeof parseOcspRequest>
    try {
      parsed = parseOcspRequest(request)
    } catch {
      return OCSP_MALFORMED_REQUEST
    }
    if (parsed.certIds.length > CA_LIMITS.ocspRequests) return OCSP_MALFORMED_REQUEST
    if (parsed.nonce && (parsed.nonce.length < 1 || parsed.nonce.length > 32)) return OCSP_MALFORMED_REQUEST
    let parsedCas = await activeCaList(false)
    const issuerOf = (certId: (typeof parsed.certIds)[number]) =>
      parsedCas.find(({ cert }) => certIdMatches(certId, cert, new Uint8Array(certId.serialNumber)))
    let first = issuerOf(parsed.certIds[0]!)
    if (!first) {
      // Perhaps a CA created since the list was read (by another instance): look again before saying no.
      parsedCas = await activeCaList(true)
      first = issuerOf(parsed.certIds[0]!)
    }
    // RFC 6960 §2.3: a responder not authoritative for the certificate answers "unauthorized".
    if (!first) return OCSP_UNAUTHORIZED
    const now = clock.now()
    const responder = responderOf(first.ca, now)
    const signer = await signerOf(responder.keyUri)
    const nextUpdate = new Date(now.getTime() + CA_LIMITS.ocspValiditySeconds * 1000)
    // Outside a transaction: one round trip per serial, and the status is whatever is committed when it is read.
    const entries: OcspEntry[] = await uow.read(async (tx) => {
      const out: OcspEntry[] = []
      for (const certId of parsed.certIds) {
        let status: OcspCertStatus = { status: 'unknown' }
        if (issuerOf(certId)?.ca.id === first.ca.id) {
          const found = await tx.certificates.statusBySerial(
            first.ca.id,
            serialFromBytes(new Uint8Array(certId.serialNumber)),
          )
          if (found) status = statusOf(found)
        }
        out.push({ certId, status, thisUpdate: now, nextUpdate })
      }
      return out
    })
    return buildOcspResponse({
      responder: { signer, certificate: responder.certificate },
      issuer: first.cert,
      entries,
      ...(parsed.nonce && { nonce: parsed.nonce }),
      producedAt: now,
    })
  }

  return {
    async createHierarchy(input, actor) {
      if (!input || !(CA_ALGORITHMS as readonly string[]).includes(input.algorithm)) {
        throw invalid(
          'algorithm',
          `应为 ${CA_ALGORITHMS.join('、')} 之一`,
          `must be one of ${CA_ALGORITHMS.join(', ')}`,
        )
      }
      const names = input.names ?? ({} as CreateHierarchyInput['names'])
      const rootSubject = checkSubject('names.root', names.root)
      const issuingSubject = checkSubject('names.issuing', names.issuing)
      const root = await createCa(input.algorithm, 'root-ca', rootSubject, undefined, actor)
      const issuing = await createCa(input.algorithm, 'issuing-ca', issuingSubject, root, actor)
      // Relying parties ask the issuing CA about end-entity certificates: it answers through a delegated responder.
      return { root: root.ca, issuing: await provisionOcspResponder(issuing.ca.id, actor) }
    },

    async issueCertificate(input, actor) {
      const signer = await signerFor(input?.caId)
      return uow.run((tx) => issueWithin(tx, input, actor, signer))
    },

    issueWithin,
    signerFor,
    changeWithin,

    revoke(ref, reason, actor, options = {}) {
      return change(
        ref,
        { type: 'revoke', reason, invalidityDate: options.invalidityDate, comment: options.comment },
        actor,
      )
    },
    suspend(ref, actor, comment) {
      return change(ref, { type: 'suspend', comment }, actor)
    },
    resume(ref, actor) {
      return change(ref, { type: 'resume' }, actor)
    },

    async crl(caId, actor = SYSTEM) {
      const ca = await uow.run((tx) => loadCa(tx, caId))
      const now = clock.now()
      const fresh =
        ca.crl && ca.crlNextUpdate && ca.crlNextUpdate.getTime() - now.getTime() > CA_LIMITS.crlRefreshSeconds * 1000
      if (fresh && ca.crl) return ca.crl
      const signer = await signerOf(ca.keyUri)
      try {
        return await uow.run((tx) => publishCrl(tx, ca, signer, actor))
      } catch (error) {
        // Someone else published meanwhile: theirs is as fresh as ours would have been.
        if (!isDomainError(error, 'VERSION_CONFLICT')) throw error
        const latest = (await uow.run((tx) => loadCa(tx, caId))).crl
        if (!latest) throw error
        return latest
      }
    },

    find: (caId) => uow.run((tx) => loadCa(tx, caId)),
    provisionOcspResponder,
    list: () => uow.run((tx) => tx.certificateAuthorities.list()),

    async respondOcsp(request) {
      try {
        return await answerOcsp(request)
      } catch {
        // A key that cannot sign, a database that does not answer: never a 5xx to a relying party.
        return OCSP_INTERNAL_ERROR
      }
    },
  }
}
