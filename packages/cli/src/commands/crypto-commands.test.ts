import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { run } from '../cli.js'

// The crypto commands, run in-process, with OpenSSL as the independent checker of what they read and write.
const dir = mkdtempSync(join(tmpdir(), 'yiqian-cli-'))
const at = (name: string) => join(dir, name)
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString()

let stdout = ''
let stderr = ''
function capture() {
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
}
afterEach(() => {
  vi.restoreAllMocks()
})

async function yiqian(...args: string[]): Promise<number> {
  capture()
  const code = await run(args)
  vi.restoreAllMocks()
  return code
}

const ID = '医生 0042'
writeFileSync(at('msg'), '检验报告 lab report: 血红蛋白 135 g/L')

describe('yiqian sm2', () => {
  it('keygen writes a 0600 PKCS#8 key that OpenSSL reads, and a public key OpenSSL reads', async () => {
    expect(await yiqian('sm2', 'keygen', '--out', at('key.pem'), '--pubout', at('pub.pem'))).toBe(0)
    expect(statSync(at('key.pem')).mode & 0o777).toBe(0o600)
    expect(openssl('pkey', '-in', 'key.pem', '-noout', '-text')).toMatch(/SM2|1\.2\.156\.10197\.1\.301/)
    const theirs = openssl('pkey', '-in', 'key.pem', '-pubout')
    expect(readFileSync(at('pub.pem'), 'utf8')).toBe(theirs)
  })

  it('signs so that OpenSSL verifies with the signer ID, and verifies what OpenSSL signs (exit 0)', async () => {
    expect(
      await yiqian('sm2', 'sign', '--key', at('key.pem'), '--in', at('msg'), '--out', at('sig.der'), '--id', ID),
    ).toBe(0)
    expect(
      openssl(
        'pkeyutl',
        '-verify',
        '-rawin',
        '-digest',
        'sm3',
        '-pubin',
        '-inkey',
        'pub.pem',
        '-in',
        'msg',
        '-sigfile',
        'sig.der',
        '-pkeyopt',
        `distid:${ID}`,
      ),
    ).toMatch(/Signature Verified Successfully/)

    openssl(
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-inkey',
      'key.pem',
      '-in',
      'msg',
      '-out',
      'theirs.der',
      '-pkeyopt',
      `distid:${ID}`,
    )
    const code = await yiqian(
      'sm2',
      'verify',
      '--pub',
      at('pub.pem'),
      '--in',
      at('msg'),
      '--sig',
      at('theirs.der'),
      '--id',
      ID,
    )
    expect([code, stdout]).toEqual([0, '签名有效 / signature valid\n'])
  })

  it('answers 1 for a signature that does not verify: wrong ID, changed data, garbage', async () => {
    expect(await yiqian('sm2', 'verify', '--pub', at('pub.pem'), '--in', at('msg'), '--sig', at('sig.der'))).toBe(1)
    expect(stdout).toMatch(/signature invalid/)
    writeFileSync(at('msg2'), 'changed')
    expect(
      await yiqian('sm2', 'verify', '--pub', at('pub.pem'), '--in', at('msg2'), '--sig', at('sig.der'), '--id', ID),
    ).toBe(1)
    writeFileSync(at('junk.der'), Uint8Array.of(0x30, 0x02, 0x02, 0x00))
    expect(await yiqian('sm2', 'verify', '--pub', at('pub.pem'), '--in', at('msg'), '--sig', at('junk.der'))).toBe(1)
  })

  it('verifies against the key in an X.509 certificate', async () => {
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'key.pem',
      '-subj',
      '/CN=Dr Wang',
      '-days',
      '30',
      '-out',
      'cert.pem',
      '-sm3',
      '-sigopt',
      'distid:1234567812345678',
    )
    expect(
      await yiqian('sm2', 'verify', '--cert', at('cert.pem'), '--in', at('msg'), '--sig', at('sig.der'), '--id', ID),
    ).toBe(0)
  })

  it('answers 2 for usage errors: missing files, two key sources, unreadable keys, unknown options', async () => {
    expect(await yiqian('sm2', 'verify', '--pub', at('nope.pem'), '--in', at('msg'), '--sig', at('sig.der'))).toBe(2)
    expect(stderr).toMatch(/nope\.pem/)
    expect(
      await yiqian(
        'sm2',
        'verify',
        '--pub',
        at('pub.pem'),
        '--cert',
        at('cert.pem'),
        '--in',
        at('msg'),
        '--sig',
        at('sig.der'),
      ),
    ).toBe(2)
    expect(await yiqian('sm2', 'sign', '--key', at('msg'), '--in', at('msg'))).toBe(2)
    expect(await yiqian('sm2', 'sign', '--in', at('msg'))).toBe(2)
    expect(await yiqian('sm2', 'verify', '--bogus')).toBe(2)
  })

  it('encrypts so that OpenSSL decrypts (GM/T 0009 ASN.1) and decrypts what OpenSSL encrypts', async () => {
    expect(await yiqian('sm2', 'encrypt', '--pub', at('pub.pem'), '--in', at('msg'), '--out', at('ct'))).toBe(0)
    expect(openssl('pkeyutl', '-decrypt', '-inkey', 'key.pem', '-in', 'ct')).toBe(readFileSync(at('msg'), 'utf8'))
    openssl('pkeyutl', '-encrypt', '-pubin', '-inkey', 'pub.pem', '-in', 'msg', '-out', 'theirs.ct')
    expect(await yiqian('sm2', 'decrypt', '--key', at('key.pem'), '--in', at('theirs.ct'), '--out', at('pt'))).toBe(0)
    expect(readFileSync(at('pt'), 'utf8')).toBe(readFileSync(at('msg'), 'utf8'))
    const tampered = readFileSync(at('ct'))
    tampered[tampered.length - 1]! ^= 1
    writeFileSync(at('bad.ct'), tampered)
    expect(await yiqian('sm2', 'decrypt', '--key', at('key.pem'), '--in', at('bad.ct'))).toBe(1)
  })
})

