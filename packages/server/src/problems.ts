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
  ADMINISTRATOR_NOT_FOUND: { status: 404, zh: '管理员不存在', en: 'Administrator not found' },
  ADMINISTRATOR_EXISTS: { status: 409, zh: '管理员已存在', en: 'Administrator already exists' },
  VERSION_CONFLICT: {
    status: 409,
    zh: '数据已被他人修改，请刷新后重试',
    en: 'Changed by someone else; reload and retry',
  },
  AUDIT_CHAIN_BROKEN: { status: 500, zh: '审计日志完整性校验失败', en: 'Audit log integrity check failed' },
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
