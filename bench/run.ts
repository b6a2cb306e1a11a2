/**
 * `npm run bench [-- gm|pki|platform|ca|tsa] [--quick]`: figures, never pass/fail. Each operation is measured several times
 * and the median printed beside the OpenSSL reference measured in the same run, where OpenSSL does the same work.
 */
import { auditBench } from './audit.js'
import { caRows } from './ca.js'
import { gmRows } from './gm.js'
import { httpBench } from './http.js'
import { opensslVersion } from './openssl.js'
import { pkiRows } from './pki.js'
import { printTable, type Row } from './table.js'
import { tsaRows } from './tsa.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args.find((a) => !a.startsWith('--'))
const runs = quick ? 3 : 5

async function platformRows(): Promise<Row[]> {
  const rows: Row[] = []
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
  rows.push(
    await httpBench('/api/v1/auth/session', {
      connections: 50,
      seconds: quick ? 1 : 3,
      runs: quick ? 2 : 3,
      signedIn: true,
    }),
  )
  return rows
}

const started = performance.now()
const rows: Row[] = []
if (!only || only === 'gm') rows.push(...gmRows(runs, quick ? 0.5 : 1))
if (!only || only === 'pki') rows.push(...(await pkiRows(runs, quick ? 0.5 : 1)))
if (!only || only === 'platform') rows.push(...(await platformRows()))
if (!only || only === 'ca') {
  rows.push(
    ...(await caRows({
      runs,
      certificates: quick ? 100 : 300,
      seconds: quick ? 1 : 3,
      dialects: ['sqlite', 'postgres'],
    })),
  )
}
if (!only || only === 'tsa') {
  rows.push(...(await tsaRows({ runs: quick ? 2 : 3, seconds: quick ? 2 : 5, dialects: ['sqlite', 'postgres'] })))
}
console.log(
  `\nYiqian benchmarks — Node ${process.version}, ${opensslVersion()}, ${runs} runs each, median, one thread, wall clock (openssl speed -elapsed)\n`,
)
printTable(rows)
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s, ${new Date().toISOString()})`)
