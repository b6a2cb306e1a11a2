import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ActorContext, CaService, CertificateAuthority, IssueCertificateInput } from '@yiqian/core'
import { systemClock } from '@yiqian/core'
import { generateSm2KeyPair, sm2PublicKeyToSpki } from '@yiqian/gm'
import { buildOcspRequest, parseOcspResponse } from '@yiqian/pki'
import { caOf, createTestApp, type TestApp } from '@yiqian/server/testing'
import { type DialectName, openStorage, repositoriesOf } from '@yiqian/storage'
import { createTestDatabase } from '@yiqian/storage/testing'
import { finish, startServer, yiqian } from '../test/e2e/harness.js'
import { postLoad as httpPostLoad } from './http.js'
import { opensslSm2Speed } from './openssl.js'
import { median, type Row } from './table.js'

const ACTOR: ActorContext = { actor: 'user:bench-officer', actorRole: 'ra-officer', source: '127.0.0.1', requestId: '' }
const ISSUANCE_TARGET = 500
const OCSP_TARGET = 2000

export interface CaBenchOptions {
  readonly runs: number
  /** Certificates issued per run and way of issuing. */
  readonly certificates: number
  /** Seconds per OCSP run. */
  readonly seconds: number
  readonly dialects: readonly DialectName[]
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Fresh SM2 subject keys (SubjectPublicKeyInfo), made before anything is timed. */
function subjectKeys(count: number): Uint8Array[] {
  return Array.from({ length: count }, () => sm2PublicKeyToSpki(generateSm2KeyPair().publicKey))
}

/** A staff signing certificate request as the RA sends it (profile `staff-sign`). */
function staffRequest(caId: string, publicKey: Uint8Array, n: number): IssueCertificateInput {
  const employee = `E${String(n).padStart(6, '0')}`
  return {
    caId,
    profileId: 'staff-sign',
    subject: { C: 'CN', O: '某某省人民医院', OU: '心内科', CN: `王医生${n}`, serialNumber: employee },
    subjectAltName: { email: [`doctor${n}@hospital.example`] },
    idCardNumber: '11010519491231002X',
    publicKey,
    staffId: `staff-${employee}`,
    holderActor: `user:${employee}`,
  }
}

interface Sample {
  readonly rate: number
  readonly latencies: number[]
  /**
   * Process CPU time (user + system, all threads) per operation in ms: steadier than wall-clock rates on a shared,
   * loaded machine. For the HTTP rows it includes the load generator, which runs in the same process.
   */
  readonly cpuMs: number
  /** For a separate server process: its CPU ms per operation. */
  readonly serverCpuMs?: number
}

/** Starts a CPU clock; the returned function gives the CPU ms spent since, per `count` operations. */
function cpuClock(): (count: number) => number {
  const start = process.cpuUsage()
  return (count) => {
    const used = process.cpuUsage(start)
    return (used.user + used.system) / 1000 / Math.max(1, count)
  }
}

function rowOf(operation: string, samples: readonly Sample[], target: number): Row {
  const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b)
  const cpu = median(samples.map((s) => s.cpuMs))
  return {
    operation: `${operation} [CPU ${cpu.toFixed(2)} ms/op]`,
    opsPerSecond: median(samples.map((s) => s.rate)),
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    target: { opsPerSecond: target },
  }
}

/** `count` calls of `one(i)` with at most `concurrency` in flight; the latency of each call. */
async function pool(count: number, concurrency: number, one: (i: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const t = performance.now()
      await one(i)
      latencies.push(performance.now() - t)
    }
  }
  const start = performance.now()
  const cpu = cpuClock()
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { rate: count / ((performance.now() - start) / 1000), latencies, cpuMs: cpu(count) }
}

/**
 * The bulk-approval shape: one signer loaded up front, then batches of `batch` issueWithin calls, each batch in one
 * unit of work (one transaction). The latency recorded per certificate is the batch's time divided by its size.
 */
