import {
  clientKeygenCommit,
  clientKeygenReveal,
  clientSignRequest,
  createSm2Signer,
  createSm2Verifier,
  createTwoPartyClientKeyShare,
  createTwoPartyReplayLedger,
  createTwoPartyServerKeyShare,
  curveBackend,
  generateSm2KeyPair,
  KEYGEN_LEDGER_SCOPE,
  serverKeygenRespond,
  serverSignStep,
  sm3,
  sm4EncryptCbc,
  sm4GcmEncrypt,
} from '@yiqian/gm'
import { opensslCipherSpeed, opensslSm2Speed } from './openssl.js'
import { median, type Row, rate } from './table.js'

/** National-cryptography figures beside `openssl speed` from the same run (issue 3's targets in the last column). */
export function gmRows(runs: number, seconds: number): Row[] {
  const rows: Row[] = []
  // The 'openssl' curve backend is the native addon, which now runs its own SM2 arithmetic (packages/gm/native).
  const backend = curveBackend().name === 'openssl' ? 'native addon' : curveBackend().name

  // SM2: a 32-byte message (the clinical systems mostly send digests), default signer ID.
  const { privateKey, publicKey } = generateSm2KeyPair()
  const signer = createSm2Signer(privateKey)
  const verifier = createSm2Verifier(publicKey)
  const message = new Uint8Array(32).fill(7)
  const signatures = Array.from({ length: 64 }, () => signer.sign(message))
  let i = 0
  const verifyOne = () => {
    if (!verifier.verify(message, signatures[i++ & 63]!)) throw new Error('benchmark signature did not verify')
  }
  // Warm up the JIT, then alternate our run and OpenSSL's so that both see the same machine conditions.
  rate(() => signer.sign(message), 0.3)
  rate(verifyOne, 0.3)
  const samples = Array.from({ length: runs }, () => ({
    sign: rate(() => signer.sign(message), seconds),
    verify: rate(verifyOne, seconds),
    reference: opensslSm2Speed(seconds),
  }))
  rows.push({
    operation: `SM2 sign, 32 B message (${backend})`,
    opsPerSecond: median(samples.map((x) => x.sign)),
    reference: { label: 'openssl speed sm2 (sign)', opsPerSecond: median(samples.map((x) => x.reference.sign)) },
    target: { ratio: 0.9 },
  })
  rows.push({
    operation: `SM2 verify, 32 B message (${backend})`,
    opsPerSecond: median(samples.map((x) => x.verify)),
    reference: { label: 'openssl speed sm2 (verify)', opsPerSecond: median(samples.map((x) => x.reference.verify)) },
    target: { ratio: 0.7 },
  })

  // Two-party: the server's step of one signature (the client's requests are prepared beforehand).
  const now = Date.now()
  const commit = clientKeygenCommit({ now })
  const respond = serverKeygenRespond(createTwoPartyReplayLedger(KEYGEN_LEDGER_SCOPE), commit.message, { now })
  const reveal = clientKeygenReveal(commit.state, respond.message)
  const serverKey = createTwoPartyServerKeyShare(respond.session, reveal, { now })
  const clientKey = createTwoPartyClientKeyShare(commit.state, serverKey.message)
  const perRun = Math.max(200, Math.round(seconds * 1500))
  const serverRates = Array.from({ length: runs }, () => {
    const requests = Array.from(
      { length: perRun },
      (_, j) => clientSignRequest(clientKey, { message: `order ${j}`, now }).message,
    )
    // A key's replay ledger holds the requests of the last minutes; 50 stands for a doctor's end-of-shift batch.
    let ledger = createTwoPartyReplayLedger(serverKey.share.keyId)
    const start = performance.now()
    for (const [j, request] of requests.entries()) {
      if (j % 50 === 0) ledger = createTwoPartyReplayLedger(serverKey.share.keyId)
      ledger = serverSignStep(serverKey.share, ledger, request, { now }).ledger
    }
    return perRun / ((performance.now() - start) / 1000)
  })
  rows.push({
    operation: `two-party SM2: server step of one signature (${backend})`,
    opsPerSecond: median(serverRates),
    target: { opsPerSecond: 1000 },
  })

  /** Our operation and `openssl speed -evp alg` alternately, after a warm-up; medians of each. */
  const paired = (fn: () => void, alg: string, bytes: number) => {
    rate(fn, 0.3)
    const pairs = Array.from(
      { length: runs },
      () => [rate(fn, seconds), opensslCipherSpeed(alg, bytes, seconds)] as const,
    )
    return { ours: median(pairs.map((p) => p[0])), theirs: median(pairs.map((p) => p[1])) }
  }
  for (const size of [1024, 16384]) {
    const data = new Uint8Array(size).fill(0x61)
    const { ours, theirs } = paired(() => sm3(data), 'sm3', size)
    rows.push({
      operation: `SM3, ${size} B`,
      opsPerSecond: ours,
      reference: { label: 'openssl speed -evp sm3', opsPerSecond: theirs },
      target: { ratio: 0.8 },
    })
  }
  const key = new Uint8Array(16).fill(1)
  const iv = new Uint8Array(16).fill(2)
  const nonce = new Uint8Array(12).fill(3)
  const block = new Uint8Array(16384).fill(0x62)
  const cbc = paired(() => sm4EncryptCbc(key, iv, block, { padding: 'none' }), 'sm4-cbc', 16384)
  rows.push({
    operation: 'SM4-CBC encrypt, 16384 B',
    opsPerSecond: cbc.ours,
    reference: { label: 'openssl speed -evp sm4-cbc', opsPerSecond: cbc.theirs },
    target: { ratio: 0.8 },
  })
  const gcm = paired(() => sm4GcmEncrypt(key, nonce, block), 'sm4-ctr', 16384)
  rows.push({
    operation: 'SM4-GCM encrypt, 16384 B (CTR + our GHASH)',
    opsPerSecond: gcm.ours,
    reference: { label: 'openssl speed -evp sm4-ctr (no SM4-GCM in 3.0)', opsPerSecond: gcm.theirs },
  })
  return rows
}
