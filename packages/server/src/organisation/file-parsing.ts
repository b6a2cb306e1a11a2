import { type DepartmentRow, DomainError, ORG_LIMITS, type StaffRow } from '@yiqian/core'
import { parse as parseCsv } from 'csv-parse/sync'
import ExcelJS from 'exceljs'

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
export const CSV_TYPE = 'text/csv'

/** The uncompressed size an XLSX may claim: far above 20,000 rows of text, far below a zip bomb. */
const MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024

type Kind = 'departments' | 'staff'

/**
 * The column headers an import file may use, Chinese or English. Matching ignores case, blanks, `_` and `-`.
 * Unknown headers are refused rather than ignored, so that a misspelt column cannot silently drop data.
 */
export const IMPORT_HEADERS = {
  departments: {
    code: ['科室编码', '编码', 'code', 'departmentCode'],
    name: ['科室名称', '名称', 'name', 'departmentName'],
    parentCode: ['上级科室编码', '上级编码', 'parentCode'],
    status: ['状态', 'status'],
  },
  staff: {
    employeeNumber: ['工号', '员工编号', 'employeeNumber', 'employeeNo'],
    name: ['姓名', 'name'],
    title: ['职称', 'title'],
    departmentCodes: ['科室编码', '科室', 'departmentCodes', 'departmentCode', 'departments'],
    phone: ['手机号', '手机号码', '电话', 'phone', 'mobile'],
    idType: ['证件类型', 'idType'],
    idNumber: ['身份证号', '身份证号码', '证件号码', 'idNumber', 'idCard'],
    status: ['状态', 'status'],
  },
} as const satisfies Record<Kind, Record<string, readonly string[]>>

/** The one column each kind cannot do without. */
const REQUIRED: Record<Kind, string> = { departments: 'code', staff: 'employeeNumber' }

const normaliseHeader = (header: string) =>
  header
    .replace(/^\uFEFF/, '')
    .replace(/[\s_-]/g, '')
    .toLowerCase()

/** Several department codes in one cell, primary first. */
const CODE_SEPARATORS = /[;；,，|、]/

export interface ParsedFile<Row> {
  readonly rows: Row[]
  /** Field key → the header text used in the file, to show errors in the file's own words. */
  readonly headers: Readonly<Record<string, string>>
}

function invalid(message: string, details: Record<string, unknown> = {}): DomainError {
  return new DomainError('IMPORT_FILE_INVALID', message, details)
}

/** UTF-8 (with or without BOM), else GB18030 — what Excel on a Chinese Windows writes as "CSV". */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return new TextDecoder('utf-8').decode(bytes.subarray(3))
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return new TextDecoder('gb18030').decode(bytes)
  }
}

function readCsv(bytes: Uint8Array): string[][] {
  try {
    return parseCsv(decodeText(bytes), {
      bom: true,
      relax_column_count: true,
      // Blank lines keep their place so that row numbers match what a spreadsheet shows; they are skipped later.
      skip_empty_lines: false,
    }) as string[][]
  } catch (error) {
    throw invalid(`CSV 无法解析 / the CSV cannot be parsed: ${(error as Error).message}`)
  }
}

/** Sums the uncompressed sizes the zip central directory declares, refusing a decompression bomb before inflating. */
export function declaredUncompressedSize(zip: Uint8Array): number {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw invalid('XLSX 文件已损坏 / the XLSX file is not a valid zip archive')
  const entries = view.getUint16(eocd + 10, true)
  let at = view.getUint32(eocd + 16, true)
  let total = 0
  for (let n = 0; n < entries; n++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== 0x02014b50) {
      throw invalid('XLSX 文件已损坏 / the XLSX central directory is damaged')
    }
    const size = view.getUint32(at + 24, true)
    // 0xFFFFFFFF means a ZIP64 size: certainly too large for an import.
    total += size === 0xffffffff ? Number.POSITIVE_INFINITY : size
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true)
  }
  return total
}

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : String(value)
  if (typeof value === 'boolean') return String(value)
  if (value instanceof Date) return value.toISOString().slice(0, 10)
  if ('richText' in value) return value.richText.map((r) => r.text).join('')
  if ('text' in value && typeof value.text === 'string') return value.text
  if ('result' in value) return cellText((value.result ?? null) as ExcelJS.CellValue)
  if ('error' in value) return ''
  return ''
}

