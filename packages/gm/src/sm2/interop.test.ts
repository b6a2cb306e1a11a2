import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sm2 as smCrypto } from 'sm-crypto-v2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes } from '../bytes.js'
import { sm2Decrypt, sm2Encrypt } from './encryption.js'
import {
  sm2PrivateKeyFromPem,
  sm2PrivateKeyToPem,
  sm2PrivateKeyToSec1,
  sm2PublicKeyFromPem,
  sm2PublicKeyToPem,
} from './key-encoding.js'
import { generateSm2KeyPair, type Sm2KeyPair } from './keys.js'
import { SM2_DEFAULT_ID, type Sm2Id, sm2Sign, sm2Verify } from './signature.js'

// Cross-checks against two independent implementations: the OpenSSL 3 command line and sm-crypto-v2. OpenSSL runs
// as a couple of long-lived `sh` loops over files in a temporary folder (one process per operation is unavoidable
// with the CLI, but not one spawn from Node per operation), while sm-crypto-v2 works in this thread meanwhile.

const SIGNATURE_CASES = 1000
const KEY_CASES = 24
const ENCRYPTION_CASES = 24
const SHELL_WORKERS = 2
const SEED = 0x5a2_1d

function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type IdKind = 'default' | 'printable' | 'binary' | 'unicode'

interface SignatureCase {
  readonly index: number
  readonly pair: Sm2KeyPair
  readonly message: Uint8Array
  readonly idKind: IdKind
  /** undefined for the default ID. */
  readonly id: Sm2Id | undefined
  /** The -pkeyopt for OpenSSL: distid for text IDs, hexdistid for bytes. */
  readonly opensslOption: string
}

function describeCase(c: SignatureCase): string {
  const id = c.id === undefined ? 'default' : typeof c.id === 'string' ? JSON.stringify(c.id) : bytesToHex(c.id)
  return `case ${c.index} (${c.idKind} ID ${id}, message ${bytesToHex(c.message) || '(empty)'}, private key ${bytesToHex(c.pair.privateKey)})`
}

function makeCases(count: number, random: () => number): SignatureCase[] {
  const int = (n: number) => Math.floor(random() * n)
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256))
  const kinds: IdKind[] = ['default', 'printable', 'binary', 'unicode']
  return Array.from({ length: count }, (_, index) => {
    const idKind = kinds[index % kinds.length]!
    let id: Sm2Id | undefined
    let opensslOption: string
    switch (idKind) {
      case 'default':
        id = undefined
        opensslOption = `distid:${SM2_DEFAULT_ID}`
        break
      case 'printable':
        id = String.fromCharCode(...Array.from({ length: int(65) }, () => 0x20 + int(0x5f)))
        opensslOption = `distid:${id}`
        break
      case 'binary':
        id = bytes(int(65))
        opensslOption = `hexdistid:${bytesToHex(id)}`
        break
      case 'unicode': {
        // BMP letters, CJK and astral characters: exercises string IDs as UTF-8.
        const pools = [
          [0x41, 0x5a],
          [0x4e00, 0x9fff],
          [0x1f300, 0x1f5ff],
          [0xe9, 0xff],
        ] as const
        const points = Array.from({ length: int(17) }, () => {
          const [lo, hi] = pools[int(pools.length)]!
          return lo + int(hi - lo + 1)
        })
        id = String.fromCodePoint(...points)
        opensslOption = `hexdistid:${bytesToHex(new TextEncoder().encode(id))}`
        break
      }
    }
    return { index, pair: generateSm2KeyPair(), message: bytes(int(301)), idKind, id, opensslOption }
  })
}