async function batched(
  ca: CaService,
  testApp: TestApp,
  caId: string,
  keys: readonly Uint8Array[],
  offset: number,
  batch: number,
): Promise<Sample> {
  const latencies: number[] = []
  const start = performance.now()
  const cpu = cpuClock()
  const signer = await ca.signerFor(caId)
  for (let from = 0; from < keys.length; from += batch) {
    const t = performance.now()
    const size = Math.min(batch, keys.length - from)
    await testApp.services.uow.run(async (tx) => {
      for (let i = from; i < from + size; i++) {
        await ca.issueWithin(tx, staffRequest(caId, keys[i]!, offset + i), ACTOR, signer)
      }
    })
    const each = (performance.now() - t) / size
    for (let i = 0; i < size; i++) latencies.push(each)
  }
  return { rate: keys.length / ((performance.now() - start) / 1000), latencies, cpuMs: cpu(keys.length) }
}

/** OCSP requests POSTed by `connections` keep-alive clients for about `seconds`; every answer must be "successful". */
async function postLoad(
  url: string,
  bodies: readonly Uint8Array[],
  connections: number,
  seconds: number,
): Promise<Sample> {
  const cpu = cpuClock()
  const result = await httpPostLoad(url, bodies, {
    contentType: 'application/ocsp-request',
    connections,
    seconds,
    // A 200 with an OCSP error status (a 5-byte answer) would flatter the figure.
    accept: (status, answer) => status === 200 && answer.length >= 16,
  })
  const cpuMs = cpu(result.latencies.length)
  if (result.failures > 0) throw new Error(`${url}: ${result.failures} answers were not successful OCSP responses`)
  return { rate: result.latencies.length / result.seconds, latencies: result.latencies, cpuMs }
}

async function appWithCa(dialect: DialectName): Promise<{ testApp: TestApp; ca: CaService }> {
  const testApp = await createTestApp({ dialect, ca: true })
  return { testApp, ca: caOf(testApp) }
}

/** CPU ms (user + system) used so far by process `pid` and its direct children (the cluster's workers), from /proc. */
function processTreeCpuMs(pid: number): number {
  const ticks = 100 // USER_HZ on Linux
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command name (which may hold spaces) start at ") ": state ppid … utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
    const ppid = Number(fields[1])
    if (Number(entry) !== pid && ppid !== pid) continue
    total += ((Number(fields[11]) + Number(fields[12])) / ticks) * 1000
  }
  return total
}

/**
 * OCSP from the real `yiqian serve` process (SQLite, after `yiqian init --demo`), loaded over loopback from this
 * process with 50 keep-alive connections: the figure a relying party sees, without the load generator sharing the
 * server's event loop.
 */
export async function servedOcsp(
  seconds: number,
  runs: number,
  { dialect, workers, extraEnv }: { dialect: DialectName; workers: number; extraEnv?: NodeJS.ProcessEnv },
): Promise<Sample[]> {
  const db = await createTestDatabase(dialect)
  const dataDir = db.dataDir
  const env = {
    YIQIAN_DATA: dataDir,
    YIQIAN_LOG_LEVEL: 'warn',
    YIQIAN_WORKERS: String(workers),
    ...extraEnv,
    ...(db.databaseUrl && { DATABASE_URL: db.databaseUrl }),
  }
  try {
    const init = await finish(yiqian(['init', '--demo'], env))
    if (init.code !== 0) throw new Error(`yiqian init --demo failed: ${init.stderr}`)
    const demo = JSON.parse(readFileSync(join(dataDir, 'demo-phone-shares.json'), 'utf8')) as {
      staff: { certificateSerial: string }[]
    }
    const storage = openStorage({ databaseUrl: db.databaseUrl, dataDir })
    const { leaf, issuer } = await storage.db.transaction().execute(async (trx) => {
      const tx = repositoriesOf(trx, systemClock)
      const [found] = await tx.certificates.listBySerial(demo.staff[0]?.certificateSerial ?? '')
      return { leaf: found, issuer: found && (await tx.certificateAuthorities.find(found.issuerId)) }
    })
    await storage.close()
    if (!leaf || !issuer) throw new Error('no demo certificate')
    const requests = Array.from({ length: 256 }, () =>
      buildOcspRequest({ certificate: leaf.der, issuer: issuer.certificate, nonce: new Uint8Array(randomBytes(16)) }),
    )
    const server = await startServer(env)
    try {
      const url = `${server.url}/pki/ocsp`
      // Warm-up: every worker must see enough requests for the JIT and its own caches (signer, CA list) first.
      await postLoad(url, requests, 50, 1 + workers)
      const samples: Sample[] = []
      const pid = server.child.pid
      for (let run = 0; run < runs; run++) {
        const before = pid ? processTreeCpuMs(pid) : Number.NaN
        const sample = await postLoad(url, requests, 50, seconds)
        // The server's own CPU per answer (all its processes): what the answer costs, whatever else the box runs.
        const serverCpuMs = pid ? (processTreeCpuMs(pid) - before) / sample.latencies.length : Number.NaN
        samples.push({ ...sample, serverCpuMs })
      }
      return samples
    } finally {
      await server.stop()
    }
  } finally {
    await db.drop()
  }
}