async function readXlsx(bytes: Uint8Array): Promise<string[][]> {
  if (declaredUncompressedSize(bytes) > MAX_XLSX_UNCOMPRESSED) {
    throw invalid('XLSX 解压后过大 / the XLSX expands to more than 200 MB')
  }
  const workbook = new ExcelJS.Workbook()
  try {
    await workbook.xlsx.load(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never)
  } catch (error) {
    throw invalid(`XLSX 无法读取 / the XLSX cannot be read: ${(error as Error).message}`)
  }
  const sheet = workbook.worksheets[0]
  if (!sheet) throw invalid('XLSX 中没有工作表 / the workbook has no worksheet')
  if (sheet.rowCount > ORG_LIMITS.importRows + 1) throw tooManyRows()
  const rows: string[][] = []
  for (let r = 1; r <= sheet.rowCount; r++) {
    const row = sheet.getRow(r)
    const cells: string[] = []
    for (let c = 1; c <= row.cellCount; c++) cells.push(cellText(row.getCell(c).value))
    rows.push(cells)
  }
  return rows
}

const tooManyRows = () =>
  invalid(`最多 ${ORG_LIMITS.importRows} 行数据 / at most ${ORG_LIMITS.importRows} data rows`, {
    limit: ORG_LIMITS.importRows,
  })

/** Reads an import file into rows keyed by field; row numbers are the file's (header = 1). */
async function readTable(
  kind: Kind,
  bytes: Uint8Array,
  format: 'csv' | 'xlsx',
): Promise<{ rows: { row: number; cells: Record<string, string> }[]; headers: Record<string, string> }> {
  if (bytes.length === 0) throw invalid('文件为空 / the file is empty')
  if (bytes.length > ORG_LIMITS.importBytes) throw invalid('文件超过 10 MB / the file is larger than 10 MB')
  const table = format === 'csv' ? readCsv(bytes) : await readXlsx(bytes)
  const [headerRow = [], ...body] = table
  const known: Readonly<Record<string, readonly string[]>> = IMPORT_HEADERS[kind]
  const columns: (string | undefined)[] = []
  const headers: Record<string, string> = {}
  const unknown: string[] = []
  headerRow.forEach((text, i) => {
    const h = normaliseHeader(text)
    if (h === '') return
    const field = Object.keys(known).find((f) => known[f]?.some((alias) => normaliseHeader(alias) === h))
    if (!field) unknown.push(text)
    else if (headers[field] !== undefined) {
      throw invalid(`列 ${text} 与 ${headers[field]} 重复 / column ${text} duplicates ${headers[field]}`)
    } else {
      headers[field] = text.trim()
      columns[i] = field
    }
  })
  if (unknown.length > 0) {
    throw invalid(`未知的列：${unknown.join('、')} / unknown columns: ${unknown.join(', ')}`, { unknown })
  }
  if (headers[REQUIRED[kind]] === undefined) {
    const names = known[REQUIRED[kind]]?.join(' / ')
    throw invalid(`缺少必需的列 ${names} / the required column ${names} is missing`)
  }
  const rows: { row: number; cells: Record<string, string> }[] = []
  body.forEach((values, i) => {
    if (values.every((v) => v.trim() === '')) return
    const cells: Record<string, string> = {}
    columns.forEach((field, c) => {
      if (field) cells[field] = values[c] ?? ''
    })
    rows.push({ row: i + 2, cells })
  })
  if (rows.length > ORG_LIMITS.importRows) throw tooManyRows()
  return { rows, headers }
}

export function formatOf(contentType: string | undefined): 'csv' | 'xlsx' | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase()
  return type === CSV_TYPE ? 'csv' : type === XLSX_TYPE ? 'xlsx' : undefined
}

export async function parseDepartmentFile(
  bytes: Uint8Array,
  format: 'csv' | 'xlsx',
): Promise<ParsedFile<DepartmentRow>> {
  const { rows, headers } = await readTable('departments', bytes, format)
  return {
    headers,
    rows: rows.map(({ row, cells }) => ({
      row,
      code: cells.code,
      name: cells.name,
      parentCode: cells.parentCode,
      status: cells.status === undefined ? undefined : departmentStatusOf(cells.status),
    })),
  }
}

/** 启用/停用 as well as active/inactive. */
function departmentStatusOf(text: string): string {
  const t = text.trim().toLowerCase()
  return t === '启用' || t === '正常' ? 'active' : t === '停用' || t === '撤销' ? 'inactive' : t
}

export async function parseStaffFile(bytes: Uint8Array, format: 'csv' | 'xlsx'): Promise<ParsedFile<StaffRow>> {
  const { rows, headers } = await readTable('staff', bytes, format)
  return {
    headers,
    rows: rows.map(({ row, cells }) => ({
      row,
      employeeNumber: cells.employeeNumber,
      name: cells.name,
      title: cells.title,
      departmentCodes: cells.departmentCodes === undefined ? undefined : cells.departmentCodes.split(CODE_SEPARATORS),
      phone: cells.phone,
      idType: cells.idType,
      idNumber: cells.idNumber,
      status: cells.status,
    })),
  }
}
