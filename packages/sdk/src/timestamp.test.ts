import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from '@yiqian/gm'
import {
  buildTimeStampResp,
  buildTstInfo,
  digest,
  parseTimeStampReq,
  readTimeStampToken,
  signTimeStampToken,
  verifyTimeStampToken,
} from '@yiqian/pki'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createClient,
  encodeTimestampRequest,
  ProblemError,
  readTimestampResponse,
  readTimestampToken,
  signRequest,
  TimestampError,
} from './index.js'

// The SDK's timestamp helpers against a LOCAL STAND-IN for the server: a small node:http handler that answers
// POST /tsa with real tokens signed here (ECDSA P-256 and SM2 TSA certificates made by OpenSSL) and POST
// /api/v1/tsa/verify with @yiqian/pki's verifier. It tests the client's side of the contract, not the server.
const dir = mkdtempSync(join(tmpdir(), 'yiqian-sdk-ts-'))
const sh = (script: string) =>
  execFileSync('sh', ['-ec', script], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const POLICY = '1.2.156.112233.1.1'
const report = new TextEncoder().encode('检验报告 lab report: 血红蛋白 135 g/L\n')

interface Tsa {
  keyPem: string
  certDer: Uint8Array
}
let ecTsa: Tsa
let sm2Tsa: Tsa

/** What the stand-in does with the next /tsa request. */
let behaviour: 'sign' | 'wrong-nonce' | 'wrong-imprint' | 'reject' | 'wrong-type' | 'problem' = 'sign'
let tsa: 'ec' | 'sm2' = 'sm2'
let lastRequest: { headers: IncomingMessage['headers']; body: Uint8Array; path: string } | undefined
let server: Server
let baseUrl = ''

async function answerTsa(body: Uint8Array, res: ServerResponse): Promise<void> {
  if (behaviour === 'problem') {
    res.writeHead(415, { 'content-type': 'application/problem+json' }).end(
      JSON.stringify({
        type: 'about:blank',
        title: 'Unsupported media type',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      }),
    )
    return
  }
  if (behaviour === 'reject') {
    const reply = buildTimeStampResp({
      status: 'rejection',
      failInfo: ['timeNotAvailable'],
      statusStrings: ['时间未同步 / time not synchronised'],
    })
    res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(reply)
    return
  }
  const req = parseTimeStampReq(body)
  const signer = tsa === 'ec' ? ecTsa : sm2Tsa
  const tstInfo = buildTstInfo({
    policy: req.policy ?? POLICY,
    imprint: behaviour === 'wrong-imprint' ? new Uint8Array(req.imprint.length).fill(7) : req.imprint,
    hashAlgorithm: req.hashAlgorithm,
    serialNumber: 0x00c0ffee_0000_0001n,
    nonce: behaviour === 'wrong-nonce' && req.nonce ? req.nonce + 1n : req.nonce,
    accuracy: { seconds: 1, millis: 500 },
  })
  const token = await signTimeStampToken({
    tstInfo,
    signer: createSigner(signer.keyPem),
    certificate: signer.certDer,
  })
  const type = behaviour === 'wrong-type' ? 'text/html' : 'application/timestamp-reply'
  res.writeHead(200, { 'content-type': type }).end(buildTimeStampResp({ status: 'granted', token }))
}

async function answerVerify(body: Uint8Array, res: ServerResponse): Promise<void> {
  const json = JSON.parse(new TextDecoder().decode(body)) as { token: string; data?: string; imprint?: string }
  const token = new Uint8Array(Buffer.from(json.token, 'base64'))
  const info = readTimeStampToken(token)
  const imprint = json.data
    ? digest(info.hashAlgorithm as 'SM3' | 'SHA-256', new Uint8Array(Buffer.from(json.data, 'base64')))
    : new Uint8Array(Buffer.from(json.imprint ?? '', 'hex'))
  const result = await verifyTimeStampToken(token, { imprint, trusted: [ecTsa.certDer, sm2Tsa.certDer] })
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      valid: result.valid,
      checks: result.checks,
      tstInfo: { serial: info.serialNumber.toString(16), genTime: info.genTime, policy: info.policy },
    }),
  )
}