/** Runs `script` with `sh` in `dir`; resolves with stdout, rejects with stderr on a non-zero exit. */
function sh(dir: string, script: string, args: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sh exited ${code}: ${err}`))))
  })
}

/** Splits indices over SHELL_WORKERS loops that each run `body` with $i set. */
async function forEachInShell(dir: string, count: number, body: string): Promise<string> {
  const loop = `i=$1; while [ "$i" -lt ${count} ]; do\n${body}\ni=$((i + ${SHELL_WORKERS})); done`
  const outputs = await Promise.all(Array.from({ length: SHELL_WORKERS }, (_, w) => sh(dir, loop, [String(w)])))
  return outputs.join('')
}

function resultLines(output: string, tag: string): Map<number, string> {
  const results = new Map<number, string>()
  for (const line of output.split('\n')) {
    const [t, i, status] = line.split(' ')
    if (t === tag && i !== undefined && status !== undefined) results.set(Number(i), status)
  }
  return results
}

/** Collects failures and reports the first one (and how many) so that a red run says exactly what broke. */
class Failures {
  private readonly list: string[] = []
  add(message: string): void {
    this.list.push(message)
  }
  check(what: string): void {
    if (this.list.length > 0) {
      throw new Error(`${what}: ${this.list.length} failure(s); first: ${this.list[0]}`)
    }
  }
}

const hasOpenssl3 = /^OpenSSL 3\./.test(spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout ?? '')

describe('SM2 interoperability with OpenSSL 3 and sm-crypto-v2', () => {
  let dir = ''
  beforeAll(() => {
    if (!hasOpenssl3) throw new Error('these tests need the OpenSSL 3 command line (`openssl version`)')
    dir = mkdtempSync(join(tmpdir(), 'yiqian-sm2-interop-'))
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it(`signatures: ${SIGNATURE_CASES} random keys, messages and IDs, in both directions`, async () => {
    const cases = makeCases(SIGNATURE_CASES, seeded(SEED))
    const ours = new Map<number, Uint8Array>()
    for (const c of cases) {
      const sig = sm2Sign(c.message, c.pair.privateKey, { id: c.id })
      ours.set(c.index, sig)
      // OpenSSL loads each key in both private formats we write.
      writeFileSync(join(dir, `k${c.index}.pem`), sm2PrivateKeyToPem(c.pair.privateKey, c.index % 2 ? 'sec1' : 'pkcs8'))
      writeFileSync(join(dir, `p${c.index}.pem`), sm2PublicKeyToPem(c.pair.publicKey))
      writeFileSync(join(dir, `m${c.index}`), c.message)
      writeFileSync(join(dir, `s${c.index}.der`), sig)
      // A trailing newline lets the shell's `read` take the line whole (no fork for `cat`).
      writeFileSync(join(dir, `o${c.index}`), `${c.opensslOption}\n`)
    }
    const openssl = forEachInShell(
      dir,
      SIGNATURE_CASES,
      `IFS= read -r opt < o$i || true
if openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey p$i.pem -in m$i -sigfile s$i.der -pkeyopt "$opt" >/dev/null 2>&1
then echo "v $i ok"; else echo "v $i fail"; fi
if openssl pkeyutl -sign -rawin -digest sm3 -inkey k$i.pem -in m$i -out x$i.der -pkeyopt "$opt" >/dev/null 2>&1
then echo "s $i ok"; else echo "s $i fail"; fi`,
    )

    // sm-crypto-v2 meanwhile. Its userId is a string (UTF-8), so binary IDs are checked with OpenSSL only.
    const failures = new Failures()
    let smCryptoCases = 0
    for (const c of cases) {
      if (c.idKind === 'binary') continue
      smCryptoCases++
      const options = { der: true, hash: true, userId: c.id as string | undefined }
      const publicHex = bytesToHex(c.pair.publicKey)
      if (!smCrypto.doVerifySignature(c.message, bytesToHex(ours.get(c.index)!), publicHex, options)) {
        failures.add(`sm-crypto-v2 rejected our signature in ${describeCase(c)}`)
      }
      const theirs = smCrypto.doSignature(c.message, bytesToHex(c.pair.privateKey), {
        ...options,
        publicKey: publicHex,
      })
      if (!sm2Verify(c.message, hexToBytes(theirs), c.pair.publicKey, { id: c.id })) {
        failures.add(`we rejected sm-crypto-v2's signature ${theirs} in ${describeCase(c)}`)
      }
    }
    failures.check('sm-crypto-v2 signatures')
    expect(smCryptoCases).toBe(SIGNATURE_CASES * 0.75)

    const output = await openssl
    const verified = resultLines(output, 'v')
    const signed = resultLines(output, 's')
    for (const c of cases) {
      if (verified.get(c.index) !== 'ok') {
        failures.add(`OpenSSL rejected our signature ${bytesToHex(ours.get(c.index)!)} in ${describeCase(c)}`)
      }
      if (signed.get(c.index) !== 'ok') {
        failures.add(`OpenSSL could not sign with our ${c.index % 2 ? 'SEC 1' : 'PKCS#8'} key in ${describeCase(c)}`)
        continue
      }
      const theirs = new Uint8Array(readFileSync(join(dir, `x${c.index}.der`)))
      if (!sm2Verify(c.message, theirs, c.pair.publicKey, { id: c.id })) {
        failures.add(`we rejected OpenSSL's signature ${bytesToHex(theirs)} in ${describeCase(c)}`)
      }
    }
    failures.check('OpenSSL signatures')
    expect(verified.size + signed.size).toBe(2 * SIGNATURE_CASES)
  }, 240_000)

  it('sm-crypto-v2: 250 more text-ID cases, so that it too covers at least 1,000 in each direction', () => {
    // The test above gives sm-crypto-v2 the 750 cases whose IDs are text; these make up the rest.
    const extra = makeCases(400, seeded(SEED + 1))
      .filter((c) => c.idKind !== 'binary')
      .slice(0, 250)
    expect(extra).toHaveLength(250)
    const failures = new Failures()
    for (const c of extra) {
      const options = { der: true, hash: true, userId: c.id as string | undefined }
      const publicHex = bytesToHex(c.pair.publicKey)
      const ours = sm2Sign(c.message, c.pair.privateKey, { id: c.id })
      if (!smCrypto.doVerifySignature(c.message, bytesToHex(ours), publicHex, options)) {
        failures.add(`sm-crypto-v2 rejected our signature in ${describeCase(c)}`)
      }
      const theirs = smCrypto.doSignature(c.message, bytesToHex(c.pair.privateKey), {
        ...options,
        publicKey: publicHex,
      })
      if (!sm2Verify(c.message, hexToBytes(theirs), c.pair.publicKey, { id: c.id })) {
        failures.add(`we rejected sm-crypto-v2's signature ${theirs} in ${describeCase(c)}`)
      }
    }
    failures.check('sm-crypto-v2 signatures (extra)')
  }, 120_000)

  it(`keys: ${KEY_CASES} generated by OpenSSL load in ours, ${KEY_CASES} of ours load in OpenSSL`, async () => {
    const failures = new Failures()
    const theirs = forEachInShell(
      dir,
      KEY_CASES,
      `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out g$i.pem &&
openssl pkey -in g$i.pem -pubout -out gp$i.pem &&
openssl ec -in g$i.pem -out gs$i.pem 2>/dev/null || exit 1`,
    )
    const ourPairs = Array.from({ length: KEY_CASES }, () => generateSm2KeyPair())
    ourPairs.forEach((pair, i) => {
      writeFileSync(join(dir, `a${i}.pem`), sm2PrivateKeyToPem(pair.privateKey, 'pkcs8'))
      writeFileSync(join(dir, `b${i}.pem`), sm2PrivateKeyToPem(pair.privateKey, 'sec1'))
      writeFileSync(join(dir, `c${i}.pem`), sm2PublicKeyToPem(pair.publicKey))
    })
    const ours = forEachInShell(
      dir,
      KEY_CASES,
      `openssl pkey -in a$i.pem -check -noout >/dev/null && openssl pkey -in b$i.pem -check -noout >/dev/null &&
openssl pkey -pubin -in c$i.pem -pubcheck -noout >/dev/null &&
openssl pkey -in a$i.pem -pubout -out ap$i.pem && openssl pkey -in b$i.pem -pubout -out bp$i.pem &&
openssl pkey -pubin -in c$i.pem -pubout -out cp$i.pem && openssl pkey -in b$i.pem -out b8$i.pem &&
openssl pkey -in a$i.pem -noout -text > at$i.txt && echo "k $i ok" || echo "k $i fail"`,
    )
    await theirs
    for (let i = 0; i < KEY_CASES; i++) {
      const read = (name: string) => readFileSync(join(dir, name), 'utf8')
      const pkcs8 = read(`g${i}.pem`)
      const spki = read(`gp${i}.pem`)
      const sec1 = read(`gs${i}.pem`)
      try {
        const pair = sm2PrivateKeyFromPem(pkcs8)
        if (sm2PrivateKeyToPem(pair.privateKey) !== pkcs8) failures.add(`PKCS#8 not rewritten byte-exact: ${pkcs8}`)
        if (sm2PublicKeyToPem(pair.publicKey) !== spki) failures.add(`public key differs from OpenSSL's for ${pkcs8}`)
        if (bytesToHex(sm2PublicKeyFromPem(spki)) !== bytesToHex(pair.publicKey)) failures.add(`SPKI read ${spki}`)
        const fromSec1 = sm2PrivateKeyFromPem(sec1)
        if (bytesToHex(fromSec1.privateKey) !== bytesToHex(pair.privateKey)) failures.add(`SEC 1 key differs: ${sec1}`)
        const sec1Der = sm2PrivateKeyToSec1(pair.privateKey)
        if (sm2PrivateKeyToPem(pair.privateKey, 'sec1') !== sec1.replaceAll('SM2 PRIVATE KEY', 'EC PRIVATE KEY')) {
          failures.add(`SEC 1 not rewritten byte-exact (${bytesToHex(sec1Der)}): ${sec1}`)
        }
      } catch (error) {
        failures.add(`OpenSSL key ${i} did not load: ${String(error)}\n${pkcs8}`)
      }
    }
    const ourResults = resultLines(await ours, 'k')
    for (const [i, pair] of ourPairs.entries()) {
      const name = `our key ${i} (d = ${bytesToHex(pair.privateKey)})`
      if (ourResults.get(i) !== 'ok') {
        failures.add(`OpenSSL did not accept ${name}`)
        continue
      }
      const spki = sm2PublicKeyToPem(pair.publicKey)
      for (const file of [`ap${i}.pem`, `bp${i}.pem`, `cp${i}.pem`]) {
        if (readFileSync(join(dir, file), 'utf8') !== spki)
          failures.add(`OpenSSL derived another public key (${file}) from ${name}`)
      }
      if (readFileSync(join(dir, `b8${i}.pem`), 'utf8') !== sm2PrivateKeyToPem(pair.privateKey)) {
        failures.add(`OpenSSL's PKCS#8 of our SEC 1 ${name} differs from our PKCS#8`)
      }
      const text = readFileSync(join(dir, `at${i}.txt`), 'utf8')
      const priv = /priv:\s*([0-9a-f:\s]+?)\s*pub:/.exec(text)?.[1]?.replace(/[^0-9a-f]/g, '')
      if (priv?.padStart(64, '0') !== bytesToHex(pair.privateKey)) failures.add(`OpenSSL read another d from ${name}`)
    }
    failures.check('key interoperability')
  }, 120_000)

  it(`encryption: ${ENCRYPTION_CASES} cases each way with OpenSSL (ASN.1) and sm-crypto-v2 (C1C3C2 and ASN.1)`, async () => {
    const random = seeded(SEED + 1)
    const failures = new Failures()
    const pairs = Array.from({ length: ENCRYPTION_CASES }, () => generateSm2KeyPair())
    const plaintexts = pairs.map(() =>
      Uint8Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)),
    )
    pairs.forEach((pair, i) => {
      writeFileSync(join(dir, `ek${i}.pem`), sm2PrivateKeyToPem(pair.privateKey))
      writeFileSync(join(dir, `ep${i}.pem`), sm2PublicKeyToPem(pair.publicKey))
      writeFileSync(join(dir, `em${i}`), plaintexts[i]!)
      writeFileSync(join(dir, `ec${i}`), sm2Encrypt(pair.publicKey, plaintexts[i]!, { format: 'asn1' }))
    })
    const openssl = forEachInShell(
      dir,
      ENCRYPTION_CASES,
      `if openssl pkeyutl -decrypt -inkey ek$i.pem -in ec$i -out ed$i 2>/dev/null; then echo "d $i ok"; else echo "d $i fail"; fi
if openssl pkeyutl -encrypt -pubin -inkey ep$i.pem -in em$i -out ex$i 2>/dev/null; then echo "e $i ok"; else echo "e $i fail"; fi`,
    )

    pairs.forEach((pair, i) => {
      const m = plaintexts[i]!
      const privateHex = bytesToHex(pair.privateKey)
      const publicHex = bytesToHex(pair.publicKey)
      const name = `case ${i} (d = ${privateHex}, plaintext ${bytesToHex(m)})`
      // sm-crypto-v2's C1C3C2 (cipherMode 1) omits the 04 in front of C1.
      const ourC1c3c2 = sm2Encrypt(pair.publicKey, m)
      const theirPlain = smCrypto.doDecrypt(bytesToHex(ourC1c3c2).slice(2), privateHex, 1, { output: 'array' })
      if (bytesToHex(theirPlain) !== bytesToHex(m)) failures.add(`sm-crypto-v2 could not decrypt our C1C3C2 in ${name}`)
      const ourAsn1 = sm2Encrypt(pair.publicKey, m, { format: 'asn1' })
      const theirPlainAsn1 = smCrypto.doDecrypt(bytesToHex(ourAsn1), privateHex, 1, { output: 'array', asn1: true })
      if (bytesToHex(theirPlainAsn1) !== bytesToHex(m))
        failures.add(`sm-crypto-v2 could not decrypt our ASN.1 in ${name}`)
      for (const format of ['c1c3c2', 'asn1'] as const) {
        const theirs = smCrypto.doEncrypt(m, publicHex, 1, { asn1: format === 'asn1' })
        try {
          const bytes = hexToBytes(format === 'asn1' ? theirs : `04${theirs}`)
          if (bytesToHex(sm2Decrypt(pair.privateKey, bytes, { format })) !== bytesToHex(m)) {
            failures.add(`wrong plaintext from sm-crypto-v2's ${format} ${theirs} in ${name}`)
          }
        } catch (error) {
          failures.add(`could not decrypt sm-crypto-v2's ${format} ${theirs} in ${name}: ${String(error)}`)
        }
      }
    })
    failures.check('sm-crypto-v2 encryption')

    const output = await openssl
    const decrypted = resultLines(output, 'd')
    const encrypted = resultLines(output, 'e')
    for (const [i, pair] of pairs.entries()) {
      const m = plaintexts[i]!
      const name = `case ${i} (d = ${bytesToHex(pair.privateKey)}, plaintext ${bytesToHex(m)})`
      if (decrypted.get(i) !== 'ok' || bytesToHex(readFileSync(join(dir, `ed${i}`))) !== bytesToHex(m)) {
        failures.add(`OpenSSL did not decrypt our ${bytesToHex(readFileSync(join(dir, `ec${i}`)))} in ${name}`)
      }
      if (encrypted.get(i) !== 'ok') {
        failures.add(`OpenSSL could not encrypt to our public key in ${name}`)
        continue
      }
      const theirs = new Uint8Array(readFileSync(join(dir, `ex${i}`)))
      try {
        if (bytesToHex(sm2Decrypt(pair.privateKey, theirs, { format: 'asn1' })) !== bytesToHex(m)) {
          failures.add(`wrong plaintext from OpenSSL's ${bytesToHex(theirs)} in ${name}`)
        }
      } catch (error) {
        failures.add(`could not decrypt OpenSSL's ${bytesToHex(theirs)} in ${name}: ${String(error)}`)
      }
    }
    failures.check('OpenSSL encryption')
  }, 120_000)
})
