/**
 * Our own CA as the RA's CertificateIssuer (the first adapter of the port; an external CA would be another). The
 * subject of a staff certificate comes from the staff record, never from the request: CN the name, serialNumber the
 * employee number, O the institution, OU the primary department.
 */
import type { Signer } from '@yiqian/gm'
import type { ActorContext } from '../access/principal.js'
import type { CaService, SubjectInput } from '../ca/ca-service.js'
import { DomainError } from '../errors.js'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import type { CertificateIssuer, IssuedReference, PreparedIssuer, RaApplication } from './application.js'

/** The settings key naming the CA that issues staff certificates; absent: the newest active issuing SM2 CA. */
export const STAFF_ISSUER_KEY = 'ca.staff-issuer'

export interface CaCertificateIssuerDeps {
  readonly uow: UnitOfWork
  readonly ca: CaService
}

function unavailable(detail: string): DomainError {
  return new DomainError(
    'CA_UNAVAILABLE',
    `没有可签发员工证书的 CA（${detail}）/ no certificate authority can issue staff certificates (${detail})`,
  )
}

/** The CA that issues staff certificates: the configured one, else the newest active subordinate SM2 CA. */
export async function staffIssuerId(tx: Repositories): Promise<string> {
  const configured = (await tx.settings.get(STAFF_ISSUER_KEY))?.value
  const cas = await tx.certificateAuthorities.list()
  if (typeof configured === 'string') {
    const ca = cas.find((c) => c.id === configured && c.status === 'active')
    if (!ca) throw unavailable(`${configured} is not an active CA`)
    return ca.id
  }
  const candidates = cas
    .filter((c) => c.status === 'active' && c.parentId !== undefined && c.algorithm === 'sm2')
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
  if (!candidates[0]) throw unavailable('run `yiqian init` or create a hierarchy')
  return candidates[0].id
}

/** Institution and department names by id, read once per bulk run rather than once per certificate. */
export type NameCache = Map<string, string | undefined>

export async function staffSubject(
  tx: Repositories,
  staffId: string,
  names: NameCache = new Map(),
): Promise<SubjectInput> {
  const member = await tx.staff.find(staffId)
  if (!member) {
    throw new DomainError('STAFF_NOT_FOUND', `人员 ${staffId} 不存在 / no staff member ${staffId}`, {
      field: 'staffId',
      id: staffId,
    })
  }
  const nameOf = async (key: string, read: () => Promise<{ name: string } | undefined>) => {
    if (!names.has(key)) names.set(key, (await read())?.name)
    return names.get(key)
  }
  const institution = await nameOf(`i:${member.institutionId}`, () => tx.institutions.find(member.institutionId))
  const departmentId = member.departmentIds[0]
  const department = departmentId && (await nameOf(`d:${departmentId}`, () => tx.departments.find(departmentId)))
  return {
    CN: member.name,
    serialNumber: member.employeeNumber,
    O: institution ?? member.institutionId,
    ...(department && { OU: department }),
  }
}

export function createCaCertificateIssuer(deps: CaCertificateIssuerDeps): CertificateIssuer {
  const { uow, ca } = deps
  return {
    async prepare(options = {}): Promise<PreparedIssuer> {
      const { caId, issuers } = await uow.run(async (tx) => {
        const ids = new Set<string>()
        for (const id of options.certificates ?? []) {
          const certificate = await tx.certificates.find(id)
          if (certificate) ids.add(certificate.issuerId)
        }
        return { caId: await staffIssuerId(tx), issuers: ids }
      })
      issuers.add(caId)
      // Loaded before any unit of work: a KeyStore reads its rows in a transaction of its own.
      const signers = new Map<string, Signer>()
      // One prepared issuer serves one request (a bulk approval at most): names read once are fresh enough.
      const names: NameCache = new Map()
      for (const id of issuers) signers.set(id, await ca.signerFor(id))
      const signerOf = (issuerId: string): Signer => {
        const signer = signers.get(issuerId)
        if (!signer) throw new Error(`the signer of ${issuerId} was not prepared`)
        return signer
      }
      return {
        async issue(tx, application: RaApplication, actor: ActorContext): Promise<IssuedReference> {
          if (!application.publicKey) throw new Error(`application ${application.id} has no public key`)
          const issued = await ca.issueWithin(
            tx,
            {
              caId,
              profileId: application.profile,
              subject: await staffSubject(tx, application.holderId, names),
              publicKey: application.publicKey,
              staffId: application.holderId,
              holderActor: application.holderActor,
            },
            actor,
            signerOf(caId),
          )
          return { certificateId: issued.id, serial: issued.serialHex, issuerId: caId, certificate: issued.der }
        },
        async change(tx, certificateId, event, actor, policy) {
          const certificate = await tx.certificates.find(certificateId)
          if (!certificate) {
            throw new DomainError(
              'CERTIFICATE_NOT_FOUND',
              `证书 ${certificateId} 不存在 / no certificate ${certificateId}`,
              {
                field: 'certificateId',
                id: certificateId,
              },
            )
          }
          return ca.changeWithin(tx, certificateId, event, actor, signerOf(certificate.issuerId), policy)
        },
      }
    },
  }
}