beforeAll(async () => {
  const ext = '-addext "extendedKeyUsage=critical,timeStamping" -addext "basicConstraints=critical,CA:FALSE"'
  sh(
    [
      `openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.pem -subj /CN=ec-tsa -days 30 ${ext}`,
      'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.key',
      `openssl req -x509 -new -key sm2.key -sm3 -sigopt distid:1234567812345678 -out sm2.pem -subj /CN=sm2-tsa -days 30 ${ext}`,
    ].join('\n'),
  )
  const load = (name: string): Tsa => ({
    keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certDer: new Uint8Array(
      Buffer.from(
        readFileSync(join(dir, `${name}.pem`), 'utf8')
          .replace(/-----[^-]+-----/g, '')
          .replace(/\s+/g, ''),
        'base64',
      ),
    ),
  })
  ecTsa = load('ec')
  sm2Tsa = load('sm2')
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks))
      lastRequest = { headers: req.headers, body, path: req.url ?? '' }
      const handler = req.url === '/tsa' ? answerTsa : req.url === '/api/v1/tsa/verify' ? answerVerify : undefined
      if (!handler) return void res.writeHead(404).end()
      handler(body, res).catch((error: unknown) => res.writeHead(500).end(String(error)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
})

describe('timestamp request encoding (checked by @yiqian/pki and OpenSSL)', () => {
  it.each(['sm3', 'sha256'] as const)('encodes a %s request that both parsers read back', (hash) => {
    const imprint = digest(hash === 'sm3' ? 'SM3' : 'SHA-256', report)
    const der = encodeTimestampRequest({ hashAlgorithm: hash, imprint, nonce: 0x80f1n, certReq: true, policy: POLICY })
    expect(parseTimeStampReq(der)).toMatchObject({
      hashAlgorithm: hash === 'sm3' ? 'SM3' : 'SHA-256',
      imprint,
      nonce: 0x80f1n,
      certReq: true,
      policy: POLICY,
    })
    writeFileSync(join(dir, `req-${hash}.der`), der)
    const text = sh(`openssl ts -query -in req-${hash}.der -text`)
    expect(text).toMatch(/Certificate required: yes/)
    expect(text).toMatch(/Nonce: 0x80F1/)
    expect(text).toContain(`Policy OID: ${POLICY}`)
    if (hash === 'sha256') expect(text).toMatch(/Hash Algorithm: sha256/)
  })

  it('refuses a digest whose length does not fit its hash', () => {
    expect(() => encodeTimestampRequest({ hashAlgorithm: 'sha384', imprint: new Uint8Array(32) })).toThrow(/48 bytes/)
  })
})

