import {
  buildTimeStampReq,
  type DigestName,
  digest,
  encodeDer,
  isPkiError,
  type ParsedTstInfo,
  parseCms,
  parseTimeStampResp,
  readTimeStampToken,
  type TimeStampCheck,
  type TimeStampHash,
  type TimeStampVerification,
  validatePath,
  verifyTimeStampToken,
} from '@yiqian/pki'
import type { Command } from 'commander'
import { UsageError } from '../usage-error.js'
import { hexOption, readInput, writeOutput } from './io.js'

const EXIT_INVALID = 1
/** `yiqian serve` listens on 8080 by default; YIQIAN_TSA_URL overrides this default. */
const DEFAULT_TSA_URL = 'http://127.0.0.1:8080/tsa'

/** Command-line hash names → the names @yiqian/pki uses. SHA-384/512 work once the TSP codec accepts them. */
const HASHES: Readonly<Record<string, string>> = {
  sha256: 'SHA-256',
  sm3: 'SM3',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
}

function hashOption(value: string, option = '--hash'): TimeStampHash {
  const name = HASHES[value.toLowerCase()]
  if (!name)
    throw new UsageError(
      `${option}: 必须是 ${Object.keys(HASHES).join('、')} 之一 / one of ${Object.keys(HASHES).join(', ')}`,
    )
  return name as TimeStampHash
}

function hashData(name: TimeStampHash, data: Uint8Array): Uint8Array {
  if (name === 'SHA-256' || name === 'SM3') return digest(name as DigestName, data)
  // SHA-384/512: computed here, so a build of @yiqian/pki with those imprints is verified without change.
  const nodeCrypto = globalThis.process.getBuiltinModule('node:crypto')
  return new Uint8Array(nodeCrypto.createHash(name.replace('-', '').toLowerCase()).update(data).digest())
}

function base64Bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'))
}

/** A .tsr/.tst file as DER, a PEM block (any label) or bare base64. */
export function tokenBytes(file: Uint8Array): Uint8Array {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(file.subarray(0, Math.min(file.length, 1 << 20)))
  const pem = /-----BEGIN [A-Z0-9 ]+-----([\s\S]+?)-----END [A-Z0-9 ]+-----/.exec(text)
  if (pem) return base64Bytes(pem[1]!)
  // DER starts with a SEQUENCE tag (0x30), which is "0" in ASCII and not base64 text of a SEQUENCE ("MI…").
  if (file[0] !== 0x30 && /^[A-Za-z0-9+/=\s]+$/.test(text) && file.length === text.length) return base64Bytes(text)
  return file
}

export interface LoadedToken {
  /** The TimeStampToken (ContentInfo). */
  readonly token: Uint8Array
  readonly tstInfo: ParsedTstInfo
  /** Set when the file was a TimeStampResp. */
  readonly responseStatus?: string
}

/**
 * Reads a TimeStampResp or a TimeStampToken. A response that carries no token (a rejection) is reported as
 * `rejected`; anything that is neither is a usage error (the file is not what the command needs).
 */
export function loadToken(
  file: Uint8Array,
  path: string,
): LoadedToken | { rejected: { status: string; failInfo: string[]; text: string[] } } {
  const der = tokenBytes(file)
  let token = der
  let responseStatus: string | undefined
  try {
    const response = parseTimeStampResp(der)
    if (!response.token) {
      return {
        rejected: {
          status: response.status,
          failInfo: [...(response.failInfo ?? [])],
          text: [...(response.statusStrings ?? [])],
        },
      }
    }
    token = response.token
    responseStatus = response.status
  } catch (error) {
    if (!isPkiError(error)) throw error
    // Not a TimeStampResp: try it as a bare token below.
  }
  try {
    return { token, tstInfo: readTimeStampToken(token), responseStatus }
  } catch (error) {
    if (!isPkiError(error)) throw error
    throw new UsageError(
      `${path}: 不是时间戳响应或时间戳令牌 / not a TimeStampResp or TimeStampToken (${error.message})`,
    )
  }
}

/** Every certificate in the files: PEM (one or more CERTIFICATE blocks) or one DER certificate. */
export function certificatesFromFiles(paths: readonly string[]): Uint8Array[] {
  return paths.flatMap((path) => {
    const bytes = readInput(path, '证书 / certificate')
    const text = new TextDecoder().decode(bytes)
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
    if (blocks) return blocks.map((b) => base64Bytes(b.replace(/-----[^-]+-----/g, '')))
    if (bytes[0] !== 0x30) throw new UsageError(`${path}: 不是 PEM 或 DER 证书 / not a PEM or DER certificate`)
    return [bytes]
  })
}

