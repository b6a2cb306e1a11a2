import {
  type Clock,
  createOrganisationUseCases,
  DEPARTMENT_STATUSES,
  type Department,
  ID_TYPES,
  type Institution,
  ORG_LIMITS,
  type PlanReport,
  type SecretBox,
  STAFF_STATUSES,
  type StaffView,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { principalOf } from '../access/context.js'
import { sendProblem } from '../error-handler.js'
import { ProblemSchema } from '../schemas.js'
import { CSV_TYPE, formatOf, type ParsedFile, parseDepartmentFile, parseStaffFile, XLSX_TYPE } from './file-parsing.js'

export { IMPORT_HEADERS } from './file-parsing.js'

const tags = ['organisation']
const Id = z.object({ id: z.string().min(1).max(64) })
const Version = z.number().int().min(1)
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const Code = z
  .string()
  .trim()
  .min(1)
  .max(ORG_LIMITS.code)
  .regex(/^[A-Za-z0-9._-]+$/, '字母、数字或 ._- / letters, digits or ._-')
const OptionalId = z.string().min(1).max(64).optional()

const InstitutionSchema = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    parentId: z.string().nullable(),
    createdAt: z.string(),
    version: z.number(),
  })
  .meta({ id: 'Institution' })

const DepartmentSchema = z
  .object({
    id: z.string(),
    institutionId: z.string(),
    code: z.string(),
    name: z.string(),
    parentId: z.string().nullable(),
    status: z.enum(DEPARTMENT_STATUSES),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number(),
  })
  .meta({ id: 'Department' })

type DepartmentNode = z.infer<typeof DepartmentSchema> & { children: DepartmentNode[] }
const DepartmentNodeSchema: z.ZodType<DepartmentNode> = DepartmentSchema.extend({
  get children() {
    return z.array(DepartmentNodeSchema)
  },
}).meta({ id: 'DepartmentNode' })

const StaffSchema = z
  .object({
    id: z.string(),
    institutionId: z.string(),
    employeeNumber: z.string(),
    name: z.string(),
    title: z.string(),
    departmentIds: z.array(z.string()).describe('第一个为主科室 / the first is the primary department'),
    status: z.enum(STAFF_STATUSES),
    phone: z.string().nullable().describe('默认脱敏 138****5678 / masked unless revealed'),
    idType: z.enum(ID_TYPES).nullable(),
    idNumber: z.string().nullable().describe('默认脱敏 110101********1234 / masked unless revealed'),
    revealed: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number(),
  })
  .meta({ id: 'StaffMember' })

const Message = z.object({ zh: z.string(), en: z.string() })
const RowErrorSchema = z.object({
  row: z
    .number()
    .describe('文件行号（表头为第1行）或同步数组序号（从1起）/ file row (header = 1) or 1-based array index'),
  column: z.string().describe('字段名 / field key'),
  header: z.string().optional().describe('文件中的列名 / the header used in the file'),
  message: Message,
})
const Summary = z.object({
  rows: z.number(),
  create: z.number(),
  update: z.number(),
  unchanged: z.number(),
  errors: z.number().describe('有错误的行数 / rows with errors'),
})
const MAX_LISTED = 1000
const BulkResultSchema = z
  .object({
    dryRun: z.boolean(),
    applied: z.boolean(),
    institutionId: z.string(),
    summary: Summary,
    errors: z.array(RowErrorSchema).describe(`最多列出 ${MAX_LISTED} 条 / at most ${MAX_LISTED} listed`),
    errorsTruncated: z.boolean(),
    changes: z
      .array(z.object({ row: z.number(), key: z.string(), action: z.enum(['create', 'update']) }))
      .describe(`将新增或修改的行，最多 ${MAX_LISTED} 条 / rows to create or update, at most ${MAX_LISTED}`),
    changesTruncated: z.boolean(),
  })
  .meta({ id: 'OrganisationBulkResult' })
const RejectedSchema = ProblemSchema.extend({ summary: Summary, rowErrors: z.array(RowErrorSchema) })