describe('client.timestamp / verifyTimestamp (against the local stand-in)', () => {
  it('stamps data with SM3 by default and reads the TSTInfo as @yiqian/pki does', async () => {
    behaviour = 'sign'
    tsa = 'sm2'
    const client = createClient({ baseUrl })
    const stamp = await client.timestamp(report)
    expect(lastRequest?.headers['content-type']).toBe('application/timestamp-query')
    const sent = parseTimeStampReq(lastRequest!.body)
    expect(sent).toMatchObject({ hashAlgorithm: 'SM3', certReq: true, imprint: digest('SM3', report) })
    expect(typeof sent.nonce).toBe('bigint')

    const theirs = readTimeStampToken(stamp.token)
    expect(stamp.tstInfo).toMatchObject({
      policy: theirs.policy,
      hashAlgorithm: 'sm3',
      imprint: theirs.imprint,
      serialNumber: theirs.serialNumber.toString(16),
      genTime: theirs.genTime,
      nonce: sent.nonce,
      accuracyMs: 1500,
    })
    expect(readTimestampResponse(stamp.response).token).toEqual(stamp.token)
    // The token is the real thing: it verifies with the SM2 TSA certificate.
    const check = await verifyTimeStampToken(stamp.token, { imprint: digest('SM3', report), trusted: [sm2Tsa.certDer] })
    expect(check.valid).toBe(true)
  })

  it('stamps a SHA-256 digest given as hex, with a policy, from an ECDSA TSA', async () => {
    tsa = 'ec'
    const hex = Buffer.from(digest('SHA-256', report)).toString('hex')
    const stamp = await createClient({ baseUrl }).timestamp(
      { digest: hex, hashAlgorithm: 'sha256' },
      { policy: '1.2.156.112233.1.2', nonce: 42n },
    )
    expect(stamp.tstInfo).toMatchObject({ hashAlgorithm: 'sha256', policy: '1.2.156.112233.1.2', nonce: 42n })
    tsa = 'sm2'
  })

  it('signs the binary request body when the client has credentials', async () => {
    const credentials = { appId: 'ys_test', secret: 'x'.repeat(43) }
    await createClient({ baseUrl, credentials }).timestamp(report)
    const h = lastRequest!.headers
    const expected = signRequest({
      ...credentials,
      method: 'POST',
      path: '/tsa',
      body: lastRequest!.body,
      now: new Date(Number(h['x-yiqian-timestamp'])),
      nonce: String(h['x-yiqian-nonce']),
    })
    expect(h['x-yiqian-signature']).toBe(expected['X-Yiqian-Signature'])
  })

  it.each([
    ['wrong-nonce', 'TSA_REPLY_MISMATCH', /nonce/],
    ['wrong-imprint', 'TSA_REPLY_MISMATCH', /digest/],
    ['reject', 'TSA_REJECTED', /timeNotAvailable/],
    ['wrong-type', 'TSA_REPLY_MALFORMED', /text\/html/],
  ] as const)('throws TimestampError when the stand-in answers %s', async (mode, code, message) => {
    behaviour = mode
    const error = await createClient({ baseUrl })
      .timestamp(report)
      .catch((e: unknown) => e)
    behaviour = 'sign'
    expect(error).toBeInstanceOf(TimestampError)
    expect((error as TimestampError).code).toBe(code)
    expect((error as TimestampError).message).toMatch(message)
    if (mode === 'reject') {
      expect((error as TimestampError).rejection).toEqual({
        status: 'rejection',
        failInfo: ['timeNotAvailable'],
        text: ['时间未同步 / time not synchronised'],
      })
    }
  })

  it('turns an HTTP problem into a ProblemError', async () => {
    behaviour = 'problem'
    const error = await createClient({ baseUrl })
      .timestamp(report)
      .catch((e: unknown) => e)
    behaviour = 'sign'
    expect(error).toBeInstanceOf(ProblemError)
    expect((error as ProblemError).code).toBe('UNSUPPORTED_MEDIA_TYPE')
  })

  it('verifyTimestamp posts the token and data as base64 and returns the server verdict', async () => {
    const client = createClient({ baseUrl })
    const stamp = await client.timestamp(report)
    const good = await client.verifyTimestamp(stamp.token, { data: report })
    const sent = JSON.parse(new TextDecoder().decode(lastRequest!.body)) as Record<string, string>
    expect(lastRequest?.headers['content-type']).toBe('application/json')
    expect(sent).toEqual({
      token: Buffer.from(stamp.token).toString('base64'),
      data: Buffer.from(report).toString('base64'),
    })
    expect(good.valid).toBe(true)
    const bad = await client.verifyTimestamp(stamp.token, { data: 'another report' })
    expect(bad.valid).toBe(false)
    expect(bad.checks.find((c) => c.name === 'imprint')?.status).toBe('failed')

    await client.verifyTimestamp(stamp.token, { digest: digest('SM3', report), hashAlgorithm: 'sm3' })
    expect(JSON.parse(new TextDecoder().decode(lastRequest!.body))).toMatchObject({
      imprint: Buffer.from(digest('SM3', report)).toString('hex'),
      hashAlgorithm: 'SM3',
    })
  })
})

describe('timestamp reply reading, hostile input', () => {
  it('answers every mutation of a reply with a TimestampError or a parsed reply, never another error', async () => {
    behaviour = 'sign'
    const { response } = await createClient({ baseUrl }).timestamp(report)
    // xorshift32, seeded: a failure can be replayed.
    let x = 0x7153a
    const random = () => {
      x ^= x << 13
      x >>>= 0
      x ^= x >>> 17
      x ^= x << 5
      x >>>= 0
      return x / 0x100000000
    }
    let rejected = 0
    for (let i = 0; i < 3000; i++) {
      const m = response.slice(0, random() < 0.1 ? Math.floor(random() * response.length) : response.length)
      if (m.length > 0) m[Math.floor(random() * m.length)]! ^= 1 << Math.floor(random() * 8)
      try {
        readTimestampToken(readTimestampResponse(m).token)
      } catch (error) {
        if (!(error instanceof TimestampError)) throw new Error(`case ${i}: ${String(error)}`)
        rejected++
      }
    }
    expect(rejected).toBeGreaterThan(100)
  })
})
