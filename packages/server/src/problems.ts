import type { ErrorCode } from '@yiqian/core'

/**
 * The one error catalogue: every code the API can answer with, its HTTP status and its title in zh-CN and
 * English. Domain codes must all be present (a missing one is a compile error); the rest are the server's.
 */
export type ServerErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_BODY'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'FORBIDDEN'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'NOT_READY'
  | 'WEB_APP_NOT_BUILT'
  | 'BAD_REQUEST'
  | 'INTERNAL_ERROR'

export type ProblemCode = ErrorCode | ServerErrorCode

interface Entry {
  readonly status: number
  readonly zh: string
  readonly en: string
}

export const PROBLEMS: Readonly<Record<ProblemCode, Entry>> = {
  ACCOUNT_NOT_FOUND: { status: 404, zh: '账户不存在', en: 'Account not found' },
  ACCOUNT_EXISTS: { status: 409, zh: '用户名已被使用', en: 'Username already taken' },
  VERSION_CONFLICT: {
    status: 409,
    zh: '数据已被他人修改，请刷新后重试',
    en: 'Changed by someone else; reload and retry',
  },
  AUDIT_CHAIN_BROKEN: { status: 500, zh: '审计日志完整性校验失败', en: 'Audit log integrity check failed' },
  AUDIT_RECORD_NOT_FOUND: { status: 404, zh: '审计记录不存在', en: 'Audit record not found' },
  AUDIT_RETENTION_INVALID: {
    status: 400,
    zh: '审计日志保留期不合法（至少 180 天）',
    en: 'Invalid audit retention (at least 180 days)',
  },
  AUDIT_EXPORT_TOO_LARGE: {
    status: 400,
    zh: '导出记录过多，请缩小筛选范围',
    en: 'Too many records to export; narrow the filters',
  },
  SECRET_UNREADABLE: { status: 500, zh: '受保护数据无法解密', en: 'Protected data cannot be decrypted' },
  UNAUTHENTICATED: { status: 401, zh: '请先登录', en: 'Sign-in required' },
  INVALID_CREDENTIALS: { status: 401, zh: '用户名或密码错误', en: 'Wrong username or password' },
  ACCOUNT_LOCKED: { status: 423, zh: '账户已临时锁定，请稍后再试', en: 'Account temporarily locked; try again later' },
  ACCOUNT_DISABLED: { status: 403, zh: '账户已停用', en: 'Account disabled' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, zh: '请先修改密码', en: 'Change your password first' },
  SECOND_FACTOR_REQUIRED: { status: 401, zh: '需要动态口令', en: 'One-time code required' },
  SECOND_FACTOR_INVALID: { status: 401, zh: '动态口令错误', en: 'Wrong one-time code' },
  PASSWORD_POLICY: { status: 400, zh: '密码不符合安全策略', en: 'Password does not meet the policy' },
  PERMISSION_DENIED: { status: 403, zh: '无权执行此操作', en: 'Not permitted' },
  SIGN_IN_THROTTLED: {
    status: 429,
    zh: '该地址登录失败次数过多，请稍后再试',
    en: 'Too many failed sign-ins from this address; try again later',
  },
  TOTP_ALREADY_ENROLLED: {
    status: 409,
    zh: '已绑定动态口令，如需更换请联系系统管理员重置',
    en: 'TOTP is already enrolled; ask a system administrator to reset it',
  },
  INVALID_INPUT: { status: 400, zh: '输入不合法', en: 'Invalid input' },
  ROLE_CONFLICT: { status: 409, zh: '角色分配违反三员分立', en: 'Role assignment breaks separation of duties' },
  INSTITUTION_NOT_FOUND: { status: 404, zh: '机构不存在', en: 'Institution not found' },
  INSTITUTION_EXISTS: { status: 409, zh: '机构编码已存在', en: 'Institution code already exists' },
  DEPARTMENT_NOT_FOUND: { status: 404, zh: '科室不存在', en: 'Department not found' },
  DEPARTMENT_EXISTS: { status: 409, zh: '科室编码已存在', en: 'Department code already exists in this institution' },
  DEPARTMENT_CYCLE: {
    status: 409,
    zh: '科室不能移动到其自身或下级科室之下',
    en: 'A department cannot move under itself',
  },
  DEPARTMENT_IN_USE: {
    status: 409,
    zh: '科室仍有在职人员或启用的下级科室，不能停用',
    en: 'The department still has active staff or active sub-departments',
  },
  DEPARTMENT_INACTIVE: { status: 409, zh: '科室已停用', en: 'The department is inactive' },
  STAFF_NOT_FOUND: { status: 404, zh: '人员不存在', en: 'Staff member not found' },
  STAFF_EXISTS: { status: 409, zh: '工号已存在', en: 'Employee number already exists in this institution' },
  ORG_FIELD_INVALID: { status: 400, zh: '组织机构数据不合法', en: 'Organisation data is not valid' },
  IMPORT_REJECTED: {
    status: 422,
    zh: '导入数据有错误，未写入任何数据',
    en: 'The import has row errors; nothing was written',
  },
  IMPORT_FILE_INVALID: { status: 400, zh: '导入文件无法读取', en: 'The import file cannot be read' },
  CLIENT_SYSTEM_NOT_FOUND: { status: 404, zh: '业务系统不存在', en: 'Client system not found' },
  CLIENT_SYSTEM_EXISTS: { status: 409, zh: '业务系统编码已存在', en: 'Client system code already exists' },
  CLIENT_SYSTEM_FIELD_INVALID: { status: 400, zh: '业务系统信息不合法', en: 'Client system field is not valid' },
  CLIENT_SYSTEM_OUT_OF_SCOPE: {
    status: 403,
    zh: '业务系统无权提交该科室或文书类型',
    en: 'Client system may not submit for this department or document type',
  },
  CERTIFICATE_PROFILE_NOT_FOUND: { status: 404, zh: '证书模板不存在', en: 'Certificate profile not found' },
  CERTIFICATE_PROFILE_INVALID: { status: 400, zh: '证书模板不合法', en: 'The certificate profile is not valid' },
  CERTIFICATE_REQUEST_INVALID: {
    status: 400,
    zh: '证书申请内容不符合证书模板',
    en: 'The certificate request does not fit the profile',
  },
  CERTIFICATE_EXPIRED: { status: 409, zh: '证书已过期', en: 'The certificate has expired' },
  CERTIFICATE_NOT_EXPIRED: { status: 409, zh: '证书尚未到期', en: 'The certificate has not expired yet' },
  INVALID_TRANSITION: {
    status: 409,
    zh: '当前状态下不能执行此操作',
    en: 'This operation is not allowed in the current state',
  },
  FOUR_EYES_REQUIRED: {
    status: 403,
    zh: '双人复核：审批人不能是申请人或证书持有人',
    en: 'Four-eyes rule: the approver must differ from the requester and the holder',
  },
  REVOCATION_REASON_INVALID: {
    status: 400,
    zh: '吊销原因不适用于此操作或此证书',
    en: 'The revocation reason does not apply to this operation or certificate',
  },
  KEY_NOT_FOUND: { status: 404, zh: '密钥不存在', en: 'Key not found' },
  KEY_RETIRED: { status: 409, zh: '密钥已停用，不能再用于签名', en: 'The key is retired and no longer signs' },
  KEY_UNREADABLE: {
    status: 500,
    zh: '密钥无法解封（密钥加密密钥不匹配或数据被篡改）',
    en: 'The key cannot be unsealed (wrong key-encryption key or altered data)',
  },
  KEY_STORE_UNAVAILABLE: { status: 503, zh: '密钥存储暂不可用', en: 'The key store is not available' },
  KEY_URI_INVALID: { status: 400, zh: '密钥 URI 不合法', en: 'The key URI is not valid' },
  CERTIFICATE_APPLICATION_NOT_FOUND: { status: 404, zh: '证书申请不存在', en: 'Certificate application not found' },
  CERTIFICATE_APPLICATION_OPEN: {
    status: 409,
    zh: '该人员已有待审批或待签发的证书申请',
    en: 'The staff member already has a pending or approved application',
  },
  STAFF_NOT_ACTIVE: { status: 409, zh: '人员未在职，不能申请证书', en: 'The staff member is not active' },
  ACTIVATION_CODE_INVALID: {
    status: 400,
    zh: '激活码无效、已使用或已过期',
    en: 'The activation code is not valid, already used or expired',
  },
  ENROLMENT_INVALID: {
    status: 400,
    zh: '证书注册（密钥生成）失败，请重新开始',
    en: 'Enrolment (key generation) failed; start again',
  },
  CA_UNAVAILABLE: { status: 503, zh: '证书签发服务暂不可用', en: 'The certificate authority is not available' },
  KEY_FIELD_INVALID: { status: 400, zh: '密钥信息不合法', en: 'Key field is not valid' },
  CA_NOT_FOUND: { status: 404, zh: 'CA 不存在', en: 'Certificate authority not found' },
  CERTIFICATE_NOT_FOUND: { status: 404, zh: '证书不存在', en: 'Certificate not found' },
  TSA_UNIT_NOT_FOUND: { status: 404, zh: '时间戳签名单元不存在', en: 'TSA unit not found' },
  TSA_SOURCE_NOT_FOUND: { status: 404, zh: '时间源不存在', en: 'Time source not found' },
  VALIDATION_FAILED: { status: 400, zh: '请求参数不合法', en: 'The request is not valid' },
  MALFORMED_BODY: { status: 400, zh: '请求体无法解析', en: 'The request body cannot be parsed' },
  BODY_TOO_LARGE: { status: 413, zh: '请求体过大', en: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, zh: '不支持的内容类型', en: 'Unsupported content type' },
  ROUTE_NOT_FOUND: { status: 404, zh: '接口不存在', en: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, zh: '不支持的请求方法', en: 'Method not allowed' },
  FORBIDDEN: { status: 403, zh: '无权访问', en: 'Forbidden' },
  TOO_MANY_REQUESTS: { status: 429, zh: '请求过于频繁', en: 'Too many requests' },
  SERVICE_UNAVAILABLE: { status: 503, zh: '服务暂时不可用', en: 'Service temporarily unavailable' },
  NOT_READY: { status: 503, zh: '服务尚未就绪', en: 'Service not ready' },
  WEB_APP_NOT_BUILT: { status: 503, zh: '前端页面尚未构建', en: 'The web application has not been built' },
  BAD_REQUEST: { status: 400, zh: '请求有误', en: 'Bad request' },
  INTERNAL_ERROR: { status: 500, zh: '服务器内部错误', en: 'Internal server error' },
}

