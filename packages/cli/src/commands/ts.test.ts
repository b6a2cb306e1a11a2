import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from '@yiqian/gm'
import {
  buildTimeStampResp,
  buildTstInfo,
  digest,
  parseTimeStampReq,
  parseTimeStampResp,
  signTimeStampToken,
  verifyTimeStampToken,
} from '@yiqian/pki'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { run } from '../cli.js'

// `yiqian ts verify|query`, run in-process, on tokens signed here by TSA certificates that OpenSSL made:
// an ECDSA P-256 TSA issued by its own root, and a self-signed SM2 TSA (both with critical EKU timeStamping).
const dir = mkdtempSync(join(tmpdir(), 'yiqian-cli-ts-'))
const at = (name: string) => join(dir, name)
const sh = (script: string) => execFileSync('sh', ['-ec', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
const POLICY = '1.2.156.112233.1.1'
const data = new TextEncoder().encode('出院小结 discharge summary 2026-11-28\n')

let stdout = ''
let stderr = ''
afterEach(() => vi.restoreAllMocks())
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function yiqian(...args: string[]): Promise<number> {
  stdout = ''
  stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  const code = await run(args)
  vi.restoreAllMocks()
  return code
}

const pemToDer = (pem: string) =>
  new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'))

interface Tsa {
  readonly keyPem: string
  readonly certDer: Uint8Array
}
let ecTsa: Tsa
let sm2Tsa: Tsa

async function token(
  tsa: Tsa,
  imprint: Uint8Array,
  hashAlgorithm: 'SHA-256' | 'SM3',
  nonce?: bigint,
): Promise<Uint8Array> {
  const tstInfo = buildTstInfo({ policy: POLICY, imprint, hashAlgorithm, serialNumber: 0x5eed1234n, nonce })
  return signTimeStampToken({ tstInfo, signer: createSigner(tsa.keyPem), certificate: tsa.certDer })
}

beforeAll(async () => {
  writeFileSync(at('data'), data)
  writeFileSync(at('tampered'), new TextEncoder().encode('出院小结 discharge summary 2026-11-29\n'))
  writeFileSync(at('tsa.ext'), 'extendedKeyUsage=critical,timeStamping\nbasicConstraints=critical,CA:FALSE\n')
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
  sh(
    [
      `openssl req -x509 -new ${ec} -keyout root.key -out root.pem -subj /CN=test-root -days 30 -addext basicConstraints=critical,CA:TRUE`,
      `openssl req -x509 -new ${ec} -keyout other-root.key -out other-root.pem -subj /CN=test-root -days 30 -addext basicConstraints=critical,CA:TRUE`,
      `openssl req -new ${ec} -keyout tsa.key -out tsa.csr -subj /CN=ecdsa-tsa`,
      'openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile tsa.ext -out tsa.pem',
      'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2tsa.key',
      'openssl req -x509 -new -key sm2tsa.key -sm3 -sigopt distid:1234567812345678 -out sm2tsa.pem -subj /CN=sm2-tsa -days 30 -addext extendedKeyUsage=critical,timeStamping -addext basicConstraints=critical,CA:FALSE',
    ].join('\n'),
  )
  const load = (name: string): Tsa => ({
    keyPem: readFileSync(at(`${name}.key`), 'utf8'),
    certDer: pemToDer(readFileSync(at(`${name}.pem`), 'utf8')),
  })
  ecTsa = load('tsa')
  sm2Tsa = load('sm2tsa')

  // An ECDSA token over SHA-256(data) as a .tsr response, and an SM2 token over SM3(data) as a PEM .tst.
  const ecToken = await token(ecTsa, digest('SHA-256', data), 'SHA-256')
  writeFileSync(at('ec.tsr'), buildTimeStampResp({ status: 'granted', token: ecToken }))
  const sm2Token = await token(sm2Tsa, digest('SM3', data), 'SM3')
  writeFileSync(
    at('sm2.tst'),
    `-----BEGIN TIMESTAMP TOKEN-----\n${Buffer.from(sm2Token).toString('base64')}\n-----END TIMESTAMP TOKEN-----\n`,
  )
  writeFileSync(at('sm2.b64'), Buffer.from(sm2Token).toString('base64'))
  writeFileSync(at('sm2.der'), sm2Token)
  writeFileSync(
    at('rejected.tsr'),
    buildTimeStampResp({ status: 'rejection', failInfo: ['badAlg'], statusStrings: ['unknown hash'] }),
  )
  writeFileSync(at('garbage.tsr'), Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x07, 0x00, 0xff))
})

describe('yiqian ts verify', () => {
  it('accepts an ECDSA token (.tsr) over the data when the TSA chains to the given root (exit 0)', async () => {
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('data'), '--ca', at('root.pem'))).toBe(0)
    expect(stdout).toMatch(/时间戳有效 \/ timestamp valid\n$/)
    expect(stdout).toMatch(/\[通过 \/ passed\] 证书链 \/ chain of trust/)
    expect(stdout).toMatch(/\[通过 \/ passed\] 数据摘要 \/ message imprint/)
    expect(stdout).toContain(`策略 / policy: ${POLICY}`)
    expect(stdout).toContain('序列号 / serial: 5eed1234')
    expect(stdout).toMatch(/TSA: CN=ecdsa-tsa/)

    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('data'), '--ca', at('root.pem'), '--json')).toBe(0)
    const report = JSON.parse(stdout) as {
      valid: boolean
      chainChecked: boolean
      checks: { name: string; status: string }[]
      tstInfo: { hashAlgorithm: string; imprint: string; policy: string }
    }
    expect(report).toMatchObject({
      valid: true,
      chainChecked: true,
      tstInfo: { hashAlgorithm: 'SHA-256', policy: POLICY },
    })
    expect(report.tstInfo.imprint).toBe(Buffer.from(digest('SHA-256', data)).toString('hex'))
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['signature', 'trust', 'imprint']))
  })

  it('accepts an SM2 token in PEM, base64 or DER, by --data or by --digest with --hash sm3 (exit 0)', async () => {
    for (const file of ['sm2.tst', 'sm2.b64', 'sm2.der']) {
      expect(await yiqian('ts', 'verify', at(file), '--data', at('data'), '--ca', at('sm2tsa.pem'))).toBe(0)
    }
    const hex = Buffer.from(digest('SM3', data)).toString('hex')
    expect(
      await yiqian('ts', 'verify', at('sm2.tst'), '--digest', hex, '--hash', 'sm3', '--ca', at('sm2tsa.pem')),
    ).toBe(0)
    // The right digest announced as another algorithm is not accepted.
    expect(
      await yiqian('ts', 'verify', at('sm2.tst'), '--digest', hex, '--hash', 'sha256', '--ca', at('sm2tsa.pem')),
    ).toBe(1)
  })

  it('rejects tampered data, a different digest and an untrusted root (exit 1)', async () => {
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('tampered'), '--ca', at('root.pem'))).toBe(1)
    expect(stdout).toMatch(/\[失败 \/ FAILED\] 数据摘要 \/ message imprint/)
    expect(stdout).toMatch(/timestamp INVALID/)
    expect(await yiqian('ts', 'verify', at('sm2.tst'), '--data', at('tampered'), '--ca', at('sm2tsa.pem'))).toBe(1)
    // Same subject name, different key: the chain check must use the signature, not the name.
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('data'), '--ca', at('other-root.pem'))).toBe(1)
    expect(stdout).toMatch(/\[失败 \/ FAILED\] 证书链 \/ chain of trust/)
  })

  it('validates the chain at genTime: a token dated before the TSA certificate was valid fails (exit 1)', async () => {
    const tstInfo = buildTstInfo({
      policy: POLICY,
      imprint: digest('SHA-256', data),
      hashAlgorithm: 'SHA-256',
      serialNumber: 0x0ddn,
      genTime: new Date('2020-01-01T00:00:00Z'),
    })
    const old = await signTimeStampToken({ tstInfo, signer: createSigner(ecTsa.keyPem), certificate: ecTsa.certDer })
    writeFileSync(at('old.tst'), old)
    expect(await yiqian('ts', 'verify', at('old.tst'), '--data', at('data'), '--ca', at('root.pem'))).toBe(1)
    expect(stdout).toMatch(/\[失败 \/ FAILED\] 证书链 \/ chain of trust: .*validity/)
  })

  it('rejects a token whose signed content was changed (exit 1)', async () => {
    const der = pemToDer(readFileSync(at('sm2.tst'), 'utf8'))
    // Flip a bit inside the serial number of the encapsulated TSTInfo: structure intact, signature broken.
    const serialAt = Buffer.from(der).indexOf(Buffer.from([0x02, 0x04, 0x5e, 0xed, 0x12, 0x34]))
    expect(serialAt).toBeGreaterThan(0)
    const changed = der.slice()
    changed[serialAt + 5]! ^= 0x01
    writeFileSync(at('changed.tst'), changed)
    expect(await yiqian('ts', 'verify', at('changed.tst'), '--data', at('data'), '--ca', at('sm2tsa.pem'))).toBe(1)
    expect(stdout).toMatch(/\[失败 \/ FAILED\]/)
  })

  it('without --ca says the chain was not checked and fails, unless --no-chain is given', async () => {
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('data'))).toBe(1)
    expect(stdout).toMatch(/the chain was NOT checked/)
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('data'), '--no-chain')).toBe(0)
    expect(stdout).toMatch(/the chain was not checked \(--no-chain\)/)
    // --no-chain never hides a broken imprint.
    expect(await yiqian('ts', 'verify', at('ec.tsr'), '--data', at('tampered'), '--no-chain')).toBe(1)
  })

  it('reports a rejection response as invalid (exit 1), with its failure info', async () => {
    expect(await yiqian('ts', 'verify', at('rejected.tsr'), '--data', at('data'), '--ca', at('root.pem'))).toBe(1)
    expect(stdout).toMatch(/rejection: badAlg; unknown hash/)
  })

  it.each([
    ['a file that is not a timestamp', ['garbage.tsr', '--data', 'data', '--ca', 'root.pem']],
    ['a missing token file', ['nope.tsr', '--data', 'data', '--ca', 'root.pem']],
    ['a missing data file', ['ec.tsr', '--data', 'nope', '--ca', 'root.pem']],
    ['neither --data nor --digest', ['ec.tsr', '--ca', 'root.pem']],
    ['both --data and --digest', ['ec.tsr', '--data', 'data', '--digest', 'aa', '--hash', 'sha256']],
    ['--digest without --hash', ['ec.tsr', '--digest', 'aabb']],
    ['an unknown --hash', ['ec.tsr', '--digest', 'aabb', '--hash', 'md5']],
    ['a --digest that is not hex', ['ec.tsr', '--digest', 'xyz', '--hash', 'sha256', '--no-chain']],
    ['a --ca that is not a certificate', ['ec.tsr', '--data', 'data', '--ca', 'data']],
    ['--ca with --no-chain', ['ec.tsr', '--data', 'data', '--ca', 'root.pem', '--no-chain']],
    ['--untrusted without --ca', ['ec.tsr', '--data', 'data', '--untrusted', 'root.pem', '--no-chain']],
  ])('is a usage error (exit 2) for %s', async (_, args) => {
    const withPaths = args.map((a, i) =>
      i === 0 || ['--data', '--ca', '--untrusted'].includes(args[i - 1]!) ? at(a) : a,
    )
    expect(await yiqian('ts', 'verify', ...withPaths)).toBe(2)
    expect(stderr).not.toBe('')
  })
})

