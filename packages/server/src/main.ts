import cluster from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type CaAlgorithm,
  createEnsureInitialAdministrator,
  createSecretBox,
  type InitialCredential,
  KEK_LENGTH,
  type Pkcs11Config,
  type SecretBox,
  SYSTEM_ACTOR,
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
import type { AppServices } from './app.js'
import { buildApp } from './app.js'
import { auditCheckpointKeyPem, startAuditSchedule } from './audit/index.js'
import { type Config, ENVIRONMENT, loadConfig } from './config.js'
import { createDemoData, type DemoOutcome } from './demo.js'
import { startCertificateSchedule } from './pki/jobs.js'
import type { Readiness } from './routes/health.js'
import { createAppServices } from './services.js'
import { createTsaTime, type TsaTime } from './time/tsa-time.js'

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
  readonly services: AppServices
  readonly applied: readonly string[]
  /** The file the initial credential went to, when this start created it. */
  readonly credentialFile?: string
  /** Certificate authorities this start created (`名称 (算法)`). */
  readonly createdCas: readonly string[]
  readonly demo?: DemoOutcome | undefined
}

export interface PrepareOptions {
  /** Create the demonstration hospital with test staff and their certificates (once). */
  readonly demo?: boolean | undefined
  /** Hierarchies besides SM2 to create when missing (interoperability: ECDSA P-256, RSA-3072). */
  readonly extraHierarchies?: readonly CaAlgorithm[] | undefined
}

/** What `serve` adds: the TSA's time, which only a serving process synchronises. */
interface ServeInternals {
  readonly tsaTime?: TsaTime | undefined
  readonly onTsaError?: ((error: unknown) => void) | undefined
}

/** The address a local client reaches a server listening on `host` at: a wildcard host means loopback. */
function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
}

/** Where relying parties reach /pki/…: the configured public URL, else this server's own address when it is fixed. */
function publicBaseUrlOf(config: Config): string | undefined {
  if (config.publicUrl) return config.publicUrl
  if (config.port === 0) return undefined
  const host = reachableHost(config.host)
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}

/** The HSM, when all three settings are given; a partial configuration is refused rather than ignored. */
function pkcs11Of(config: Config): Pkcs11Config | undefined {
  const { pkcs11Module: modulePath, pkcs11Token: token, pkcs11PinFile: pinSource } = config
  if (!modulePath && !token && !pinSource) return undefined
  if (!modulePath || !token || !pinSource) {
    throw new Error(
      'PKCS#11 配置不完整：须同时设置 YIQIAN_PKCS11_MODULE、YIQIAN_PKCS11_TOKEN 和 YIQIAN_PKCS11_PIN_FILE / ' +
        'incomplete PKCS#11 configuration: set YIQIAN_PKCS11_MODULE, YIQIAN_PKCS11_TOKEN and YIQIAN_PKCS11_PIN_FILE together',
    )
  }
  return { modulePath, token, pinSource }
}

const HIERARCHY_NAMES: Readonly<Record<CaAlgorithm, string>> = { sm2: 'SM2', 'ecdsa-p256': 'ECDSA', 'rsa-3072': 'RSA' }

/** An SM2 root and issuing CA (and the other hierarchies asked for) when the database has none of that algorithm. */
async function ensureHierarchies(
  services: AppServices,
  config: Config,
  extra: readonly CaAlgorithm[],
): Promise<string[]> {
  const ca = services.ca
  if (!ca) return []
  const existing = await ca.list()
  const created: string[] = []
  for (const algorithm of new Set<CaAlgorithm>(['sm2', ...extra])) {
    if (existing.some((c) => c.algorithm === algorithm && c.status === 'active' && c.parentId === undefined)) continue
    const tag = HIERARCHY_NAMES[algorithm]
    const { root, issuing } = await ca.createHierarchy(
      {
        algorithm,
        names: {
          root: { CN: `${config.caName} ${tag} 根 CA`, O: config.caName },
          issuing: { CN: `${config.caName} ${tag} 签发 CA`, O: config.caName },
        },
      },
      { actor: 'system', actorRole: '', source: 'local', requestId: 'init' },
    )
    created.push(`${root.name} / ${issuing.name} (${algorithm})`)
  }
  return created
}

/**
 * The TSA's first SM2 unit (key + certificate from the SM2 issuing CA) and, on a start that finds no time source
 * stored, the ones `YIQIAN_TIME_SOURCES` names. Both are audited as the system.
 */
