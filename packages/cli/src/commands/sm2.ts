import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import {
  generateSm2KeyPair,
  isGmError,
  SM2_DEFAULT_ID,
  sm2Decrypt,
  sm2Encrypt,
  sm2PrivateKeyFromPem,
  sm2PrivateKeyToPem,
  sm2PublicKeyFromPem,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToPem,
  sm2Sign,
  sm2Verify,
} from '@yiqian/gm'
import type { Command } from 'commander'
import { UsageError } from '../usage-error.js'
import { readInput, readText, writeOutput } from './io.js'

const EXIT_INVALID = 1

function privateKeyFrom(path: string): Uint8Array {
  return sm2PrivateKeyFromPem(readText(path, '私钥 / private key')).privateKey
}

function publicKeyFrom(options: { pub?: string; cert?: string }): Uint8Array {
  if ((options.pub === undefined) === (options.cert === undefined)) {
    throw new UsageError('请给出 --pub 或 --cert 之一 / give exactly one of --pub or --cert')
  }
  if (options.pub !== undefined) return sm2PublicKeyFromPem(readText(options.pub, '公钥 / public key'))
  const text = readText(options.cert!, '证书 / certificate')
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text)
  const der = match
    ? Uint8Array.from(atob(match[1]!.replace(/\s+/g, '')), (c) => c.charCodeAt(0))
    : readInput(options.cert!, 'certificate')
  let spki: Uint8Array
  try {
    const certificate = AsnConvert.parse(der, Certificate)
    spki = new Uint8Array(AsnConvert.serialize(certificate.tbsCertificate.subjectPublicKeyInfo))
  } catch {
    throw new UsageError(`${options.cert}: 不是 X.509 证书 / not an X.509 certificate`)
  }
  return sm2PublicKeyFromSpki(spki)
}

/** `yiqian sm2 …`: standard SM2 with a signer ID, keys in PEM; OpenSSL-compatible outputs. */
export function sm2Command(program: Command): void {
  const sm2 = program.command('sm2').description('SM2 密钥、签名、验签、加解密 / SM2 keys, signatures and encryption')

  sm2
    .command('keygen')
    .description('生成 SM2 密钥对 / generate an SM2 key pair (PKCS#8 PEM, mode 0600)')
    .option('--out <file>', '私钥文件 / private key file (default: standard output)')
    .option('--pubout <file>', '同时写出公钥 / also write the public key (SubjectPublicKeyInfo PEM)')
    .option('--format <format>', 'pkcs8 | sec1', 'pkcs8')
    .action((options: { out?: string; pubout?: string; format: string }) => {
      if (options.format !== 'pkcs8' && options.format !== 'sec1') throw new UsageError('--format: pkcs8 | sec1')
      const { privateKey, publicKey } = generateSm2KeyPair()
      writeOutput(options.out, sm2PrivateKeyToPem(privateKey, options.format), { secret: true })
      if (options.pubout) writeOutput(options.pubout, sm2PublicKeyToPem(publicKey))
    })

  sm2
    .command('sign')
    .description('SM2 签名（SM3 杂凑，含签名者 ID）/ sign with SM2 (SM3 with Z_A and the signer ID)')
    .requiredOption('--key <file>', '私钥 PEM / private key PEM')
    .requiredOption('--in <file>', '待签数据，- 为标准输入 / data to sign, - for standard input')
    .option('--out <file>', '签名输出（DER）/ signature output (DER; default: standard output)')
    .option('--id <id>', '签名者 ID / signer ID', SM2_DEFAULT_ID)
    .option('--raw', '输出 r‖s 64 字节 / write r‖s (64 bytes) instead of DER')
    .action((options: { key: string; in: string; out?: string; id: string; raw?: boolean }) => {
      const signature = sm2Sign(readInput(options.in, '数据 / data'), privateKeyFrom(options.key), {
        id: options.id,
        encoding: options.raw ? 'raw' : 'der',
      })
      writeOutput(options.out, signature)
    })

  sm2
    .command('verify')
    .description('SM2 验签；退出码 0 有效，1 无效，2 用法错误 / verify; exit 0 valid, 1 invalid, 2 usage error')
    .option('--pub <file>', '公钥 PEM / public key PEM')
    .option('--cert <file>', '证书（PEM 或 DER）/ certificate (PEM or DER)')
    .requiredOption('--in <file>', '原文 / signed data')
    .requiredOption('--sig <file>', '签名（DER）/ signature (DER)')
    .option('--id <id>', '签名者 ID / signer ID', SM2_DEFAULT_ID)
    .option('--raw', '签名为 r‖s 64 字节 / the signature is r‖s (64 bytes)')
    .action((options: { pub?: string; cert?: string; in: string; sig: string; id: string; raw?: boolean }) => {
      const publicKey = publicKeyFrom(options)
      const data = readInput(options.in, '原文 / data')
      const signature = readInput(options.sig, '签名 / signature')
      let valid = false
      let reason = ''
      try {
        valid = sm2Verify(data, signature, publicKey, { id: options.id, encoding: options.raw ? 'raw' : 'der' })
      } catch (error) {
        if (!isGmError(error, 'INVALID_SIGNATURE')) throw error
        reason = `: ${error.message}`
      }
      process.stdout.write(valid ? '签名有效 / signature valid\n' : `签名无效 / signature invalid${reason}\n`)
      if (!valid) process.exitCode = EXIT_INVALID
    })

  sm2
    .command('encrypt')
    .description('SM2 公钥加密 / encrypt to an SM2 public key')
    .option('--pub <file>', '公钥 PEM / public key PEM')
    .option('--cert <file>', '证书 / certificate')
    .requiredOption('--in <file>', '明文 / plaintext')
    .option('--out <file>', '密文 / ciphertext (default: standard output)')
    .option('--format <format>', 'asn1 (GM/T 0009, OpenSSL) | c1c3c2', 'asn1')
    .action((options: { pub?: string; cert?: string; in: string; out?: string; format: string }) => {
      if (options.format !== 'asn1' && options.format !== 'c1c3c2') throw new UsageError('--format: asn1 | c1c3c2')
      writeOutput(
        options.out,
        sm2Encrypt(publicKeyFrom(options), readInput(options.in, '明文 / plaintext'), { format: options.format }),
      )
    })

  sm2
    .command('decrypt')
    .description('SM2 私钥解密 / decrypt with an SM2 private key')
    .requiredOption('--key <file>', '私钥 PEM / private key PEM')
    .requiredOption('--in <file>', '密文 / ciphertext')
    .option('--out <file>', '明文 / plaintext (default: standard output)')
    .option('--format <format>', 'asn1 | c1c3c2', 'asn1')
    .action((options: { key: string; in: string; out?: string; format: string }) => {
      if (options.format !== 'asn1' && options.format !== 'c1c3c2') throw new UsageError('--format: asn1 | c1c3c2')
      const plaintext = sm2Decrypt(privateKeyFrom(options.key), readInput(options.in, '密文 / ciphertext'), {
        format: options.format,
      })
      writeOutput(options.out, plaintext, { secret: true })
    })
}
