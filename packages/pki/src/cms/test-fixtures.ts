import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { concatBytes } from '@yiqian/gm'

// Test-only: certificates made by the OpenSSL CLI, so interop is against an independent implementation.

export interface Fixture {
  readonly keyPem: string
  readonly certPem: string
  readonly certDer: Uint8Array
  readonly keyPath: string
  readonly certPath: string
}

export interface Fixtures {
  readonly dir: string
  readonly ec: Fixture
  readonly rsa: Fixture
  readonly sm2: Fixture
  /** ECDSA P-256 TSA certificate: extendedKeyUsage = critical,timeStamping. */
  readonly tsa: Fixture
  readonly sm2Tsa: Fixture
  run(script: string): string
  cleanup(): void
}

export function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')
  return new Uint8Array(Buffer.from(body, 'base64'))
}

export function makeFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'yiqian-cms-'))
  const run = (script: string): string =>
    execFileSync('sh', ['-ec', script], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const days = '-days 30 -nodes'
  const tsaExt = '-addext "extendedKeyUsage=critical,timeStamping" -addext "basicConstraints=critical,CA:FALSE"'
  // One batched shell: every OpenSSL start costs on this machine.
  run(
    [
      `openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ec.key -out ec.pem -subj /CN=ec-signer ${days}`,
      `openssl req -x509 -new -newkey rsa:2048 -keyout rsa.key -out rsa.pem -subj /CN=rsa-signer ${days}`,
      'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.key',
      `openssl req -x509 -new -key sm2.key -sm3 -sigopt distid:1234567812345678 -out sm2.pem -subj /CN=sm2-signer ${days}`,
      `openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout tsa.key -out tsa.pem -subj /CN=tsa ${days} ${tsaExt}`,
      'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2tsa.key',
      `openssl req -x509 -new -key sm2tsa.key -sm3 -sigopt distid:1234567812345678 -out sm2tsa.pem -subj /CN=sm2-tsa ${days} ${tsaExt}`,
    ].join('\n'),
  )
  const load = (name: string): Fixture => {
    const certPem = readFileSync(join(dir, `${name}.pem`), 'utf8')
    return {
      keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
      certPem,
      certDer: pemToDer(certPem),
      keyPath: join(dir, `${name}.key`),
      certPath: join(dir, `${name}.pem`),
    }
  }
  return {
    dir,
    ec: load('ec'),
    rsa: load('rsa'),
    sm2: load('sm2'),
    tsa: load('tsa'),
    sm2Tsa: load('sm2tsa'),
    run,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** Deterministic PRNG for the mutation loops (xorshift32), so a failure can be replayed. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x100000000
  }
}

/** One seeded mutation of a DER blob: a bit flip, a byte replaced, a byte removed or a byte inserted. */
export function mutate(der: Uint8Array, random: () => number): Uint8Array {
  const kind = Math.floor(random() * 4)
  const at = Math.floor(random() * der.length)
  switch (kind) {
    case 0: {
      const m = der.slice()
      m[at]! ^= 1 << Math.floor(random() * 8)
      return m
    }
    case 1: {
      const m = der.slice()
      m[at] = Math.floor(random() * 256)
      return m
    }
    case 2:
      return concatBytes(der.subarray(0, at), der.subarray(at + 1))
    default:
      return concatBytes(der.subarray(0, at), new Uint8Array([Math.floor(random() * 256)]), der.subarray(at))
  }
}
