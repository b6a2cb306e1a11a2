import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, type Row } from './table.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=yiqian-source', '--import', 'tsx', 'packages/cli/src/main.ts', 'serve'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        YIQIAN_DATA: dataDir,
        YIQIAN_PORT: '0',
        YIQIAN_HOST: '127.0.0.1',
        YIQIAN_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      stderr += d
      const m = /started: (http:\/\/\S+)/.exec(stderr)
      if (m?.[1]) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)))
  })
  return { child, url }
}

/** `connections` keep-alive clients, each sending its next request as soon as the last is answered. */
async function load(url: string, connections: number, seconds: number): Promise<{ ops: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t = performance.now()
      request(url, { agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`))
          latencies.push(performance.now() - t)
          resolve()
        })
      })
        .on('error', reject)
        .end()
    })
  const worker = async () => {
    while (performance.now() < end) await one()
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: connections }, worker))
  const elapsed = (performance.now() - start) / 1000
  agent.destroy()
  return { ops: latencies.length / elapsed, latencies }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** The real `yiqian serve` process on SQLite, loaded over loopback from this process. */
export async function httpBench(
  path: string,
  { connections, seconds, runs }: { connections: number; seconds: number; runs: number },
): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'yiqian-bench-'))
  const { child, url } = await startServer(dataDir)
  try {
    await load(`${url}${path}`, connections, 0.5) // warm-up
    const results = []
    for (let i = 0; i < runs; i++) results.push(await load(`${url}${path}`, connections, seconds))
    const all = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
    return {
      operation: `HTTP GET ${path}, ${connections} connections (SQLite)`,
      opsPerSecond: median(results.map((r) => r.ops)),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}
