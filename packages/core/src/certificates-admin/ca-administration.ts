/**
 * The certificate authorities as the console shows them: each CA with its certificate's facts, current CRL,
 * delegated OCSP responder and how many certificates it issued. Changes (new hierarchy, responder renewal, import)
 * go through the CA service and the import use case, which audit them.
 */
import { parseCertificate } from '@yiqian/pki'
import type { CaService } from '../ca/ca-service.js'
import type { CertificateAuthority } from '../ca/certificate-authority.js'
import type { UnitOfWork } from '../unit-of-work.js'

export interface CaOverview {
  readonly ca: CertificateAuthority
  readonly subject: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly crl: { readonly number: number; readonly nextUpdate: Date } | undefined
  readonly ocspResponder: { readonly serial: string; readonly notAfter: Date } | undefined
  readonly issuedCount: number
}

export function overviewOf(ca: CertificateAuthority, issuedCount: number): CaOverview {
  const cert = parseCertificate(ca.certificate)
  const responder = ca.ocspResponder && parseCertificate(ca.ocspResponder.certificate)
  return {
    ca,
    subject: cert.subjectString,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    crl: ca.crlNumber > 0 && ca.crlNextUpdate ? { number: ca.crlNumber, nextUpdate: ca.crlNextUpdate } : undefined,
    ocspResponder: responder && { serial: responder.serialHex, notAfter: responder.notAfter },
    issuedCount,
  }
}

/** Every CA, roots first, then by creation. */
export async function listCaOverviews(uow: UnitOfWork): Promise<CaOverview[]> {
  const { cas, counts } = await uow.run(async (tx) => ({
    cas: await tx.certificateAuthorities.list(),
    counts: await tx.certificateQueries.issuedCounts(),
  }))
  return cas
    .map((ca) => overviewOf(ca, counts.get(ca.id) ?? 0))
    .sort(
      (a, b) =>
        Number(a.ca.parentId !== undefined) - Number(b.ca.parentId !== undefined) ||
        a.ca.createdAt.getTime() - b.ca.createdAt.getTime(),
    )
}

export async function caOverview(uow: UnitOfWork, ca: CaService, id: string): Promise<CaOverview> {
  const found = await ca.find(id)
  const counts = await uow.run((tx) => tx.certificateQueries.issuedCounts())
  return overviewOf(found, counts.get(found.id) ?? 0)
}
