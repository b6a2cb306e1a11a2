import { CA_ALGORITHMS, type CaAlgorithm } from '@yiqian/core'
import { isGmError } from '@yiqian/gm'
import { ConfigError, ENVIRONMENT, init, migrate, start, VERSION } from '@yiqian/server'
import { Command, CommanderError } from 'commander'
import { auditCommand } from './commands/audit.js'
import { sm2Command } from './commands/sm2.js'
import { sm3Command, sm4Command } from './commands/symmetric.js'
import { tsCommand } from './commands/ts.js'
import { UsageError } from './usage-error.js'

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

const environmentHelp = `
环境变量 / Environment:
${Object.values(ENVIRONMENT)
  .map((v) => `  ${v}`)
  .join('\n')}
  YIQIAN_CONFIG  可选 JSON 配置文件 / optional JSON configuration file (default <data>/yiqian.config.json)`

function parseHierarchies(value: string): CaAlgorithm[] {
  const out: CaAlgorithm[] = []
  for (const part of value.split(',').map((p) => p.trim())) {
    if (!(CA_ALGORITHMS as readonly string[]).includes(part)) {
      throw new UsageError(
        `--hierarchy: ${part} 不是 ${CA_ALGORITHMS.join('、')} 之一 / not one of ${CA_ALGORITHMS.join(', ')}`,
      )
    }
    out.push(part as CaAlgorithm)
  }
  return out
}

export function cli(): Command {
  const program = new Command('yiqian')
    .description('医签 Yiqian：医院电子签名平台 / electronic-signature platform for hospitals')
    .version(VERSION, '-v, --version', '显示版本 / print the version')
    .helpOption('-h, --help', '显示帮助 / show help')
    .addHelpCommand('help [command]', '显示命令帮助 / show help for a command')
    .showHelpAfterError()
    .exitOverride()

  program
    .command('init')
    .description('创建数据目录、数据库和初始管理员 / create the data folder, database and initial administrator')
    .option(
      '--demo',
      '同时创建演示医院和测试人员及其证书（测试数据）/ also create a demo hospital with test staff and certificates',
    )
    .option(
      '--hierarchy <algorithms>',
      '除 SM2 外再创建的 CA 层级：ecdsa-p256、rsa-3072（逗号分隔）/ hierarchies besides SM2: ecdsa-p256, rsa-3072',
      parseHierarchies,
    )
    .addHelpText('after', environmentHelp)
    .action(async (options: { demo?: boolean; hierarchy?: CaAlgorithm[] }) => {
      await init(process.env, { demo: options.demo === true, extraHierarchies: options.hierarchy })
    })

  program
    .command('serve')
    .description('启动服务（首次启动时自动初始化）/ start the server (initialises on first start)')
    .option('--demo', '首次启动时创建演示数据（测试）/ create the demo data (TEST) on first start')
    .addHelpText('after', environmentHelp)
    .action(async (options: { demo?: boolean }) => {
      await start(process.env, { demo: options.demo === true })
    })

  program
    .command('migrate')
    .description('把数据库升级到本版本 / bring the database schema up to this version')
    .option('--dry-run', '只显示状态，不执行 / show the status without migrating')
    .addHelpText('after', environmentHelp)
    .action(async (options: { dryRun?: boolean }) => {
      const status = await migrate(process.env, { dryRun: options.dryRun === true })
      process.stdout.write(
        `${[
          `已执行 / applied: ${status.applied.join(', ') || '无 / none'}`,
          `待执行 / pending: ${status.pending.join(', ') || '无 / none'}`,
          ...(status.unknown.length > 0
            ? [`数据库比程序新 / newer than this build: ${status.unknown.join(', ')}`]
            : []),
        ].join('\n')}\n`,
      )
      if (status.unknown.length > 0) process.exitCode = EXIT_FAILURE
    })

  program
    .command('version')
    .description('显示版本 / print the version')
    .action(() => {
      process.stdout.write(`${VERSION}\n`)
    })

  auditCommand(program)
  sm2Command(program)
  sm3Command(program)
  sm4Command(program)
  tsCommand(program)

  return program
}

/** Runs one command line (without `node` and the script name) and returns the exit code it ended with. */
export async function run(args: readonly string[]): Promise<number> {
  process.exitCode = undefined
  try {
    await cli().parseAsync([...args], { from: 'user' })
    return Number(process.exitCode ?? 0)
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; unknown options and commands with 2.
      return error.exitCode === 0 ? 0 : EXIT_USAGE
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`)
      return EXIT_USAGE
    }
    if (isGmError(error)) {
      // Data that fails its check is "invalid" (1); an unreadable key, point or option is a usage error (2).
      const invalid = error.code === 'INVALID_CIPHERTEXT' || error.code === 'INVALID_SIGNATURE'
      process.stderr.write(`yiqian: ${error.code}: ${error.message}\n`)
      return invalid ? EXIT_FAILURE : EXIT_USAGE
    }
    process.stderr.write(`yiqian: ${error instanceof Error ? error.message : String(error)}\n`)
    return EXIT_FAILURE
  }
}