const BulkQuery = z.object({
  institution: Code.describe('机构编码 / institution code'),
  dryRun: z.enum(['true', 'false']).optional(),
  fileName: z.string().max(200).optional().describe('记入审计 / recorded in the audit event'),
})

const institutionOut = (i: Institution) => ({
  id: i.id,
  code: i.code,
  name: i.name,
  parentId: i.parentId ?? null,
  createdAt: i.createdAt.toISOString(),
  version: i.version,
})
const departmentOut = (d: Department) => ({
  id: d.id,
  institutionId: d.institutionId,
  code: d.code,
  name: d.name,
  parentId: d.parentId ?? null,
  status: d.status,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
  version: d.version,
})

const staffOut = (v: StaffView) => ({ ...v, departmentIds: [...v.departmentIds] })

/** Nests departments under their parents; a department whose parent the caller cannot see becomes a root. */
function treeOf(departments: readonly Department[]): DepartmentNode[] {
  const nodes = new Map(departments.map((d) => [d.id, { ...departmentOut(d), children: [] as DepartmentNode[] }]))
  const roots: DepartmentNode[] = []
  for (const node of nodes.values()) {
    const parent = node.parentId === null ? undefined : nodes.get(node.parentId)
    ;(parent ? parent.children : roots).push(node)
  }
  return roots
}

type BulkOutcome = PlanReport & { dryRun: boolean; applied: boolean; institutionId: string }

/** Applied or dry run: 200 with the plan. A real run refused for row errors: 422 with the row errors. */
function sendBulk(
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: BulkOutcome,
  headers: Readonly<Record<string, string>> = {},
) {
  const rowErrors = outcome.errors
    .slice(0, MAX_LISTED)
    .map((e) => ({ ...e, ...(headers[e.column] !== undefined && { header: headers[e.column] }) }))
  if (!outcome.dryRun && !outcome.applied) {
    const first = rowErrors[0]
    return sendProblem(request, reply, 'IMPORT_REJECTED', {
      detail:
        `${outcome.summary.errors} 行有错误，未写入任何数据 / ${outcome.summary.errors} rows have errors; nothing was written` +
        (first ? ` (row ${first.row}, ${first.header ?? first.column}: ${first.message.en})` : ''),
      extensions: { summary: outcome.summary, rowErrors },
    })
  }
  const changes = outcome.actions.filter((a) => a.action !== 'unchanged') as {
    row: number
    key: string
    action: 'create' | 'update'
  }[]
  return reply.code(200).send({
    dryRun: outcome.dryRun,
    applied: outcome.applied,
    institutionId: outcome.institutionId,
    summary: outcome.summary,
    errors: rowErrors,
    errorsTruncated: outcome.errors.length > MAX_LISTED,
    changes: changes.slice(0, MAX_LISTED),
    changesTruncated: changes.length > MAX_LISTED,
  })
}

/**
 * HIS sync items as bulk rows: numbered from 1 by array position, and a field sent as null (clear it) passed on as
 * '', which the bulk planner reads as "clear", the same as an empty cell in an imported file.
 */
function syncRows<T extends object>(
  items: readonly T[],
): ({ [K in keyof T]: Exclude<T[K], null> } & { row: number })[] {
  return items.map((item, i) => ({
    ...(Object.fromEntries(Object.entries(item).map(([key, value]) => [key, value === null ? '' : value])) as {
      [K in keyof T]: Exclude<T[K], null>
    }),
    row: i + 1,
  }))
}