async function dialectRows(dialect: DialectName, options: CaBenchOptions, sm2Sign: number[]): Promise<Row[]> {
  const { runs, certificates, seconds } = options
  const { testApp, ca } = await appWithCa(dialect)
  try {
    const { issuing } = await ca.createHierarchy(
      {
        algorithm: 'sm2',
        names: {
          root: { C: 'CN', O: '医签 Bench', CN: '医签 Bench SM2 Root' },
          issuing: { C: 'CN', O: '医签 Bench', CN: '医签 Bench SM2 Issuing CA' },
        },
      },
      ACTOR,
    )
    const warm = 20
    const keys = subjectKeys(warm + runs * certificates * 3)
    let used = 0
    const take = (count: number) => {
      const slice = keys.slice(used, used + count)
      used += count
      return { keys: slice, offset: used - count }
    }
    // Warm-up: the JIT, the key cache of the key store, the parsed CA certificate.
    {
      const w = take(warm)
      for (let i = 0; i < warm; i++)
        await ca.issueCertificate(staffRequest(issuing.id, w.keys[i]!, w.offset + i), ACTOR)
    }
    const sequential: Sample[] = []
    const concurrent: Sample[] = []
    const bulk: Sample[] = []
    for (let run = 0; run < runs; run++) {
      const a = take(certificates)
      sequential.push(
        await pool(certificates, 1, (i) =>
          ca.issueCertificate(staffRequest(issuing.id, a.keys[i]!, a.offset + i), ACTOR),
        ),
      )
      const b = take(certificates)
      concurrent.push(
        await pool(certificates, 8, (i) =>
          ca.issueCertificate(staffRequest(issuing.id, b.keys[i]!, b.offset + i), ACTOR),
        ),
      )
      const c = take(certificates)
      bulk.push(await batched(ca, testApp, issuing.id, c.keys, c.offset, 100))
      sm2Sign.push(opensslSm2Speed(1).sign)
    }

    // OCSP: a good staff certificate, asked about with a different nonce each time (as relying parties do).
    const good = await ca.issueCertificate(staffRequest(issuing.id, subjectKeys(1)[0]!, 999_999), ACTOR)
    const requests = Array.from({ length: 256 }, () =>
      buildOcspRequest({ certificate: good.der, issuer: issuing.certificate, nonce: new Uint8Array(randomBytes(16)) }),
    )
    await checkOcsp(ca, requests[0]!, issuing)
    const inProcess: Sample[] = []
    await timed(0.3, (i) => ca.respondOcsp(requests[i % requests.length]!)) // warm-up
    for (let run = 0; run < runs; run++) {
      inProcess.push(await timed(seconds, (i) => ca.respondOcsp(requests[i % requests.length]!)))
      sm2Sign.push(opensslSm2Speed(1).sign)
    }
    // Relying parties ask at the same time: 16 in flight, the database answering from its connection pool.
    const inProcessConcurrent: Sample[] = []
    const perRun = Math.max(500, Math.round(seconds * 2000))
    for (let run = 0; run < runs; run++) {
      inProcessConcurrent.push(await pool(perRun, 16, (i) => ca.respondOcsp(requests[i % requests.length]!)))
    }
    // under-pressure answers 503 while the mean event-loop delay of its last 1 s sample exceeds 1 s, and the
    // synchronous OpenSSL samples block the loop for seconds: let two samples pass, and take none while listening.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const overHttp: Sample[] = []
    await testApp.app.listen({ port: 0, host: '127.0.0.1' })
    const address = testApp.app.server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    const url = `http://127.0.0.1:${address.port}/pki/ocsp`
    await postLoad(url, requests, 50, 0.5) // warm-up
    for (let run = 0; run < runs; run++) overHttp.push(await postLoad(url, requests, 50, seconds))

    const db = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'
    return [
      rowOf(`CA issue staff-sign SM2, sequential issueCertificate (${db})`, sequential, ISSUANCE_TARGET),
      rowOf(`CA issue staff-sign SM2, 8 concurrent issueCertificate (${db})`, concurrent, ISSUANCE_TARGET),
      rowOf(`CA issue staff-sign SM2, issueWithin ×100 per unit of work (${db})`, bulk, ISSUANCE_TARGET),
      rowOf(`OCSP respondOcsp in process, good + nonce, SM2 responder (${db})`, inProcess, OCSP_TARGET),
      rowOf(`OCSP respondOcsp in process, 16 in flight, SM2 responder (${db})`, inProcessConcurrent, OCSP_TARGET),
      rowOf(`OCSP HTTP POST /pki/ocsp, 50 connections, SM2 responder (${db})`, overHttp, OCSP_TARGET),
    ]
  } finally {
    await testApp.close()
  }
}

