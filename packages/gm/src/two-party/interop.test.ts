import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sm2 } from 'sm-crypto-v2'
import { afterAll, describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes, randomBytes } from '../bytes.js'
import { Sm2Point } from '../sm2/curve.js'
import {
  clientKeygenCommit,
  clientKeygenReveal,
  clientSignFinish,
  clientSignRequest,
  createTwoPartyClientKeyShare,
} from './client.js'
import { DEFAULT_SIGNER_ID, signerHash, twoPartyMessageDigest, verifyDigestSignature } from './digest.js'
import { createTwoPartyReplayLedger } from './replay-ledger.js'
import { createTwoPartyServerKeyShare, KEYGEN_LEDGER_SCOPE, serverKeygenRespond, serverSignStep } from './server.js'
import type { TwoPartyClientKeyShare, TwoPartyServerKeyShare } from './shares.js'

// Joint signatures must be ordinary SM2 signatures: checked by two independent implementations, OpenSSL's
// command line and sm-crypto-v2. OpenSSL runs in batches in the background while the next batch is being signed.

const execFileAsync = promisify(execFile)
const SIGNATURES = 1000
const KEYS = 10
const BATCHES = 8

/** The SM2 SubjectPublicKeyInfo prefix (id-ecPublicKey, curve SM2), then 04‖x‖y: test-only, 91 bytes in all. */
const SPKI_PREFIX = '3059301306072a8648ce3d020106082a811ccf5501822d034200'

function publicKeyPem(publicKeyHex: string): string {
  const base64 = Buffer.from(SPKI_PREFIX + publicKeyHex, 'hex').toString('base64')
  return `-----BEGIN PUBLIC KEY-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`
}

function derInteger(bytes: Uint8Array): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const body = bytes[i]! >= 0x80 ? Buffer.concat([Buffer.of(0), bytes.subarray(i)]) : Buffer.from(bytes.subarray(i))
  return Buffer.concat([Buffer.of(0x02, body.length), body])
}

function signatureDer(signature: Uint8Array): Buffer {
  const body = Buffer.concat([derInteger(signature.subarray(0, 32)), derInteger(signature.subarray(32))])
  return Buffer.concat([Buffer.of(0x30, body.length), body])
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
function randomSignerId(): string {
  const [choice = 0, length = 0] = randomBytes(2)
  if (choice < 26) return DEFAULT_SIGNER_ID
  return Array.from(randomBytes(1 + (length % 40)), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('')
}

function jointKey(): { client: TwoPartyClientKeyShare; server: TwoPartyServerKeyShare } {
  const c1 = clientKeygenCommit()
  const s1 = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), c1.message)
  const s2 = createTwoPartyServerKeyShare(s1.session, clientKeygenReveal(c1.state, s1.message))
  return { client: createTwoPartyClientKeyShare(c1.state, s2.message), server: s2.share }
}

const VERIFY_LOOP = `
while read -r i k id; do
  if openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey "pub-$k.pem" -in "msg-$i" -sigfile "sig-$i.der" \\
      -pkeyopt "distid:$id" >/dev/null 2>&1; then echo "$i OK"; else echo "$i FAIL"; fi
done < "$1"
`

