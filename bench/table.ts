export interface Row {
  readonly operation: string
  readonly opsPerSecond: number
  readonly p50Ms?: number
  readonly p99Ms?: number
  readonly reference?: { readonly label: string; readonly opsPerSecond: number }
  /** The figure the issue asks for, as a ratio to the reference (0.9 = 90 %) or an absolute ops/s. */
  readonly target?: { readonly ratio?: number; readonly opsPerSecond?: number }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Operations per second of `fn` (wall clock), run for about `seconds` in small batches. Wall clock, not process
 * CPU time: V8's background compiler and GC threads would be charged to the operation. OpenSSL is run with
 * `-elapsed` to match; on a busy machine both suffer alike, which is why the ratio is the figure to quote.
 */
export function rate(fn: () => void, seconds: number): number {
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    now = performance.now()
  }
  return n / ((now - start) / 1000)
}

function format(n: number | undefined, digits = 0): string {
  return n === undefined
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

function verdict(row: Row): string {
  if (!row.target) return ''
  if (row.target.ratio !== undefined && row.reference) {
    const ok = row.opsPerSecond / row.reference.opsPerSecond >= row.target.ratio
    return `${ok ? 'meets' : 'BELOW'} ≥${Math.round(row.target.ratio * 100)}%`
  }
  if (row.target.opsPerSecond !== undefined) {
    return `${row.opsPerSecond >= row.target.opsPerSecond ? 'meets' : 'BELOW'} ≥${format(row.target.opsPerSecond)}/s`
  }
  return ''
}

export function printTable(rows: readonly Row[]): void {
  const header = [
    'operation',
    'ops/s (median)',
    'p50 ms',
    'p99 ms',
    'OpenSSL reference',
    'ref ops/s',
    'ratio',
    'target',
  ]
  const table = rows.map((r) => [
    r.operation,
    format(r.opsPerSecond),
    format(r.p50Ms, 2),
    format(r.p99Ms, 2),
    r.reference?.label ?? '—',
    format(r.reference?.opsPerSecond),
    r.reference ? `${(r.opsPerSecond / r.reference.opsPerSecond).toFixed(2)}×` : '—',
    verdict(r),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of table) console.log(line(row))
}