describe('yiqian ts query (against a local stand-in TSA that signs real ECDSA tokens)', () => {
  let server: Server
  let url = ''
  let lastContentType = ''
  /** What the stand-in does with the next request. */
  let mode: 'echo' | 'wrong-nonce' | 'reject' = 'echo'

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        lastContentType = req.headers['content-type'] ?? ''
        void (async () => {
          const body = new Uint8Array(Buffer.concat(chunks))
          let reply: Uint8Array
          if (mode === 'reject') {
            reply = buildTimeStampResp({ status: 'rejection', failInfo: ['timeNotAvailable'] })
          } else {
            const { imprint, hashAlgorithm, nonce } = parseTimeStampReq(body)
            const echoed = mode === 'wrong-nonce' && nonce !== undefined ? nonce + 1n : nonce
            const t = await token(ecTsa, imprint, hashAlgorithm as 'SHA-256' | 'SM3', echoed)
            reply = buildTimeStampResp({ status: 'granted', token: t })
          }
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(reply)
        })()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/tsa`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('requests a token with a nonce, checks the echo and saves a response that verifies offline', async () => {
    mode = 'echo'
    expect(await yiqian('ts', 'query', at('data'), '--url', url, '--hash', 'sha256', '--out', at('got.tsr'))).toBe(0)
    expect(lastContentType).toBe('application/timestamp-query')
    expect(stdout).toMatch(/\[通过 \/ passed\] 随机数 \/ nonce/)
    const saved = parseTimeStampResp(new Uint8Array(readFileSync(at('got.tsr'))))
    expect(saved.status).toBe('granted')
    expect(
      (await verifyTimeStampToken(saved.token!, { imprint: digest('SHA-256', data), trusted: [ecTsa.certDer] })).valid,
    ).toBe(true)
    expect(await yiqian('ts', 'verify', at('got.tsr'), '--data', at('data'), '--ca', at('root.pem'))).toBe(0)
  })

  it('fails (exit 1) when the reply does not echo the nonce or is a rejection', async () => {
    mode = 'wrong-nonce'
    expect(await yiqian('ts', 'query', at('data'), '--url', url, '--hash', 'sm3')).toBe(1)
    expect(stdout).toMatch(/\[失败 \/ FAILED\] 随机数 \/ nonce/)
    mode = 'reject'
    expect(await yiqian('ts', 'query', at('data'), '--url', url)).toBe(1)
    expect(stdout).toMatch(/the TSA refused: rejection \(timeNotAvailable\)/)
  })

  it('is a usage error (exit 2) for a bad URL or hash, and exit 1 when the server cannot be reached', async () => {
    expect(await yiqian('ts', 'query', at('data'), '--url', 'ftp://x/tsa')).toBe(2)
    expect(await yiqian('ts', 'query', at('data'), '--url', url, '--hash', 'md5')).toBe(2)
    expect(await yiqian('ts', 'query', at('data'), '--url', 'http://127.0.0.1:1/tsa')).toBe(1)
    expect(stderr).toMatch(/cannot get a timestamp/)
  })
})