describe('joint signatures verify with OpenSSL and sm-crypto-v2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yiqian-two-party-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it(`${SIGNATURES} signatures over random messages and signer IDs, on fresh and reused joint keys`, async () => {
    const keys = Array.from({ length: KEYS }, jointKey)
    for (const [k, key] of keys.entries()) writeFileSync(join(dir, `pub-${k}.pem`), publicKeyPem(key.client.publicKey))
    const ledgers = keys.map((key) => createTwoPartyReplayLedger(key.server.keyId))
    const precomputed = keys.map((key) => sm2.precomputePublicKey(key.client.publicKey))
    const expected = new Map<string, 'OK' | 'FAIL'>()
    const runs: Promise<{ stdout: string }>[] = []
    let smCryptoVerified = 0

    for (let batch = 0; batch < BATCHES; batch++) {
      const manifest: string[] = []
      for (let n = 0; n < SIGNATURES / BATCHES; n++) {
        const i = batch * (SIGNATURES / BATCHES) + n
        // The first signatures each get a key of their own; the rest reuse them.
        const k = i % KEYS
        const key = keys[k]!
        const message = randomBytes(randomBytes(1)[0]! + (i % 3 === 0 ? 0 : 1))
        const signerId = randomSignerId()
        const request = clientSignRequest(key.client, { message, signerId })
        const step = serverSignStep(key.server, ledgers[k]!, request.message)
        ledgers[k] = step.ledger
        const { signature } = clientSignFinish(request.pending, step.message)
        const hex = bytesToHex(signature)
        if (sm2.doVerifySignature(message, hex, precomputed[k]!, { hash: true, userId: signerId })) {
          smCryptoVerified++
        }
        writeFileSync(join(dir, `msg-${i}`), message)
        writeFileSync(join(dir, `sig-${i}.der`), signatureDer(signature))
        manifest.push(`${i} ${k} ${signerId}`)
        expected.set(String(i), 'OK')
      }
      // Controls that must fail, so that a harness that accepts everything cannot pass: wrong ID, wrong key.
      const first = batch * (SIGNATURES / BATCHES)
      manifest.push(
        `${first} ${first % KEYS} not-the-signer-id`,
        `${first + 1} ${(first + 2) % KEYS} ${DEFAULT_SIGNER_ID}`,
      )
      const manifestFile = join(dir, `manifest-${batch}.txt`)
      writeFileSync(manifestFile, `${manifest.join('\n')}\n`)
      runs.push(execFileAsync('bash', ['-c', VERIFY_LOOP, 'verify', manifestFile], { cwd: dir, maxBuffer: 1 << 22 }))
    }

    expect(smCryptoVerified).toBe(SIGNATURES)
    const lines = (await Promise.all(runs)).flatMap(({ stdout }) => stdout.trim().split('\n'))
    expect(lines).toHaveLength(SIGNATURES + 2 * BATCHES)
    const results = lines.map((line) => line.split(' ') as [string, string])
    const ok = results.filter(([i, verdict]) => verdict === 'OK' && expected.get(i) === 'OK').length
    const controlsRejected = results.filter(([, verdict]) => verdict === 'FAIL').length
    expect({ ok, controlsRejected }).toEqual({ ok: SIGNATURES, controlsRejected: 2 * BATCHES })
  }, 180_000)
})

describe('the private SM2 pieces agree with sm-crypto-v2', () => {
  it('Z_A and e = SM3(Z_A ‖ M) match for random keys, IDs and messages', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey } = sm2.generateKeyPairHex()
      const point = Sm2Point.fromHex(publicKey).toAffine()
      const id = randomSignerId()
      const message = randomBytes(i * 7)
      expect(bytesToHex(signerHash(point, id))).toBe(bytesToHex(sm2.getZ(publicKey, id)))
      expect(bytesToHex(twoPartyMessageDigest(point, message, id))).toBe(sm2.getHash(message, publicKey, id))
    }
  })

  it('verification accepts sm-crypto-v2 signatures and rejects altered ones', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey, privateKey } = sm2.generateKeyPairHex()
      const point = Sm2Point.fromHex(publicKey).toAffine()
      const id = randomSignerId()
      const message = randomBytes(1 + i)
      const signature = hexToBytes(sm2.doSignature(message, privateKey, { hash: true, userId: id }))
      const r = BigInt(`0x${bytesToHex(signature.subarray(0, 32))}`)
      const s = BigInt(`0x${bytesToHex(signature.subarray(32))}`)
      const e = twoPartyMessageDigest(point, message, id)
      expect(verifyDigestSignature(point, e, r, s)).toBe(true)
      expect(verifyDigestSignature(point, e, r, s + 1n)).toBe(false)
      expect(verifyDigestSignature(point, twoPartyMessageDigest(point, message, `${id}x`), r, s)).toBe(false)
      expect(verifyDigestSignature(point, e, 0n, s)).toBe(false)
    }
  })
})
