import type { CertificateReport } from '@yiqian/core'
import ExcelJS from 'exceljs'
import { csvRow, UTF8_BOM } from '../audit/export-format.js'

/** Column headers, zh-CN first then English, in the order of the CSV and the worksheet. */
export const REPORT_COLUMNS = [
  ['key', '分组 / Key'],
  ['label', '名称 / Name'],
  ['issued', '签发 / Issued'],
  ['active', '有效 / Active'],
  ['suspended', '冻结 / Suspended'],
  ['revoked', '吊销 / Revoked'],
  ['expired', '过期 / Expired'],
  ['expiringIn30Days', '30 天内到期 / Expiring in 30 days'],
] as const

const TOTAL_LABEL = '合计 / Total'

/** Text Excel would run as a formula gets a leading apostrophe, as the CSV export does (csvField). */
export function spreadsheetText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

function lines(report: CertificateReport): (string | number)[][] {
  const rows = report.rows.map((r) => [
    r.key ?? '',
    r.label ?? '',
    r.issued,
    r.active,
    r.suspended,
    r.revoked,
    r.expired,
    r.expiringIn30Days,
  ])
  const t = report.totals
  rows.push(['', TOTAL_LABEL, t.issued, t.active, t.suspended, t.revoked, t.expired, t.expiringIn30Days])
  return rows
}

/** UTF-8 with a BOM (Excel on Chinese Windows), CRLF, formula-safe fields, a totals line last. */
export function reportCsv(report: CertificateReport): string {
  const header = csvRow(REPORT_COLUMNS.map(([, title]) => title))
  return (
    UTF8_BOM +
    header +
    lines(report)
      .map((row) => csvRow(row.map(String)))
      .join('')
  )
}

export async function reportXlsx(report: CertificateReport): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook()
  workbook.created = new Date(0)
  const sheet = workbook.addWorksheet('证书统计 Certificates')
  sheet.addRow(REPORT_COLUMNS.map(([, title]) => title))
  sheet.getRow(1).font = { bold: true }
  for (const row of lines(report)) {
    sheet.addRow(row.map((value) => (typeof value === 'string' ? spreadsheetText(value) : value)))
  }
  sheet.columns.forEach((column, i) => {
    column.width = i < 2 ? 28 : 14
  })
  return Buffer.from(await workbook.xlsx.writeBuffer())
}