async function ensureTimeStampAuthority(services: AppServices, config: Config): Promise<void> {
  const tsa = services.tsa
  if (!tsa || !services.ca) return
  await tsa.ensureDefaultUnit(SYSTEM_ACTOR)
  const configured = (config.timeSources ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0)
  if (configured.length === 0 || (await tsa.listSources()).length > 0) return
  for (const address of configured) {
    await tsa.addSource({ name: `${ENVIRONMENT.timeSources} ${address}`, address }, SYSTEM_ACTOR)
  }
}

/** Data folder, database, migrations, the bootstrap administrator and the CA: what `init` does and `serve` repeats. */
async function prepare(env: NodeJS.ProcessEnv, options: PrepareOptions & ServeInternals = {}): Promise<Prepared> {
  const config = loadConfig(env)
  // Everything the server writes (database, WAL, credentials, keys) is for its own user only.
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
    const services = createAppServices({
      db: storage.db,
      clock: systemClock,
      secretBox,
      clientCertificateHeader: config.clientCertificateHeader,
      kek: kek.key,
      publicBaseUrl: publicBaseUrlOf(config),
      pkcs11: pkcs11Of(config),
      trustedTime: options.tsaTime?.trustedTime,
      tsa: options.tsaTime && { ...options.tsaTime.hooks, onError: options.onTsaError },
    })
    const createdCas = await ensureHierarchies(services, config, options.extraHierarchies ?? [])
    await ensureTimeStampAuthority(services, config)
    let demo: DemoOutcome | undefined
    if (options.demo && services.ca && services.certificateIssuer) {
      demo = await createDemoData(
        { ...services, ca: services.ca, certificateIssuer: services.certificateIssuer },
        config.dataDir,
      )
    }
    return {
      config,
      secretBox,
      storage,
      services,
      applied,
      createdCas,
      demo,
      ...(credentialFile && { credentialFile }),
    }
  } catch (error) {
    await storage.close()
    throw error
  }
}

