/**
 * Certificate statistics by institution, department, profile or month of issue, within the caller's organisation
 * scope. A row counts the certificates created in [from, to) in its group and, of those, how many are in each state
 * now, so `issued = active + suspended + revoked + expired` on every row. An export is audited (`report.exported`)
 * in the same unit of work that read the figures.
 */
import type { ActorContext, Principal } from '../access/principal.js'
import { BUILT_IN_PROFILES } from '../certificates/profiles.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { departmentFilter, scopeOf } from './certificate-administration.js'
import { CERTIFICATE_ADMIN_LIMITS, type ReportCounts, type ReportGroupBy } from './certificate-listing.js'

export interface CertificateReport {
  readonly groupBy: ReportGroupBy
  readonly from: Date | undefined
  readonly to: Date | undefined
  readonly rows: readonly ReportCounts[]
  readonly totals: Omit<ReportCounts, 'key' | 'label'>
}

export type ReportExportFormat = 'csv' | 'xlsx'

const DAY_MS = 86_400_000
const COUNT_FIELDS = ['issued', 'active', 'suspended', 'revoked', 'expired', 'expiringIn30Days'] as const

/** The sum of each count column. */
export function reportTotals(rows: readonly ReportCounts[]): CertificateReport['totals'] {
  const totals = { issued: 0, active: 0, suspended: 0, revoked: 0, expired: 0, expiringIn30Days: 0 }
  for (const row of rows) for (const field of COUNT_FIELDS) totals[field] += row[field]
  return totals
}

/** Labels storage cannot know: profile names, and what a group without a holder or department is called. */
export function labelRow(groupBy: ReportGroupBy, row: ReportCounts): ReportCounts {
  if (row.key === null) {
    const label =
      groupBy === 'department' ? '无科室 / no department' : groupBy === 'institution' ? '无机构 / no institution' : '—'
    return { ...row, label }
  }
  if (groupBy === 'profile') {
    const profile = Object.hasOwn(BUILT_IN_PROFILES, row.key) ? BUILT_IN_PROFILES[row.key] : undefined
    return { ...row, label: profile ? profile.name.zh : row.key }
  }
  if (groupBy === 'month') return { ...row, label: row.key }
  return { ...row, label: row.label ?? row.key }
}

export function createCertificateReports(deps: { readonly uow: UnitOfWork; readonly clock: Clock }) {
  const { uow, clock } = deps
  return {
    /** The report; with `exportFormat`, also the `report.exported` audit row. */
    async certificates(
      principal: Principal,
      actor: ActorContext,
      query: {
        readonly groupBy: ReportGroupBy
        readonly from?: Date | undefined
        readonly to?: Date | undefined
        readonly departmentId?: string | undefined
      },
      exportFormat?: ReportExportFormat,
    ): Promise<CertificateReport> {
      const { groupBy, from, to } = query
      if (from && to && from.getTime() >= to.getTime()) {
        throw new DomainError('INVALID_INPUT', 'to: 应晚于 from / must be after from', { field: 'to' })
      }
      const now = clock.now()
      return uow.run(async (tx) => {
        const departmentIds = await departmentFilter(tx, await scopeOf(tx, principal), query.departmentId)
        const found =
          departmentIds?.length === 0
            ? []
            : await tx.certificateQueries.report({
                groupBy,
                from,
                to,
                now,
                expiringBefore: new Date(now.getTime() + 30 * DAY_MS),
                departmentIds,
              })
        const rows = found.slice(0, CERTIFICATE_ADMIN_LIMITS.reportRows).map((row) => labelRow(groupBy, row))
        const report = { groupBy, from, to, rows, totals: reportTotals(rows) }
        if (exportFormat) {
          await tx.audit.append({
            ...actor,
            type: 'report.exported',
            subject: 'certificates',
            data: {
              report: 'certificates',
              format: exportFormat,
              groupBy,
              ...(from && { from: from.toISOString() }),
              ...(to && { to: to.toISOString() }),
              ...(query.departmentId && { departmentId: query.departmentId }),
              rows: rows.length,
            },
            outcome: 'success',
          })
        }
        return report
      })
    },
  }
}

export type CertificateReports = ReturnType<typeof createCertificateReports>
