import ExcelJS from 'exceljs'
import { describe, expect, it } from 'vitest'
import { declaredUncompressedSize, decodeText, parseDepartmentFile, parseStaffFile } from './file-parsing.js'

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

const csv = (text: string) => new TextEncoder().encode(text)

describe('import file parsing', () => {
  it('maps Chinese and English headers alike, keeps spreadsheet row numbers and skips blank rows', async () => {
    const zh = await parseStaffFile(
      csv('工号,姓名,科室编码,手机号\nE1,张三,"CARD；IM",138\n,,,\nE2,李四,SURG,\n'),
      'csv',
    )
    const en = await parseStaffFile(
      csv('Employee Number,NAME,department_codes,phone\nE1,张三,"CARD；IM",138\n,,,\nE2,李四,SURG,\n'),
      'csv',
    )
    expect(zh.rows).toEqual(en.rows)
    expect(zh.rows).toMatchObject([
      { row: 2, employeeNumber: 'E1', departmentCodes: ['CARD', 'IM'], phone: '138' },
      { row: 4, employeeNumber: 'E2', phone: '' },
    ])
    // Absent columns stay undefined (keep), present but empty cells are '' (clear).
    expect(zh.rows[0]?.title).toBeUndefined()
    expect(zh.headers).toMatchObject({ employeeNumber: '工号', phone: '手机号' })
  })

  it('decodes UTF-8 with and without BOM, and GB18030', () => {
    expect(decodeText(csv('\uFEFF科室'))).toBe('科室')
    expect(decodeText(csv('科室'))).toBe('科室')
    expect(decodeText(Buffer.from('bfc6cad2', 'hex'))).toBe('科室')
  })

  it.each([
    ['an unknown header', '工号,姓名,身分证号\nE1,张三,1\n', 'IMPORT_FILE_INVALID'],
    ['a duplicated header', '工号,employeeNumber\nE1,E1\n', 'IMPORT_FILE_INVALID'],
    ['no key column', '姓名\n张三\n', 'IMPORT_FILE_INVALID'],
    ['an empty file', '', 'IMPORT_FILE_INVALID'],
    ['an unterminated quote', '工号,姓名\n"E1,张三\n', 'IMPORT_FILE_INVALID'],
  ])('refuses %s', async (_, text, code) => {
    expect(await codeOf(parseStaffFile(csv(text), 'csv'))).toBe(code)
  })

  it('refuses more than 20,000 data rows, whatever the blank lines', async () => {
    const lines = ['科室编码', ...Array.from({ length: 20_001 }, (_, i) => `D${i}`), '']
    expect(await codeOf(parseDepartmentFile(csv(lines.join('\n')), 'csv'))).toBe('IMPORT_FILE_INVALID')
    const blanks = ['科室编码', ...Array.from({ length: 20_000 }, (_, i) => `D${i}`), '', '', 'D-last', '']
    expect(await codeOf(parseDepartmentFile(csv(blanks.join('\n')), 'csv'))).toBe('IMPORT_FILE_INVALID')
  })

  it('reads XLSX text, numbers, rich text and formulas as text', async () => {
    const workbook = new ExcelJS.Workbook()
    const sheet = workbook.addWorksheet('s')
    sheet.addRow(['工号', '姓名', '手机号', '职称'])
    sheet.addRow([
      1001,
      { richText: [{ text: '张' }, { text: '三' }] },
      13800138000,
      { formula: '"医"&"师"', result: '医师' },
    ])
    const parsed = await parseStaffFile(new Uint8Array(await workbook.xlsx.writeBuffer()), 'xlsx')
    expect(parsed.rows).toEqual([
      expect.objectContaining({ row: 2, employeeNumber: '1001', name: '张三', phone: '13800138000', title: '医师' }),
    ])
  })

  it('refuses a damaged XLSX and one whose zip directory declares a decompression bomb', async () => {
    expect(await codeOf(parseStaffFile(csv('PK\u0003\u0004 truncated'), 'xlsx'))).toBe('IMPORT_FILE_INVALID')
    const workbook = new ExcelJS.Workbook()
    workbook.addWorksheet('s').addRow(['工号'])
    const zip = Buffer.from(await workbook.xlsx.writeBuffer())
    expect(declaredUncompressedSize(zip)).toBeGreaterThan(0)
    // Rewrite the first central-directory entry's uncompressed size to 4 GB − 1.
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
    const directory = zip.readUInt32LE(eocd + 16)
    zip.writeUInt32LE(0xfffffffe, directory + 24)
    await expect(parseStaffFile(zip, 'xlsx')).rejects.toThrow(/200 MB/)
  })
})
