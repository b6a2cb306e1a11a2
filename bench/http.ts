import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '../test/e2e/harness.js'
import { median, type Row } from './table.js'

export interface PostLoadResult {
  /** Per answered request, ms. */
  readonly latencies: number[]
  /** Answers `accept` refused, and requests that failed on the socket. */
  readonly failures: number
  readonly seconds: number
}

/**
 * `connections` keep-alive clients POSTing `bodies` (round robin) for about `seconds`, each sending its next request
 * as soon as the last is answered; every answer goes through `accept(status, body)`.
 */
export async function postLoad(
  url: string,
  bodies: readonly Uint8Array[],
  options: {
    contentType: string
    connections: number
    seconds: number
    accept: (status: number, body: Buffer) => boolean
  },
): Promise<PostLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  const latencies: number[] = []
  let failures = 0
  let n = 0
  const end = performance.now() + options.seconds * 1000
  const one = () =>
    new Promise<void>((resolve) => {
      const body = bodies[n++ % bodies.length]!
      const t = performance.now()
      const req = request(
        url,
        { agent, method: 'POST', headers: { 'content-type': options.contentType, 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            if (!options.accept(res.statusCode ?? 0, Buffer.concat(chunks))) failures++
            latencies.push(performance.now() - t)
            resolve()
          })
        },
      )
      req.on('error', () => {
        failures++
        resolve()
      })
      req.end(body)
    })
  const worker = async () => {
    while (performance.now() < end) await one()
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: options.connections }, worker))
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  return { latencies, failures, seconds }
}

/** `connections` keep-alive clients, each sending its next request as soon as the last is answered. */
async function load(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<{ ops: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t = performance.now()
      request(url, { agent, headers }, (res) => {
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

/**
 * Signs in as the bootstrap administrator with the credential file the first start wrote. The session stays at the
 * password-change stage, which the session route accepts: every request still goes through the whole access check
 * (cookie → session → account → access audit row in one transaction).
 */
async function signIn(url: string, dataDir: string): Promise<Record<string, string>> {
  const credential = readFileSync(join(dataDir, 'initial-admin-credential.txt'), 'utf8')
  const password = /^password: (\S+)$/m.exec(credential)?.[1]
  const response = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  })
  const cookie = response.headers.get('set-cookie')?.split(';')[0]
  if (response.status !== 200 || !cookie) throw new Error(`sign-in failed: ${response.status}`)
  return { cookie }
}

/** The real `yiqian serve` process on SQLite, loaded over loopback from this process. */
export async function httpBench(
  path: string,
  {
    connections,
    seconds,
    runs,
    signedIn = false,
  }: { connections: number; seconds: number; runs: number; signedIn?: boolean },
): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'yiqian-bench-'))
  // The same start-up as the end-to-end tests; warn level keeps per-request logging out of the figures.
  const server = await startServer({ YIQIAN_DATA: dataDir, YIQIAN_LOG_LEVEL: 'warn' })
  const { url } = server
  try {
    const headers = signedIn ? await signIn(url, dataDir) : {}
    await load(`${url}${path}`, connections, 0.5, headers) // warm-up
    const results = []
    for (let i = 0; i < runs; i++) results.push(await load(`${url}${path}`, connections, seconds, headers))
    const all = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
    return {
      operation: `HTTP GET ${path}${signedIn ? ' signed in (session + access audit)' : ''}, ${connections} connections (SQLite)`,
      opsPerSecond: median(results.map((r) => r.ops)),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
    }
  } finally {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