const IMPORT_DESCRIPTION =
  '请求体为原始文件：`text/csv`（UTF-8，可带 BOM；或 GB18030）或 XLSX（第一个工作表）。第1行为表头。' +
  '默认 dryRun=true：只返回逐行错误和计划，不写入。dryRun=false 时**全部或全不**：只要有一行错误就不写入任何数据' +
  '（422，附 rowErrors），否则在一个事务中写入全部新增/修改并记录一条汇总审计。重复导入同一文件时所有行均为 unchanged。' +
  `限制：文件 ≤ 10 MB，≤ ${ORG_LIMITS.importRows} 行。\n\n` +
  'The body is the raw file: `text/csv` (UTF-8 with or without BOM, or GB18030) or XLSX (first worksheet), header in ' +
  'row 1. dryRun defaults to true: per-row errors and the plan, nothing written. With dryRun=false the import is ' +
  '**all-or-nothing**: any row error means nothing is written (422 with rowErrors); otherwise every create/update is ' +
  'applied in one transaction with one summary audit event. Re-importing the same file reports every row unchanged. ' +
  `Limits: 10 MB, ${ORG_LIMITS.importRows} rows.`

/** Services the organisation routes are built from (a subset of the server's AppServices). */
export interface OrganisationServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
}

/** Institutions, departments, staff, bulk imports and the HIS sync API, under /api/v1/org. */
export function organisationRoutes(services: OrganisationServices): FastifyPluginAsyncZod {
  const org = createOrganisationUseCases(services)
  return async function organisationRoutesPlugin(app) {
    // Raw upload bodies, for the import routes of this plugin only (plugins encapsulate their parsers).
    app.addContentTypeParser(
      [CSV_TYPE, XLSX_TYPE],
      { parseAs: 'buffer', bodyLimit: ORG_LIMITS.importBytes },
      (_request, body, done) => done(null, body),
    )

    app.get(
      '/api/v1/org/institutions',
      {
        config: { access: 'org.read' },
        schema: { tags, summary: '机构列表 / Institutions', response: { 200: z.array(InstitutionSchema) } },
      },
      async () => (await org.listInstitutions()).map(institutionOut),
    )

    app.post(
      '/api/v1/org/institutions',
      {
        config: { access: 'org.write' },
        schema: {
          tags,
          summary: '新建机构 / Create an institution',
          body: z
            .object({
              code: Code,
              name: z.string().trim().min(1).max(ORG_LIMITS.institutionName),
              parentId: OptionalId,
            })
            .strict(),
          response: { 201: InstitutionSchema, ...errors },
        },
      },
      async (request, reply) =>
        reply.code(201).send(institutionOut(await org.createInstitution(request.actor, request.body))),
    )

    app.get(
      '/api/v1/org/departments',
      {
        config: { access: 'org.read' },
        schema: {
          tags,
          summary: '科室列表 / Departments',
          description:
            'A flat list ordered by code (each with parentId). Department managers see only their departments’ subtrees.',
          querystring: z.object({ institutionId: OptionalId }),
          response: { 200: z.array(DepartmentSchema) },
        },
      },
      async (request) =>
        (await org.listDepartments(principalOf(request), request.query.institutionId)).map(departmentOut),
    )

    app.get(
      '/api/v1/org/departments/tree',
      {
        config: { access: 'org.read' },
        schema: {
          tags,
          summary: '科室树 / Department tree',
          description: 'Departments nested under their parents. Department managers see only their subtrees.',
          querystring: z.object({ institutionId: OptionalId }),
          response: { 200: z.array(DepartmentNodeSchema) },
        },
      },
      async (request) => treeOf(await org.listDepartments(principalOf(request), request.query.institutionId)),
    )

    app.post(
      '/api/v1/org/departments',
      {
        config: { access: 'org.write' },
        schema: {
          tags,
          summary: '新建科室 / Create a department',
          body: z
            .object({
              institutionId: z.string().min(1).max(64),
              code: Code,
              name: z.string().trim().min(1).max(ORG_LIMITS.departmentName),
              parentId: OptionalId,
            })
            .strict(),
          response: { 201: DepartmentSchema, ...errors },
        },
      },
      async (request, reply) =>
        reply.code(201).send(departmentOut(await org.createDepartment(request.actor, request.body))),
    )

    app.patch(
      '/api/v1/org/departments/:id',
      {
        config: { access: 'org.write' },
        schema: {
          tags,
          summary: '修改、移动、停用或启用科室 / Update, move, deactivate or reactivate a department',
          description:
            'parentId null moves the department to the top level. A department cannot move under itself or a ' +
            'descendant (409 DEPARTMENT_CYCLE), nor be deactivated while it has active staff or active sub-departments ' +
            '(409 DEPARTMENT_IN_USE).',
          params: Id,
          body: z
            .object({
              version: Version,
              code: Code.optional(),
              name: z.string().trim().min(1).max(ORG_LIMITS.departmentName).optional(),
              parentId: z.string().min(1).max(64).nullable().optional(),
              status: z.enum(DEPARTMENT_STATUSES).optional(),
            })
            .strict(),
          response: { 200: DepartmentSchema, ...errors },
        },
      },
      async (request) => departmentOut(await org.updateDepartment(request.actor, request.params.id, request.body)),
    )

    app.get(
      '/api/v1/org/staff',
      {
        config: { access: 'org.read' },
        schema: {
          tags,
          summary: '人员列表与查询 / List and search staff',
          description:
            'Filters combine. departmentId includes its sub-departments unless includeSubtree=false. phone and ' +
            'idNumber match exactly (through a blind index). Personal data is masked. Department managers see only ' +
            `staff of their departments’ subtrees. At most ${ORG_LIMITS.pageSize} per page.`,
          querystring: z.object({
            institutionId: OptionalId,
            departmentId: OptionalId,
            includeSubtree: z.enum(['true', 'false']).optional(),
            name: z.string().trim().max(ORG_LIMITS.staffName).optional(),
            employeeNumber: z.string().trim().max(ORG_LIMITS.employeeNumber).optional(),
            status: z.enum(STAFF_STATUSES).optional(),
            phone: z
              .string()
              .trim()
              .max(ORG_LIMITS.phone + 10)
              .optional(),
            idNumber: z.string().trim().max(ORG_LIMITS.idNumber).optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: z.coerce.number().int().min(1).max(ORG_LIMITS.pageSize).default(50),
          }),
          response: {
            200: z.object({ items: z.array(StaffSchema), total: z.number(), offset: z.number(), limit: z.number() }),
            ...errors,
          },
        },
      },
      async (request) => {
        const page = await org.listStaff(principalOf(request), {
          ...request.query,
          includeSubtree: request.query.includeSubtree !== 'false',
        })
        return { ...page, items: page.items.map(staffOut) }
      },
    )

    app.get(
      '/api/v1/org/staff/:id',
      {
        config: { access: 'org.read' },
        schema: {
          tags,
          summary: '人员详情（脱敏）/ One staff member (masked)',
          params: Id,
          response: { 200: StaffSchema, ...errors },
        },
      },
      async (request) => staffOut(await org.getStaff(principalOf(request), request.params.id)),
    )

    const StaffFields = {
      name: z.string().trim().min(1).max(ORG_LIMITS.staffName),
      title: z.string().trim().max(ORG_LIMITS.title),
      departmentIds: z.array(z.string().min(1).max(64)).min(1).max(ORG_LIMITS.departmentsPerStaff),
      phone: z
        .string()
        .trim()
        .max(ORG_LIMITS.phone + 10),
      idType: z.enum(ID_TYPES),
      idNumber: z.string().trim().max(ORG_LIMITS.idNumber),
      status: z.enum(STAFF_STATUSES),
    }

    app.post(
      '/api/v1/org/staff',
      {
        config: { access: 'org.write' },
        schema: {
          tags,
          summary: '新建人员 / Create a staff member',
          description: 'idType defaults to resident (18-character PRC ID, GB 11643 checksum). The answer is masked.',
          body: z
            .object({
              institutionId: z.string().min(1).max(64),
              employeeNumber: Code.max(ORG_LIMITS.employeeNumber),
              name: StaffFields.name,
              title: StaffFields.title.optional(),
              departmentIds: StaffFields.departmentIds,
              phone: StaffFields.phone.optional(),
              idType: StaffFields.idType.optional(),
              idNumber: StaffFields.idNumber.optional(),
              status: StaffFields.status.optional(),
            })
            .strict(),
          response: { 201: StaffSchema, ...errors },
        },
      },
      async (request, reply) => reply.code(201).send(staffOut(await org.createStaff(request.actor, request.body))),
    )

    app.patch(
      '/api/v1/org/staff/:id',
      {
        config: { access: 'org.write' },
        schema: {
          tags,
          summary: '修改或停用人员 / Update or disable a staff member',
          description:
            'Only the fields given change; phone or idNumber null clears them. status disabled or left disables. The ' +
            'employee number is the key and does not change.',
          params: Id,
          body: z
            .object({
              version: Version,
              name: StaffFields.name.optional(),
              title: StaffFields.title.optional(),
              departmentIds: StaffFields.departmentIds.optional(),
              phone: StaffFields.phone.nullable().optional(),
              idType: StaffFields.idType.optional(),
              idNumber: StaffFields.idNumber.nullable().optional(),
              status: StaffFields.status.optional(),
            })
            .strict(),
          response: { 200: StaffSchema, ...errors },
        },
      },
      async (request) => staffOut(await org.updateStaff(request.actor, request.params.id, request.body)),
    )

    app.post(
      '/api/v1/org/staff/:id/reveal',
      {
        config: { access: 'staff.personal-data.read' },
        schema: {
          tags,
          summary: '查看未脱敏个人信息 / Reveal unmasked personal data',
          description: 'Answers phone and ID number in clear. Every reveal is written to the audit trail.',
          params: Id,
          response: { 200: StaffSchema, ...errors },
        },
      },
      async (request) => staffOut(await org.revealStaff(request.actor, principalOf(request), request.params.id)),
    )

    // ——— bulk import from files ———

    /** The parsed upload, or undefined after answering 415 for a body that is neither CSV nor XLSX. */
    async function fileOf<Row>(
      request: FastifyRequest,
      reply: FastifyReply,
      parse: (bytes: Uint8Array, format: 'csv' | 'xlsx') => Promise<ParsedFile<Row>>,
    ): Promise<ParsedFile<Row> | undefined> {
      const format = formatOf(request.headers['content-type'])
      if (!format || !Buffer.isBuffer(request.body)) {
        sendProblem(request, reply, 'UNSUPPORTED_MEDIA_TYPE', {
          detail: `请以 ${CSV_TYPE} 或 XLSX (${XLSX_TYPE}) 上传文件 / send the file as ${CSV_TYPE} or XLSX`,
        })
        return undefined
      }
      return parse(request.body, format)
    }

    const importSchema = (what: string, headers: string) => ({
      tags,
      summary: `导入${what} / Import ${what === '科室' ? 'departments' : 'staff'} from CSV or XLSX`,
      description: `${IMPORT_DESCRIPTION}\n\nColumns: ${headers}`,
      querystring: BulkQuery,
      consumes: [CSV_TYPE, XLSX_TYPE],
      response: { 200: BulkResultSchema, 413: ProblemSchema, 415: ProblemSchema, 422: RejectedSchema, ...errors },
    })

    app.post(
      '/api/v1/org/imports/departments',
      {
        config: { access: 'org.write' },
        bodyLimit: ORG_LIMITS.importBytes,
        schema: importSchema('科室', '科室编码 code (required), 科室名称 name, 上级科室编码 parentCode, 状态 status'),
      },
      async (request, reply) => {
        const file = await fileOf(request, reply, parseDepartmentFile)
        if (!file) return reply
        const { institution, dryRun, fileName } = request.query
        const outcome = await org.importDepartments(request.actor, {
          institutionCode: institution,
          rows: file.rows,
          dryRun: dryRun !== 'false',
          source: 'import',
          fileName,
        })
        return sendBulk(request, reply, outcome, file.headers)
      },
    )

    app.post(
      '/api/v1/org/imports/staff',
      {
        config: { access: 'org.write' },
        bodyLimit: ORG_LIMITS.importBytes,
        schema: importSchema(
          '人员',
          '工号 employeeNumber (required), 姓名 name, 职称 title, 科室编码 departmentCodes (primary first, separated ' +
            'by ; or ,), 手机号 phone, 证件类型 idType, 身份证号 idNumber, 状态 status',
        ),
      },
      async (request, reply) => {
        const file = await fileOf(request, reply, parseStaffFile)
        if (!file) return reply
        const { institution, dryRun, fileName } = request.query
        const outcome = await org.importStaff(request.actor, {
          institutionCode: institution,
          rows: file.rows,
          dryRun: dryRun !== 'false',
          source: 'import',
          fileName,
        })
        return sendBulk(request, reply, outcome, file.headers)
      },
    )

    // ——— HIS sync: JSON upserts by code / employee number ———

    const SYNC_DESCRIPTION =
      `JSON array of at most ${ORG_LIMITS.syncItems} items, upserted by key with the same validation as file imports. ` +
      'A field left out keeps the stored value; null (or "") clears an optional one. dryRun defaults to false here; ' +
      'a run with any item error writes nothing (422, rowErrors numbered from 1 by array position).'
    const Text = (max: number) => z.string().max(max)
    const syncQuery = BulkQuery.omit({ fileName: true })
    const syncBodyLimit = 16 * 1024 * 1024

    app.put(
      '/api/v1/org/sync/departments',
      {
        config: { access: 'org.sync' },
        bodyLimit: syncBodyLimit,
        schema: {
          tags,
          summary: '同步科室（HIS）/ Sync departments from the HIS',
          description: SYNC_DESCRIPTION,
          querystring: syncQuery,
          body: z
            .array(
              z
                .object({
                  code: Text(ORG_LIMITS.code * 2),
                  name: Text(ORG_LIMITS.departmentName * 2).optional(),
                  parentCode: Text(ORG_LIMITS.code * 2)
                    .nullable()
                    .optional(),
                  status: z.enum(DEPARTMENT_STATUSES).optional(),
                })
                .strict(),
            )
            .max(ORG_LIMITS.syncItems),
          response: { 200: BulkResultSchema, 422: RejectedSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { institution, dryRun } = request.query
        const outcome = await org.importDepartments(request.actor, {
          institutionCode: institution,
          rows: syncRows(request.body),
          dryRun: dryRun === 'true',
          source: 'sync',
        })
        return sendBulk(request, reply, outcome)
      },
    )

    app.put(
      '/api/v1/org/sync/staff',
      {
        config: { access: 'org.sync' },
        bodyLimit: syncBodyLimit,
        schema: {
          tags,
          summary: '同步人员（HIS）/ Sync staff from the HIS',
          description: SYNC_DESCRIPTION,
          querystring: syncQuery,
          body: z
            .array(
              z
                .object({
                  employeeNumber: Text(ORG_LIMITS.employeeNumber * 2),
                  name: Text(ORG_LIMITS.staffName * 2).optional(),
                  title: Text(ORG_LIMITS.title * 2)
                    .nullable()
                    .optional(),
                  departmentCodes: z
                    .array(Text(ORG_LIMITS.code * 2))
                    .max(ORG_LIMITS.departmentsPerStaff * 2)
                    .optional(),
                  phone: Text(ORG_LIMITS.phone * 2)
                    .nullable()
                    .optional(),
                  idType: z.enum(ID_TYPES).optional(),
                  idNumber: Text(ORG_LIMITS.idNumber * 2)
                    .nullable()
                    .optional(),
                  status: z.enum(STAFF_STATUSES).optional(),
                })
                .strict(),
            )
            .max(ORG_LIMITS.syncItems),
          response: { 200: BulkResultSchema, 422: RejectedSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { institution, dryRun } = request.query
        const outcome = await org.importStaff(request.actor, {
          institutionCode: institution,
          rows: syncRows(request.body),
          dryRun: dryRun === 'true',
          source: 'sync',
        })
        return sendBulk(request, reply, outcome)
      },
    )
  }
}