describe('yiqian sm3 and sm4', () => {
  it('prints the SM3 digest OpenSSL prints, and HMAC-SM3 as OpenSSL computes it', async () => {
    expect(await yiqian('sm3', '--in', at('msg'))).toBe(0)
    expect(stdout.trim()).toBe(openssl('dgst', '-sm3', '-r', 'msg').split(' ')[0])
    expect(await yiqian('sm3', '--in', at('msg'), '--hmac-key', '00112233')).toBe(0)
    expect(stdout.trim()).toBe(
      openssl('dgst', '-sm3', '-mac', 'HMAC', '-macopt', 'hexkey:00112233', '-r', 'msg').split(' ')[0],
    )
  })

  it.each(['cbc', 'ecb', 'ctr'])('SM4-%s agrees with openssl enc both ways', async (mode) => {
    const key = '0123456789abcdeffedcba9876543210'
    const iv = mode === 'ecb' ? [] : ['--iv', '00112233445566778899aabbccddeeff']
    expect(
      await yiqian('sm4', 'encrypt', '--mode', mode, '--key', key, ...iv, '--in', at('msg'), '--out', at(`ct.${mode}`)),
    ).toBe(0)
    const theirs = execFileSync('openssl', [
      'enc',
      `-sm4-${mode}`,
      '-K',
      key,
      ...(iv.length ? ['-iv', iv[1]!] : []),
      '-in',
      at('msg'),
    ])
    expect(readFileSync(at(`ct.${mode}`))).toEqual(theirs)
    writeFileSync(at(`theirs.${mode}`), theirs)
    expect(
      await yiqian(
        'sm4',
        'decrypt',
        '--mode',
        mode,
        '--key',
        key,
        ...iv,
        '--in',
        at(`theirs.${mode}`),
        '--out',
        at(`pt.${mode}`),
      ),
    ).toBe(0)
    expect(readFileSync(at(`pt.${mode}`), 'utf8')).toBe(readFileSync(at('msg'), 'utf8'))
  })

  it('SM4-GCM round-trips with associated data and refuses a tampered ciphertext (exit 1)', async () => {
    const args = [
      '--mode',
      'gcm',
      '--key',
      '0123456789abcdeffedcba9876543210',
      '--iv',
      '00112233445566778899aabb',
      '--aad',
      'feedface',
    ]
    expect(await yiqian('sm4', 'encrypt', ...args, '--in', at('msg'), '--out', at('ct.gcm'))).toBe(0)
    expect(await yiqian('sm4', 'decrypt', ...args, '--in', at('ct.gcm'), '--out', at('pt.gcm'))).toBe(0)
    expect(readFileSync(at('pt.gcm'), 'utf8')).toBe(readFileSync(at('msg'), 'utf8'))
    const bad = readFileSync(at('ct.gcm'))
    bad[0]! ^= 1
    writeFileSync(at('bad.gcm'), bad)
    expect(await yiqian('sm4', 'decrypt', ...args, '--in', at('bad.gcm'))).toBe(1)
    expect(await yiqian('sm4', 'encrypt', '--mode', 'gcm', '--key', 'abcd', '--iv', '00', '--in', at('msg'))).toBe(2)
  })
})