/** The certificates a token carries (the TSA certificate and any chain the TSA added). */
function certificatesInToken(token: Uint8Array): Uint8Array[] {
  try {
    return (parseCms(token).signedData.certificates ?? []).flatMap((c) =>
      c.certificate ? [new Uint8Array(encodeDer(c.certificate))] : [],
    )
  } catch (error) {
    if (isPkiError(error)) return []
    throw error
  }
}

/**
 * RFC 5280 path validation of the TSA certificate at the token's genTime, for the timeStamping purpose: from the
 * TSA certificate through intermediates (in the token, `--untrusted` and `--ca` files) to one of the `--ca`
 * certificates. Revocation is not checked offline (no CRL/OCSP given), which the reason says.
 */
export async function checkTsaChain(
  tsaCertificate: Uint8Array | undefined,
  token: Uint8Array,
  anchors: readonly Uint8Array[],
  untrusted: readonly Uint8Array[],
  at: Date,
): Promise<TimeStampCheck> {
  if (!tsaCertificate) return { name: 'trust', status: 'failed', reason: 'the token names no TSA certificate to check' }
  const report = await validatePath({
    target: tsaCertificate,
    intermediates: [...certificatesInToken(token), ...untrusted, ...anchors],
    trustAnchors: anchors,
    at,
    purpose: 'timeStamping',
  })
  if (report.status !== 'passed')
    return { name: 'trust', status: 'failed', reason: `${report.reasonZh} / ${report.reason}` }
  const path = report.chain.map((c) => c.subject).join(' → ')
  return { name: 'trust', status: 'passed', reason: `${path} (at genTime; revocation not checked offline)` }
}

const CHECK_LABELS: Readonly<Record<string, string>> = {
  structure: '结构 / structure',
  'content-digest': '内容摘要 / content digest',
  signature: '签名 / signature',
  'signing-certificate': '签名证书属性 / signing-certificate',
  trust: '证书链 / chain of trust',
  'content-type': '内容类型 / content type',
  imprint: '数据摘要 / message imprint',
  nonce: '随机数 / nonce',
  'tsa-certificate': 'TSA 证书 / TSA certificate',
}
const STATUS_LABELS: Readonly<Record<string, string>> = {
  passed: '通过 / passed',
  failed: '失败 / FAILED',
  skipped: '跳过 / skipped',
}

function hex(value: bigint): string {
  const h = value.toString(16)
  return h.length % 2 ? `0${h}` : h
}

function describeToken(info: ParsedTstInfo): string[] {
  return [
    `序列号 / serial: ${hex(info.serialNumber)}`,
    `时间 / genTime: ${info.genTime.toISOString()}`,
    `策略 / policy: ${info.policy}`,
    `摘要 / imprint: ${info.hashAlgorithm} ${Buffer.from(info.imprint).toString('hex')}`,
    ...(info.nonce === undefined ? [] : [`随机数 / nonce: ${hex(info.nonce)}`]),
  ]
}

function describeChecks(checks: readonly TimeStampCheck[]): string[] {
  return checks.map((c) => `  [${STATUS_LABELS[c.status] ?? c.status}] ${CHECK_LABELS[c.name] ?? c.name}: ${c.reason}`)
}

interface VerifyOptions {
  data?: string
  digest?: string
  hash?: string
  ca?: string[]
  untrusted?: string[]
  chain: boolean
  json?: boolean
}

function tstInfoJson(info: ParsedTstInfo) {
  return {
    serial: hex(info.serialNumber),
    genTime: info.genTime.toISOString(),
    policy: info.policy,
    hashAlgorithm: info.hashAlgorithm,
    imprint: Buffer.from(info.imprint).toString('hex'),
    ...(info.nonce !== undefined && { nonce: hex(info.nonce) }),
  }
}