export type Language = 'zh-CN' | 'en'

/** zh-CN unless the client prefers English over Chinese. */
export function languageOf(acceptLanguage: string | undefined): Language {
  if (!acceptLanguage) return 'zh-CN'
  const ranked = acceptLanguage
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';')
      const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean)
      return { tag, q: q === undefined ? 1 : Number(q) }
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q)
  const first = ranked.find((l) => l.tag.startsWith('zh') || l.tag.startsWith('en'))
  return first?.tag.startsWith('en') ? 'en' : 'zh-CN'
}

export interface FieldError {
  /** Where the bad value is: `body.username`, `query.limit`, `params.id`. */
  readonly field: string
  readonly message: string
}

/** RFC 9457 problem details, plus our `code`, the request id and, for validation, the fields at fault. */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail?: string
  readonly instance?: string
  readonly code: ProblemCode
  readonly requestId?: string
  readonly errors?: readonly FieldError[]
}

export const PROBLEM_TYPE_BASE = 'urn:yiqian:problem:'

export function problem(
  code: ProblemCode,
  options: { language: Language; detail?: string; instance?: string; requestId?: string; errors?: FieldError[] },
): Problem {
  const entry = PROBLEMS[code]
  return {
    type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`,
    title: options.language === 'en' ? entry.en : entry.zh,
    status: entry.status,
    ...(options.detail !== undefined && { detail: options.detail }),
    ...(options.instance !== undefined && { instance: options.instance }),
    code,
    ...(options.requestId !== undefined && { requestId: options.requestId }),
    ...(options.errors !== undefined && { errors: options.errors }),
  }
}