/** Sequential calls of `fn(i)` for about `seconds`. */
async function timed(seconds: number, fn: (i: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = []
  const start = performance.now()
  const cpu = cpuClock()
  const end = start + seconds * 1000
  let i = 0
  let now = start
  while (now < end) {
    await fn(i++)
    const after = performance.now()
    latencies.push(after - now)
    now = after
  }
  return { rate: latencies.length / ((now - start) / 1000), latencies, cpuMs: cpu(latencies.length) }
}

/** The figures mean nothing unless the responder answers "good" and echoes the nonce. */
async function checkOcsp(ca: CaService, request: Uint8Array, issuing: CertificateAuthority): Promise<void> {
  const response = parseOcspResponse(await ca.respondOcsp(request))
  if (response.responseStatus !== 'successful' || response.responses[0]?.certStatus.status !== 'good') {
    throw new Error(`the OCSP responder of ${issuing.id} did not answer "good": ${response.responseStatus}`)
  }
  if (!response.nonce) throw new Error('the OCSP responder did not echo the nonce')
}

/**
 * The certificate authority on each database: issuance through CaService (one at a time, 8 at once, and in batches
 * of 100 per unit of work as a bulk approval runs) and OCSP answers (in process, and over HTTP with 50 connections).
 * The reference is `openssl speed sm2` signatures per second from the same run: each certificate and each OCSP answer
 * needs exactly one SM2 signature, so it is the upper bound, not a like-for-like figure (`openssl x509 -req` spawns
 * a process per certificate and would flatter us).
 */
export async function caRows(options: CaBenchOptions): Promise<Row[]> {
  const sm2Sign = [opensslSm2Speed(1).sign]
  const rows: Row[] = []
  for (const dialect of options.dialects) {
    try {
      rows.push(...(await dialectRows(dialect, options, sm2Sign)))
    } catch (error) {
      process.stderr.write(`CA on ${dialect} skipped: ${(error as Error).message}\n`)
    }
  }
  for (const served of [
    { dialect: 'sqlite', workers: 1 },
    { dialect: 'postgres', workers: 2 },
  ] as const) {
    if (!options.dialects.includes(served.dialect)) continue
    const db = served.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'
    try {
      const samples = await servedOcsp(options.seconds, options.runs, served)
      const row = rowOf(
        `OCSP HTTP POST /pki/ocsp to yiqian serve, ${served.workers} worker${served.workers > 1 ? 's' : ''}, 50 connections (${db})`,
        samples,
        OCSP_TARGET,
      )
      // The CPU measured here is the load generator's: the server is another process, measured from /proc.
      const serverCpu = median(samples.map((s) => s.serverCpuMs ?? Number.NaN))
      rows.push({
        ...row,
        operation: row.operation.replace('[CPU', `[server CPU ${serverCpu.toFixed(2)} ms/op, load generator CPU`),
      })
    } catch (error) {
      process.stderr.write(`OCSP against yiqian serve (${db}) skipped: ${(error as Error).message}\n`)
    }
  }
  // Every row quotes the same reference: the median of all the OpenSSL samples taken between our runs.
  const reference = { label: 'openssl speed sm2 sign (upper bound: 1 signature each)', opsPerSecond: median(sm2Sign) }
  return rows.map((row) => ({ ...row, reference }))
}
