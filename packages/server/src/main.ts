import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createEnsureInitialAdministrator,
  createSecretBox,
  type InitialCredential,
  KEK_LENGTH,
  type SecretBox,
  systemClock,
} from '@yiqian/core'
import {
  createUnitOfWork,
  type MigrationStatus,
  migrateToLatest,
  migrationStatus,
  openStorage,
  type Storage,
} from '@yiqian/storage'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pino from 'pino'
import { buildApp } from './app.js'
import { auditCheckpointKeyPem, startAuditSchedule } from './audit/index.js'
import { type Config, loadConfig } from './config.js'
import type { Readiness } from './routes/health.js'
import { createAppServices } from './services.js'

// The composition root: the only module that reads configuration and wires ports to adapters.

const repoRoot = new URL('../../../', import.meta.url)
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('package.json', repoRoot), 'utf8')) as { version: string }
).version

export const INITIAL_CREDENTIAL_FILE = 'initial-admin-credential.txt'

/** Writes where a person (and only that person) can read it: mode 0600, replaced atomically. */
async function writeInitialCredential(dataDir: string, credential: InitialCredential): Promise<string> {
  const file = join(dataDir, INITIAL_CREDENTIAL_FILE)
  const text = [
    '# 医签 Yiqian 初始管理员凭据 / initial administrator credential',
    '# 首次登录后必须修改密码，修改后请删除本文件。',
    '# You must change this password at first sign-in; then delete this file.',
    `username: ${credential.username}`,
    `password: ${credential.password}`,
    `created: ${new Date().toISOString()}`,
    '',
  ].join('\n')
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' })
  await chmod(temporary, 0o600)
  await rename(temporary, file)
  return file
}

export const KEK_FILE = 'secret-box.key'
export const AUDIT_KEY_FILE = 'audit-checkpoint-key.pem'
const KEK_CHECK_KEY = 'secret-box-check'
const KEK_CHECK_TEXT = 'yiqian secret-box check'

/**
 * The key-encryption key that seals personal data, TOTP seeds and client-system secrets: 32 random bytes in a
 * 0600 file, created on first start. Keep it on a different volume from the database backups (YIQIAN_KEK_FILE);
 * the certificate issue moves it behind the KeyStore (passphrase or HSM).
 */
async function loadKeyEncryptionKey(config: Config): Promise<{ key: Uint8Array; file: string }> {
  const file = config.kekFile ?? join(config.dataDir, KEK_FILE)
  try {
    const key = await readFile(file)
    if (key.length !== KEK_LENGTH) throw new Error(`${file}: expected ${KEK_LENGTH} bytes, found ${key.length}`)
    return { key, file }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = randomBytes(KEK_LENGTH)
  await writeFile(file, key, { mode: 0o600, flag: 'wx' })
  return { key, file }
}

/** Refuses to start with a key that cannot open what the database holds (a wrong or replaced key file). */
async function checkKeyEncryptionKey(storage: Storage, secretBox: SecretBox, file: string): Promise<void> {
  await createUnitOfWork(storage.db, systemClock).run(async (tx) => {
    const stored = await tx.settings.get(KEK_CHECK_KEY)
    if (!stored) {
      await tx.settings.put(
        KEK_CHECK_KEY,
        secretBox.seal(KEK_CHECK_TEXT, KEK_CHECK_KEY),
        1,
        systemClock.now(),
        'system',
      )
      return
    }
    try {
      secretBox.open(String(stored.value), KEK_CHECK_KEY)
    } catch {
      throw new Error(
        `密钥加密密钥与数据库不匹配 / the key-encryption key ${file} does not match this database: restore the right key file`,
      )
    }
  })
}

interface Prepared {
  readonly config: Config
  readonly secretBox: SecretBox
  readonly storage: Storage
  readonly applied: readonly string[]
  /** The file the initial credential went to, when this start created it. */
  readonly credentialFile?: string
}

/** Data folder, database, migrations and the bootstrap administrator: what `init` does and `serve` repeats. */
async function prepare(env: NodeJS.ProcessEnv): Promise<Prepared> {
  const config = loadConfig(env)
  // Everything the server writes (database, WAL, credentials, later keys) is for its own user only.
  process.umask(0o077)
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const storage = openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    const applied = await migrateToLatest(storage.db)
    const kek = await loadKeyEncryptionKey(config)
    const secretBox = createSecretBox(kek.key)
    await checkKeyEncryptionKey(storage, secretBox, kek.file)
    // The public key that verifies the audit checkpoints, for `yiqian audit verify --public-key` on another machine.
    const auditKeyFile = join(config.dataDir, AUDIT_KEY_FILE)
    const auditKey = await auditCheckpointKeyPem({
      uow: createUnitOfWork(storage.db, systemClock),
      clock: systemClock,
      secretBox,
    })
    await writeFile(auditKeyFile, auditKey, { mode: 0o600 })
    let credentialFile: string | undefined
    const ensureInitialAdministrator = createEnsureInitialAdministrator({
      uow: createUnitOfWork(storage.db, systemClock),
      clock: systemClock,
    })
    await ensureInitialAdministrator(async (credential) => {
      credentialFile = await writeInitialCredential(config.dataDir, credential)
    })
    return { config, secretBox, storage, applied, ...(credentialFile && { credentialFile }) }
  } catch (error) {
    await storage.close()
    throw error
  }
}

