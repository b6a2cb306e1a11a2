import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  type AuditTrailReport,
  auditSigningKeyId,
  type CheckpointPublicKey,
  createVerifyStoredAuditTrail,
  systemClock,
} from '@yiqian/core'
import { isGmError, sm2PublicKeyFromPem, sm2PublicKeyToPem } from '@yiqian/gm'
import { ENVIRONMENT } from '@yiqian/server'
import { createUnitOfWork, migrationStatus, openStorage, SQLITE_FILE, type Storage } from '@yiqian/storage'
import type { Command } from 'commander'
import { UsageError } from '../usage-error.js'
import { readText } from './io.js'

const EXIT_BROKEN = 1
/** The migration that created the checkpoint tables: a database without it cannot be verified by this build. */
const AUDIT_MIGRATION = '0005-audit'

interface VerifyOptions {
  data?: string
  databaseUrl?: string
  publicKey?: string
  json?: boolean
}

/** Every PUBLIC KEY block in the file, each named as the server names it (`audit-sm2-…`). */
export function publicKeysFromFile(path: string): CheckpointPublicKey[] {
  const text = readText(path, '公钥 / public key')
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []
  if (blocks.length === 0) throw new UsageError(`${path}: 没有 PEM 公钥 / no PEM public key found`)
  return blocks.map((block) => {
    try {
      const key = sm2PublicKeyFromPem(block)
      return { keyId: auditSigningKeyId(key), publicKeyPem: sm2PublicKeyToPem(key) }
    } catch (error) {
      if (isGmError(error)) throw new UsageError(`${path}: 不是 SM2 公钥 / not an SM2 public key (${error.code})`)
      throw error
    }
  })
}

function openReadOnly(options: VerifyOptions): Storage {
  if (options.data !== undefined && options.databaseUrl !== undefined) {
    throw new UsageError('请只给出 --data 或 --database-url 之一 / give either --data or --database-url, not both')
  }
  const databaseUrl =
    options.databaseUrl ?? (options.data === undefined ? process.env[ENVIRONMENT.databaseUrl] : undefined)
  const dataDir = resolve(options.data ?? process.env[ENVIRONMENT.dataDir] ?? 'data')
  if (databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new UsageError('--database-url: 必须是 postgres:// 地址 / must be a postgres:// URL')
    }
    return openStorage({ databaseUrl, dataDir, readOnly: true })
  }
  if (!existsSync(join(dataDir, SQLITE_FILE))) {
    throw new UsageError(
      `${join(dataDir, SQLITE_FILE)}: 数据库不存在 / no database here (use --data or --database-url)`,
    )
  }
  return openStorage({ dataDir, readOnly: true })
}

function describe(report: AuditTrailReport, trusted: string): string {
  const lines: string[] = []
  if (report.status === 'ok') {
    lines.push(
      `审计链完整 / audit trail intact: ${report.rowsChecked} 条记录 / records` +
        (report.firstSeq !== undefined ? ` (${report.firstSeq}–${report.lastSeq})` : '') +
        `, ${report.checkpointsChecked} 个检查点 / checkpoints`,
    )
    if (report.anchoredAt !== undefined) {
      lines.push(`已按保留期清理至第 ${report.anchoredAt} 条 / purged by retention up to record ${report.anchoredAt}`)
    }
    if (report.notYetCheckpointed) {
      const { fromSeq, toSeq, count } = report.notYetCheckpointed
      lines.push(
        `尚未签名检查点 / not yet checkpointed: ${fromSeq}–${toSeq} (${count}), 已校验哈希链 / hash chain checked`,
      )
    }
  } else if (report.broken) {
    lines.push(
      `审计链已损坏 / audit trail BROKEN at seq ${report.broken.seq} (${report.broken.reason})`,
      `  ${report.broken.message.zh}`,
      `  ${report.broken.message.en}`,
    )
  }
  lines.push(`信任的公钥 / trusted keys: ${trusted}`)
  return `${lines.join('\n')}\n`
}

/** `yiqian audit verify`: the offline check of the audit trail, on a database opened read-only. */
export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('审计日志工具 / audit trail tools')

  audit
    .command('verify')
    .description(
      '离线校验审计链、检查点签名和链头（只读，不迁移）/ verify the audit chain, checkpoint signatures and head ' +
        '(read-only, never migrates). Exit 0 intact, 1 broken, 2 usage or configuration error',
    )
    .option('--data <dir>', `数据目录 / data folder (default $${ENVIRONMENT.dataDir} or ./data)`)
    .option('--database-url <url>', `PostgreSQL 地址 / PostgreSQL URL (default $${ENVIRONMENT.databaseUrl})`)
    .option(
      '--public-key <file>',
      '信任的检查点公钥 PEM（服务器写出的 audit-checkpoint-key.pem）；缺省时信任数据库中的公钥 / ' +
        'trusted checkpoint public key(s), PEM (the audit-checkpoint-key.pem the server wrote); ' +
        'default: the keys stored in the database being checked',
    )
    .option('--json', '输出 JSON 报告 / print the report as JSON')
    .action(async (options: VerifyOptions) => {
      const publicKeys = options.publicKey === undefined ? undefined : publicKeysFromFile(options.publicKey)
      const storage = openReadOnly(options)
      try {
        let status: Awaited<ReturnType<typeof migrationStatus>>
        try {
          status = await migrationStatus(storage.db)
        } catch (error) {
          throw new UsageError(
            `无法读取数据库 / cannot read the database ${storage.location}: ${error instanceof Error ? error.message : error}`,
          )
        }
        if (!status.applied.includes(AUDIT_MIGRATION)) {
          throw new UsageError(
            `数据库未升级到本版本（缺少 ${AUDIT_MIGRATION}），请先运行 yiqian migrate / ` +
              `the database lacks migration ${AUDIT_MIGRATION}; run yiqian migrate first`,
          )
        }
        const verify = createVerifyStoredAuditTrail({ uow: createUnitOfWork(storage.db, systemClock) })
        const report = await verify({ publicKeys })
        const trusted = publicKeys
          ? `${publicKeys.map((k) => k.keyId).join(', ')} (${options.publicKey})`
          : '数据库中保存的公钥 / the keys stored in the database (pass --public-key to trust a file instead)'
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ ...report, trustedKeys: publicKeys ? publicKeys.map((k) => k.keyId) : 'database' }, null, 2)}\n`
            : describe(report, trusted),
        )
        if (report.status !== 'ok') process.exitCode = EXIT_BROKEN
      } finally {
        await storage.close()
      }
    })
}
