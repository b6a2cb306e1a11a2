/**
 * `npm run bench`: figures, never pass/fail. Each operation is measured several times and the median is
 * printed beside the OpenSSL reference measured in the same run (where OpenSSL does the same work).
 * Arguments: --quick (fewer, shorter runs).
 */
import { execFileSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { sm3 } from '@yiqian/gm'
import { auditBench } from './audit.js'
import { httpBench } from './http.js'

const quick = process.argv.includes('--quick')
const runs = quick ? 3 : 5

/** Hashes of `size`-byte messages per second over `seconds`. */
function sm3Bench(size: number, seconds: number): number {
  const data = new Uint8Array(size).fill(0x61)
  let n = 0
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) sm3(data)
    n += 64
  }
  return n / seconds
}

export interface Row {
  readonly operation: string
  readonly opsPerSecond: number
  readonly p50Ms?: number
  readonly p99Ms?: number
  readonly reference?: { readonly label: string; readonly opsPerSecond: number }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** `openssl speed -evp <alg> -bytes <n>`: blocks per second. */
function opensslSpeed(alg: string, bytes: number, seconds: number): number {
  const out = execFileSync(
    'openssl',
    ['speed', '-mr', '-evp', alg, '-bytes', String(bytes), '-seconds', String(seconds)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
  // -mr prints "+F:<n>:<alg>:<bytes per second>" for the block size asked for.
  const match = /^\+F:\d+:[^:]+:([\d.]+)$/m.exec(out)
  if (!match) throw new Error(`cannot read openssl speed output:\n${out}`)
  return Number(match[1]) / bytes
}

function format(n: number | undefined, digits = 0): string {
  return n === undefined
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

async function main(): Promise<void> {
  const started = performance.now()
  const rows: Row[] = []
  const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim()

  for (const size of [1024, 16384]) {
    const ours = median(Array.from({ length: runs }, () => sm3Bench(size, quick ? 0.3 : 1)))
    const reference = median(Array.from({ length: runs }, () => opensslSpeed('sm3', size, 1)))
    rows.push({
      operation: `SM3 ${size} B (@yiqian/gm)`,
      opsPerSecond: ours,
      reference: { label: 'openssl speed -evp sm3', opsPerSecond: reference },
    })
  }

  for (const dialect of ['sqlite', 'postgres'] as const) {
    try {
      rows.push(await auditBench(dialect, runs, quick ? 300 : 2000))
    } catch (error) {
      process.stderr.write(`audit on ${dialect} skipped: ${(error as Error).message}\n`)
    }
  }

  for (const path of ['/healthz', '/readyz']) {
    rows.push(await httpBench(path, { connections: 50, seconds: quick ? 1 : 3, runs: quick ? 2 : 3 }))
  }

  const header = ['operation', 'ops/s (median)', 'p50 ms', 'p99 ms', 'OpenSSL reference', 'ref ops/s', 'ratio']
  const table = rows.map((r) => [
    r.operation,
    format(r.opsPerSecond),
    format(r.p50Ms, 2),
    format(r.p99Ms, 2),
    r.reference?.label ?? '—',
    format(r.reference?.opsPerSecond),
    r.reference ? `${(r.opsPerSecond / r.reference.opsPerSecond).toFixed(2)}×` : '—',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(`\nYiqian benchmarks — Node ${process.version}, ${version}, ${runs} runs each, median\n`)
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of table) console.log(line(row))
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s, ${new Date().toISOString()})`)
}

await main()