function readinessOf(storage: Storage): Readiness {
  return async () => {
    const dialect = storage.dialect
    try {
      await sql`select 1`.execute(storage.db)
    } catch {
      return { database: { status: 'unreachable', dialect }, migrations: { status: 'unknown', pending: [] } }
    }
    const status = await migrationStatus(storage.db)
    return {
      database: { status: 'ok', dialect },
      migrations: {
        status: status.unknown.length > 0 ? 'newer' : status.pending.length > 0 ? 'pending' : 'current',
        pending: [...status.pending],
      },
    }
  }
}

/** `true`, `false`, or the addresses of the reverse proxies whose X-Forwarded-For is believed. */
function trustProxyOf(value: string): boolean | string[] {
  if (value === 'true') return true
  if (value === 'false') return false
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
}

function announce(lines: string[]): void {
  process.stderr.write(`${lines.join('\n')}\n`)
}

export async function init(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { config, storage, applied, credentialFile } = await prepare(env)
  await storage.close()
  announce([
    `医签 Yiqian ${VERSION}: 数据目录 / data folder ${config.dataDir}`,
    `数据库 / database: ${storage.location}`,
    `已执行迁移 / migrations applied: ${applied.length > 0 ? applied.join(', ') : '无 / none'}`,
    credentialFile
      ? `初始管理员凭据已写入 / initial administrator credential written to ${credentialFile} (mode 0600)`
      : '管理员已存在，未生成新凭据 / administrators exist; no new credential',
  ])
}

export async function migrate(env: NodeJS.ProcessEnv = process.env, { dryRun = false } = {}): Promise<MigrationStatus> {
  const config = loadConfig(env)
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const storage = openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    if (!dryRun) await migrateToLatest(storage.db)
    return await migrationStatus(storage.db)
  } finally {
    await storage.close()
  }
}

export interface RunningServer {
  readonly app: FastifyInstance
  readonly url: string
  /** Stops accepting connections, lets accepted requests finish, then closes the database. */
  shutdown(reason: string): Promise<void>
}

export async function serve(
  env: NodeJS.ProcessEnv = process.env,
  { handleSignals = true }: { handleSignals?: boolean } = {},
): Promise<RunningServer> {
  const { config, secretBox, storage, applied, credentialFile } = await prepare(env)
  const logger = pino({
    level: config.logLevel,
    base: { service: 'yiqian', version: VERSION },
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-yiqian-signature"]'],
  })
  const services = createAppServices({
    db: storage.db,
    clock: systemClock,
    secretBox,
    clientCertificateHeader: config.clientCertificateHeader,
  })
  let app: FastifyInstance
  try {
    app = await buildApp({
      version: VERSION,
      services,
      trustProxy: trustProxyOf(config.trustProxy),
      readiness: readinessOf(storage),
      logger,
      bodyLimit: config.bodyLimit,
      metricsToken: config.metricsToken,
      webApps: [
        { prefix: '/console/', root: fileURLToPath(new URL('apps/console/dist', repoRoot)) },
        { prefix: '/m/', root: fileURLToPath(new URL('apps/mobile/dist', repoRoot)) },
      ],
    })
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    await storage.close()
    throw error
  }
  // Signed audit checkpoints (every 1,000 records or 10 minutes) and the daily retention purge.
  const auditSchedule = startAuditSchedule(services, {
    retentionDays: async () => (await services.accounts.systemSettings()).value.auditRetentionDays,
    onError: (error) => logger.error({ err: error }, 'audit checkpoint or retention job failed'),
  })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`
  logger.info({ database: storage.location, dialect: storage.dialect, migrationsApplied: applied }, 'started')
  announce([
    `医签 Yiqian ${VERSION} 已启动 / started: ${url}  (console ${url}/console/ · mobile ${url}/m/ · API ${url}/docs)`,
    `数据目录 / data folder: ${config.dataDir} · 数据库 / database: ${storage.location}`,
    ...(credentialFile
      ? [`初始管理员凭据已写入 / initial administrator credential written to ${credentialFile} (mode 0600)`]
      : []),
  ])

  let closing: Promise<void> | undefined
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      logger.info({ reason }, 'shutting down: finishing requests in flight')
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting')
        process.exit(1)
      }, config.shutdownTimeoutMs)
      deadline.unref()
      try {
        await app.close()
        await auditSchedule.stop()
        await storage.close()
        logger.info('stopped')
      } finally {
        clearTimeout(deadline)
      }
    })()
    return closing
  }
  if (handleSignals) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        shutdown(signal).then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed')
            process.exit(1)
          },
        )
      })
    }
  }
  return { app, url, shutdown }
}