/** `yiqian ts verify`: offline verification of a timestamp token. */
async function verifyAction(tokenPath: string, options: VerifyOptions): Promise<void> {
  if (options.data !== undefined && options.digest !== undefined) {
    throw new UsageError('请只给出 --data 或 --digest 之一 / give either --data or --digest, not both')
  }
  if (options.data === undefined && options.digest === undefined) {
    throw new UsageError('请给出 --data 或 --digest 与 --hash / give --data FILE, or --digest HEX with --hash')
  }
  if (options.digest !== undefined && options.hash === undefined) {
    throw new UsageError('--digest 需要 --hash / --digest needs --hash')
  }
  const expectedHash = options.hash === undefined ? undefined : hashOption(options.hash)
  const trusted = options.ca && options.ca.length > 0 ? certificatesFromFiles(options.ca) : undefined
  if (options.untrusted?.length && !trusted) {
    throw new UsageError('--untrusted 需要 --ca / --untrusted needs --ca (the trusted end of the chain)')
  }
  if (trusted && !options.chain) {
    throw new UsageError('--ca 与 --no-chain 不能同时使用 / --ca and --no-chain exclude each other')
  }
  const loaded = loadToken(readInput(tokenPath, '时间戳 / timestamp token'), tokenPath)
  if ('rejected' in loaded) {
    const { status, failInfo, text } = loaded.rejected
    const line = `时间戳请求被拒绝，文件中没有令牌 / the response is a rejection (${status}${failInfo.length ? `: ${failInfo.join(', ')}` : ''}${text.length ? `; ${text.join('; ')}` : ''}), it holds no token`
    process.stdout.write(
      options.json ? `${JSON.stringify({ valid: false, rejected: loaded.rejected }, null, 2)}\n` : `${line}\n`,
    )
    process.exitCode = EXIT_INVALID
    return
  }
  // The data is hashed with the token's algorithm unless --hash says which one it must be.
  const hashAlgorithm = expectedHash ?? loaded.tstInfo.hashAlgorithm
  const imprint =
    options.digest !== undefined
      ? hexOption(options.digest, '--digest')
      : hashData(hashAlgorithm, readInput(options.data!, '数据 / data'))
  const verified = await verifyTimeStampToken(loaded.token, { imprint, hashAlgorithm: expectedHash })
  // The library's own trust check only knows direct issuance; the chain is validated here instead.
  let result: TimeStampVerification = verified
  if (trusted) {
    const untrusted = certificatesFromFiles(options.untrusted ?? [])
    const at = (verified.tstInfo ?? loaded.tstInfo).genTime
    const chain = await checkTsaChain(verified.tsaCertificate, loaded.token, trusted, untrusted, at)
    const checks = verified.checks.map((c) => (c.name === 'trust' ? chain : c))
    result = { ...verified, checks, valid: checks.every((c) => c.status !== 'failed') }
  }
  // Without trust anchors the signature only proves that *someone* holding the certificate in the token signed it.
  const chainChecked = trusted !== undefined
  const valid = result.valid && (chainChecked || !options.chain)
  const tsa = result.tsaCertificate ? subjectOf(result.tsaCertificate) : undefined

  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          valid,
          chainChecked,
          checks: result.checks,
          tstInfo: tstInfoJson(result.tstInfo ?? loaded.tstInfo),
          ...(tsa && { tsa }),
        },
        null,
        2,
      )}\n`,
    )
  } else {
    const lines = [
      ...describeToken(result.tstInfo ?? loaded.tstInfo),
      ...(tsa ? [`TSA: ${tsa.subject} (${tsa.serial})`] : []),
      '检查 / checks:',
      ...describeChecks(result.checks),
    ]
    if (!chainChecked) {
      lines.push(
        options.chain
          ? '未检查证书链：请用 --ca 给出信任的 CA 证书，或用 --no-chain 明确跳过 / the chain was NOT checked: give the trusted CA certificate(s) with --ca, or skip it explicitly with --no-chain'
          : '注意：按 --no-chain 未检查证书链 / note: the chain was not checked (--no-chain)',
      )
    }
    lines.push(valid ? '时间戳有效 / timestamp valid' : '时间戳无效 / timestamp INVALID')
    process.stdout.write(`${lines.join('\n')}\n`)
  }
  if (!valid) process.exitCode = EXIT_INVALID
}

function subjectOf(certificate: Uint8Array): { subject: string; serial: string } | undefined {
  try {
    const nodeCrypto = globalThis.process.getBuiltinModule('node:crypto')
    const x509 = new nodeCrypto.X509Certificate(certificate)
    return { subject: x509.subject.replace(/\n/g, ', '), serial: x509.serialNumber.toLowerCase() }
  } catch {
    // SM2 certificates that this OpenSSL build cannot read: the checks above still name the problem.
    return undefined
  }
}

interface QueryOptions {
  url?: string
  hash: string
  out?: string
  policy?: string
  json?: boolean
}

function randomNonce(): bigint {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8))
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`) | 1n
}