function preparedLines(prepared: Prepared): string[] {
  return [
    ...prepared.createdCas.map((name) => `已创建 CA / certificate authority created: ${name}`),
    ...(prepared.demo?.created
      ? [
          `演示数据（测试）/ demo data (TEST): ${prepared.demo.staff} 名测试人员 / test staff, ${prepared.demo.certificates} 张证书 / certificates`,
          `测试手机密钥分量 / test phones' key shares: ${prepared.demo.sharesFile} (mode 0600)`,
        ]
      : []),
  ]
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

export async function init(env: NodeJS.ProcessEnv = process.env, options: PrepareOptions = {}): Promise<void> {
  const prepared = await prepare(env, options)
  const { config, storage, applied, credentialFile } = prepared
  await prepared.services.keyStore?.close()
  await storage.close()
  announce([
    `医签 Yiqian ${VERSION}: 数据目录 / data folder ${config.dataDir}`,
    `数据库 / database: ${storage.location}`,
    `已执行迁移 / migrations applied: ${applied.length > 0 ? applied.join(', ') : '无 / none'}`,
    credentialFile
      ? `初始管理员凭据已写入 / initial administrator credential written to ${credentialFile} (mode 0600)`
      : '管理员已存在，未生成新凭据 / administrators exist; no new credential',
    ...preparedLines(prepared),
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
  { handleSignals = true, ...options }: { handleSignals?: boolean } & PrepareOptions = {},
): Promise<RunningServer> {
  // The logger needs the configuration prepare reads; the TSA's time reports to it once it exists.
  // Until the configured logger exists (prepare reads the configuration), one default logger stands in.
  let log: pino.Logger = pino({ level: 'info' })
  const tsaLog = () => log
  const tsaTime = createTsaTime({ demo: options.demo === true, log: tsaLog })
  const prepared = await prepare(env, {
    ...options,
    tsaTime,
    onTsaError: (error) => tsaLog().error({ err: error }, 'TSA request failed (answered systemFailure)'),
  })
  const { config, storage, applied, credentialFile, services } = prepared
  const logger = pino({
    level: config.logLevel,
    base: { service: 'yiqian', version: VERSION },
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-yiqian-signature"]'],
  })
  log = logger
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
  // In a cluster only the first worker runs the schedules (the certificate jobs would be safe anywhere: leases).
  const worker = cluster.isWorker ? Number(process.env[CLUSTER_WORKER_VARIABLE] ?? '1') : 0
  const schedules = worker <= 1
  // Signed audit checkpoints (every 1,000 records or 10 minutes) and the daily retention purge.
  const auditSchedule =
    schedules &&
    startAuditSchedule(services, {
      retentionDays: async () => (await services.accounts.systemSettings()).value.auditRetentionDays,
      onError: (error) => logger.error({ err: error }, 'audit checkpoint or retention job failed'),
    })
  // CRL refresh, OCSP responder renewal, expiry marking and expiry reminders; leases make several instances safe.
  const certificateSchedule =
    schedules &&
    startCertificateSchedule(services, {
      onError: (error, job) => logger.error({ err: error, job }, 'certificate job failed'),
      onRun: (run) =>
        logger.info(
          { job: run.job, status: run.status, ...(run.status === 'ran' && { result: run.result }) },
          'certificate job',
        ),
    })
  // Every serving process keeps its own time: the TSA answers timeNotAvailable until its sources agree.
  if (services.tsa) await tsaTime.start(services.tsa)
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${reachableHost(config.host)}:${port}`
  logger.info({ database: storage.location, dialect: storage.dialect, migrationsApplied: applied }, 'started')
  // A cluster's primary announces once for all its workers.
  if (!cluster.isWorker)
    announce([
      `医签 Yiqian ${VERSION} 已启动 / started: ${url}  (console ${url}/console/ · mobile ${url}/m/ · API ${url}/docs)`,
      `数据目录 / data folder: ${config.dataDir} · 数据库 / database: ${storage.location}`,
      ...(credentialFile
        ? [`初始管理员凭据已写入 / initial administrator credential written to ${credentialFile} (mode 0600)`]
        : []),
      ...preparedLines(prepared),
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
        tsaTime.stop()
        // Tokens already answered are recorded before the database closes.
        await services.tsa?.flush()
        if (auditSchedule) await auditSchedule.stop()
        if (certificateSchedule) await certificateSchedule.stop()
        await services.keyStore?.close()
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

const CLUSTER_WORKER_VARIABLE = 'YIQIAN_CLUSTER_WORKER'

/**
 * `yiqian serve`: one process, or with `YIQIAN_WORKERS` > 1 (PostgreSQL only) a primary that prepares the data once
 * (migrations, CA, demo data) and then forks that many workers sharing the listening port — one per core, so signing,
 * OCSP and timestamps use every core. The primary restarts a worker that dies and stops them all on SIGTERM/SIGINT.
 */
export async function start(env: NodeJS.ProcessEnv = process.env, options: PrepareOptions = {}): Promise<void> {
  const config = loadConfig(env)
  if (config.workers <= 1 || cluster.isWorker) {
    await serve(env, options)
    return
  }
  const prepared = await prepare(env, options)
  await prepared.services.keyStore?.close()
  await prepared.storage.close()
  let stopping = false
  let up = false
  const exits = new Map<number, Promise<number | null>>()
  const fork = (index: number): void => {
    const worker = cluster.fork({ ...env, [CLUSTER_WORKER_VARIABLE]: String(index) })
    exits.set(
      index,
      new Promise((resolve) => {
        worker.on('exit', (code, signal) => {
          resolve(code)
          if (stopping) return
          if (!up) {
            process.stderr.write(`工作进程 ${index} 启动失败 / worker ${index} failed to start (${code ?? signal})\n`)
            void stop(1)
            return
          }
          process.stderr.write(
            `工作进程 ${index} 退出，重新启动 / worker ${index} exited (${code ?? signal}); restarting\n`,
          )
          setTimeout(() => {
            if (!stopping) fork(index)
          }, 1000)
        })
      }),
    )
  }
  const stop = async (exitCode: number): Promise<never> => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
    const deadline = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000)
    deadline.unref()
    const codes = await Promise.all(exits.values())
    process.exit(exitCode !== 0 || codes.some((c) => c !== 0) ? 1 : 0)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(0))
  const address = await new Promise<{ address: string; port: number }>((resolve) => {
    let listening = 0
    cluster.on('listening', (_worker, at) => {
      if (++listening === config.workers) resolve(at)
    })
    for (let i = 1; i <= config.workers; i++) fork(i)
  })
  up = true
  const url = `http://${reachableHost(config.host)}:${address.port}`
  announce([
    `医签 Yiqian ${VERSION} 已启动 / started: ${url}  (${config.workers} 个工作进程 / workers; console ${url}/console/ · API ${url}/docs)`,
    `数据目录 / data folder: ${config.dataDir} · 数据库 / database: ${prepared.storage.location}`,
    ...(prepared.credentialFile
      ? [`初始管理员凭据已写入 / initial administrator credential written to ${prepared.credentialFile} (mode 0600)`]
      : []),
    ...preparedLines(prepared),
  ])
}
