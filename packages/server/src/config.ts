import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'

/**
 * Configuration, validated once at start. Only the composition root calls `loadConfig`; everything else
 * receives the values it needs as arguments.
 */
const MiB = 1024 * 1024

const ConfigSchema = z
  .object({
    dataDir: z.string().min(1, '不能为空 / must not be empty'),
    host: z.string().min(1, '不能为空 / must not be empty').default('0.0.0.0'),
    port: z.coerce
      .number({ error: '必须是整数 / must be an integer' })
      .int('必须是整数 / must be an integer')
      .min(0, '必须在 0–65535 之间 / must be between 0 and 65535')
      .max(65535, '必须在 0–65535 之间 / must be between 0 and 65535')
      .default(8080),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, '必须以 postgres:// 开头 / must be a postgres:// or postgresql:// URL')
      .optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    bodyLimit: z.coerce
      .number({ error: '必须是字节数 / must be a number of bytes' })
      .int('必须是整数 / must be an integer')
      .min(1024, '至少 1024 字节 / must be at least 1024 bytes')
      .max(64 * MiB, '最多 64 MiB / must be at most 64 MiB')
      .default(MiB),
    shutdownTimeoutMs: z.coerce
      .number({ error: '必须是毫秒数 / must be a number of milliseconds' })
      .int()
      .min(1000, '至少 1000 毫秒 / must be at least 1000 ms')
      .max(600_000, '最多 600000 毫秒 / must be at most 600000 ms')
      .default(30_000),
    metricsToken: z.string().min(16, '至少 16 个字符 / must be at least 16 characters').optional(),
    kekFile: z.string().min(1, '不能为空 / must not be empty').optional(),
    clientCertificateHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, '须为请求头名称 / must be a header name')
      .optional(),
    publicUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, '须为 http(s):// 地址 / must be an http(s):// URL')
      .optional(),
    pkcs11Module: z.string().min(1).max(1024).optional(),
    pkcs11Token: z.string().min(1).max(128).optional(),
    pkcs11PinFile: z.string().min(1).max(1024).optional(),
    caName: z.string().trim().min(1).max(40, '最多 40 个字符 / at most 40 characters').default('医签'),
    trustProxy: z
      .string()
      .regex(/^(true|false|[0-9a-fA-F.:/, ]+)$/, '须为 true、false 或代理地址列表 / true, false or proxy addresses')
      .default('false'),
    workers: z.coerce
      .number({ error: '必须是整数 / must be an integer' })
      .int('必须是整数 / must be an integer')
      .min(1, '至少 1 / must be at least 1')
      .max(64, '最多 64 / must be at most 64')
      .default(1),
    /**
     * The TSA's NTP/SNTP sources (GPS or BeiDou receivers, or NTP servers), comma-separated host[:port]: written to
     * the database on a start that finds none there; afterwards they are managed in the console.
     */
    timeSources: z
      .string()
      .max(2000)
      .regex(
        /^\s*[A-Za-z0-9.:[\]-]+(\s*,\s*[A-Za-z0-9.:[\]-]+)*\s*$/,
        '须为逗号分隔的 host[:port] 列表 / must be a comma-separated host[:port] list',
      )
      .optional(),
  })
  .strict()
  // Several processes writing one SQLite file would meet SQLITE_BUSY on every concurrent transaction.
  .refine((c) => c.workers === 1 || c.databaseUrl !== undefined, {
    path: ['workers'],
    message: '多个工作进程需要 PostgreSQL（DATABASE_URL）/ several workers need PostgreSQL (DATABASE_URL)',
  })

export type Config = z.infer<typeof ConfigSchema>
type Key = keyof Config