/** `yiqian ts query`: asks a TSA for a token over a file, checks the answer echoes the request, saves it. */
async function queryAction(file: string, options: QueryOptions): Promise<void> {
  const hashAlgorithm = hashOption(options.hash)
  const url = options.url ?? process.env.YIQIAN_TSA_URL ?? DEFAULT_TSA_URL
  if (!/^https?:\/\//.test(url)) throw new UsageError('--url: 必须是 http(s) 地址 / must be an http(s) URL')
  const imprint = hashData(hashAlgorithm, readInput(file, '数据 / data'))
  const nonce = randomNonce()
  let request: Uint8Array
  try {
    request = buildTimeStampReq({ imprint, hashAlgorithm, nonce, certReq: true, policy: options.policy })
  } catch (error) {
    if (isPkiError(error)) throw new UsageError(`--hash ${options.hash}: ${error.message}`)
    throw error
  }
  let body: Uint8Array
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: request,
      signal: AbortSignal.timeout(30_000),
    })
    body = new Uint8Array(await response.arrayBuffer())
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}: ${new TextDecoder().decode(body.subarray(0, 300))}`)
    }
  } catch (error) {
    process.stderr.write(`无法取得时间戳 / cannot get a timestamp from ${url}: ${(error as Error).message}\n`)
    process.exitCode = EXIT_INVALID
    return
  }
  const loaded = loadToken(body, url)
  if ('rejected' in loaded) {
    const { status, failInfo, text } = loaded.rejected
    process.stdout.write(
      `时间戳服务拒绝 / the TSA refused: ${status}${failInfo.length ? ` (${failInfo.join(', ')})` : ''}${text.length ? `: ${text.join('; ')}` : ''}\n`,
    )
    process.exitCode = EXIT_INVALID
    return
  }
  // The echo check (imprint, nonce, signature); the chain is for `ts verify --ca`.
  const result = await verifyTimeStampToken(loaded.token, { imprint, hashAlgorithm, nonce })
  if (options.out) writeOutput(options.out, body)
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ valid: result.valid, checks: result.checks, tstInfo: tstInfoJson(loaded.tstInfo) }, null, 2)}\n`,
    )
  } else {
    process.stdout.write(
      `${[
        ...describeToken(loaded.tstInfo),
        '检查 / checks:',
        ...describeChecks(result.checks),
        result.valid
          ? `已取得时间戳 / timestamp received${options.out ? ` → ${options.out}` : ''}`
          : '响应与请求不符或签名无效 / the reply does not match the request or its signature is invalid',
      ].join('\n')}\n`,
    )
  }
  if (!result.valid) process.exitCode = EXIT_INVALID
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `yiqian ts …`: RFC 3161 timestamps from the command line. */
export function tsCommand(program: Command): void {
  const ts = program.command('ts').description('RFC 3161 时间戳 / RFC 3161 timestamps')

  ts.command('verify')
    .description(
      '离线验证时间戳（.tsr 响应或 .tst 令牌，DER、PEM 或 base64）；退出码 0 有效，1 无效，2 用法错误 / ' +
        'verify a timestamp offline (a .tsr response or .tst token; DER, PEM or base64); exit 0 valid, 1 invalid, ' +
        '2 usage error. Without --ca the chain is not checked and the result is invalid unless --no-chain is given',
    )
    .argument('<token-file>', '时间戳文件 / timestamp file')
    .option('--data <file>', '被盖时间戳的数据 / the timestamped data')
    .option('--digest <hex>', '数据的摘要（代替 --data）/ the data’s hash instead of --data')
    .option('--hash <algorithm>', '摘要算法 / hash algorithm: sha256 | sm3 | sha384 | sha512')
    .option(
      '--ca <file>',
      '信任的 CA 证书（PEM/DER，可重复），按 RFC 5280 验证到其中之一 / trusted CA certificate(s), PEM or DER, ' +
        'repeatable; the TSA certificate is validated (RFC 5280, timeStamping, at genTime) up to one of them',
      collect,
    )
    .option(
      '--untrusted <file>',
      '中间 CA 证书（不作为信任锚，可重复）/ intermediate CA certificate(s), not trusted themselves (repeatable)',
      collect,
    )
    .option('--no-chain', '不检查证书链（仅检查签名与摘要）/ do not check the chain (signature and imprint only)')
    .option('--json', '输出 JSON 报告 / print the report as JSON')
    .action(verifyAction)

  ts.command('query')
    .description(
      '向时间戳服务申请时间戳 / request a timestamp over a file from a TSA; exit 0 received, 1 refused or invalid, ' +
        '2 usage error',
    )
    .argument('<file>', '数据文件 / data file')
    .option('--url <url>', `时间戳服务地址 / TSA URL (default $YIQIAN_TSA_URL or ${DEFAULT_TSA_URL})`)
    .option('--hash <algorithm>', '摘要算法 / hash algorithm: sha256 | sm3', 'sm3')
    .option('--policy <oid>', '请求的策略 OID / requested policy OID')
    .option('--out <file>', '保存响应（.tsr）/ save the response (.tsr)')
    .option('--json', '输出 JSON / print JSON')
    .action(queryAction)
}