/** Environment variable for each key. A configuration file uses the key names themselves. */
export const ENVIRONMENT: Readonly<Record<Key, string>> = {
  dataDir: 'YIQIAN_DATA',
  host: 'YIQIAN_HOST',
  port: 'YIQIAN_PORT',
  databaseUrl: 'DATABASE_URL',
  logLevel: 'YIQIAN_LOG_LEVEL',
  bodyLimit: 'YIQIAN_BODY_LIMIT',
  shutdownTimeoutMs: 'YIQIAN_SHUTDOWN_TIMEOUT_MS',
  metricsToken: 'YIQIAN_METRICS_TOKEN',
  kekFile: 'YIQIAN_KEK_FILE',
  clientCertificateHeader: 'YIQIAN_CLIENT_CERT_HEADER',
  trustProxy: 'YIQIAN_TRUST_PROXY',
  publicUrl: 'YIQIAN_PUBLIC_URL',
  caName: 'YIQIAN_CA_NAME',
  pkcs11Module: 'YIQIAN_PKCS11_MODULE',
  pkcs11Token: 'YIQIAN_PKCS11_TOKEN',
  pkcs11PinFile: 'YIQIAN_PKCS11_PIN_FILE',
  workers: 'YIQIAN_WORKERS',
  timeSources: 'YIQIAN_TIME_SOURCES',
}
const SECRET: ReadonlySet<string> = new Set<Key>(['databaseUrl', 'metricsToken'])

export const CONFIG_FILE_VARIABLE = 'YIQIAN_CONFIG'
export const DEFAULT_CONFIG_FILE = 'yiqian.config.json'

export interface ConfigProblem {
  /** As the operator wrote it: `YIQIAN_PORT`, or `port (in /etc/yiqian.json)`. */
  readonly key: string
  readonly message: string
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`配置无效 / invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`)
  }
}

/**
 * Reads the optional JSON file (`$YIQIAN_CONFIG`, else `<data>/yiqian.config.json` if present), then the
 * environment, which wins. Throws ConfigError naming every bad key.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const fromEnv: Record<string, string> = {}
  for (const [key, variable] of Object.entries(ENVIRONMENT)) {
    const value = env[variable]
    if (value !== undefined && value !== '') fromEnv[key] = value
  }
  fromEnv.dataDir = resolve(cwd, fromEnv.dataDir ?? 'data')

  const explicitFile = env[CONFIG_FILE_VARIABLE]
  const file = explicitFile ? resolve(cwd, explicitFile) : resolve(fromEnv.dataDir, DEFAULT_CONFIG_FILE)
  let fromFile: Record<string, unknown> = {}
  if (explicitFile || existsSync(file)) fromFile = readConfigFile(file, explicitFile !== undefined)

  const merged: Record<string, unknown> = { ...fromFile, ...fromEnv }
  const parsed = ConfigSchema.safeParse(merged)
  if (parsed.success) return parsed.data
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '')
      const inEnv = key in fromEnv && key in ENVIRONMENT
      const label = inEnv ? ENVIRONMENT[key as Key] : `${key || '(root)'} (in ${file})`
      const value = inEnv ? fromEnv[key] : fromFile[key]
      const shown = SECRET.has(key) || value === undefined ? '' : ` (got ${JSON.stringify(value)})`
      const message =
        issue.code === 'unrecognized_keys'
          ? `未知的配置项 / unknown keys: ${issue.keys.join(', ')}`
          : issue.code === 'invalid_value' && 'values' in issue
            ? `必须是 / must be one of ${issue.values.join(', ')}`
            : issue.message
      return { key: label, message: `${message}${shown}` }
    }),
  )
}

function readConfigFile(file: string, explicit: boolean): Record<string, unknown> {
  const where = explicit ? CONFIG_FILE_VARIABLE : file
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError([{ key: where, message: `无法读取 / cannot read ${file}: ${(error as Error).message}` }])
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ConfigError([{ key: where, message: `不是有效的 JSON / not valid JSON: ${(error as Error).message}` }])
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ key: where, message: '必须是 JSON 对象 / must be a JSON object' }])
  }
  if ('dataDir' in value) {
    throw new ConfigError([
      { key: `dataDir (in ${file})`, message: `请用环境变量 / set it with ${ENVIRONMENT.dataDir}` },
    ])
  }
  return value as Record<string, unknown>
}
