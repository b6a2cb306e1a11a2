import {
  bytesToHex,
  hmacSm3,
  sm3,
  sm4Ctr,
  sm4DecryptCbc,
  sm4DecryptEcb,
  sm4EncryptCbc,
  sm4EncryptEcb,
  sm4GcmDecrypt,
  sm4GcmEncrypt,
} from '@yiqian/gm'
import type { Command } from 'commander'
import { UsageError } from '../usage-error.js'
import { hexOption, readInput, writeOutput } from './io.js'

/** `yiqian sm3`: the digest (or HMAC-SM3) in hex, like `openssl dgst -sm3 -r`. */
export function sm3Command(program: Command): void {
  program
    .command('sm3')
    .description('SM3 杂凑或 HMAC-SM3，十六进制输出 / SM3 digest or HMAC-SM3, printed in hex')
    .option('--in <file>', '输入文件，- 为标准输入 / input file, - for standard input', '-')
    .option('--hmac-key <hex>', 'HMAC 密钥（十六进制）/ HMAC key (hex)')
    .action((options: { in: string; hmacKey?: string }) => {
      const data = readInput(options.in, '输入 / input')
      const digest = options.hmacKey ? hmacSm3(hexOption(options.hmacKey, '--hmac-key'), data) : sm3(data)
      process.stdout.write(`${bytesToHex(digest)}\n`)
    })
}

type Mode = 'ecb' | 'cbc' | 'ctr' | 'gcm'
interface Sm4Options {
  key: string
  iv?: string
  aad?: string
  mode: string
  in: string
  out?: string
  padding: boolean
}

function sm4(direction: 'encrypt' | 'decrypt', options: Sm4Options): Uint8Array {
  const mode = options.mode as Mode
  if (!['ecb', 'cbc', 'ctr', 'gcm'].includes(mode)) throw new UsageError('--mode: ecb | cbc | ctr | gcm')
  const key = hexOption(options.key, '--key', 16)
  const data = readInput(options.in, '输入 / input')
  const padding = options.padding ? 'pkcs7' : 'none'
  if (mode === 'ecb') {
    if (options.iv) throw new UsageError('--iv: ECB 模式不用 IV / ECB takes no IV')
    return direction === 'encrypt' ? sm4EncryptEcb(key, data, { padding }) : sm4DecryptEcb(key, data, { padding })
  }
  if (!options.iv) throw new UsageError(`--iv: ${mode.toUpperCase()} 模式需要 IV / ${mode.toUpperCase()} needs --iv`)
  if (mode === 'gcm') {
    // Ciphertext and tag travel together: ciphertext ‖ 16-byte tag.
    const nonce = hexOption(options.iv, '--iv', 12)
    const aad = options.aad ? hexOption(options.aad, '--aad') : new Uint8Array(0)
    if (direction === 'encrypt') {
      const { ciphertext, tag } = sm4GcmEncrypt(key, nonce, data, aad)
      const out = new Uint8Array(ciphertext.length + tag.length)
      out.set(ciphertext)
      out.set(tag, ciphertext.length)
      return out
    }
    if (data.length < 16) throw new UsageError('输入短于认证标签 / input shorter than the 16-byte tag')
    return sm4GcmDecrypt(key, nonce, data.subarray(0, data.length - 16), data.subarray(data.length - 16), aad)
  }
  const iv = hexOption(options.iv, '--iv', 16)
  if (mode === 'ctr') return sm4Ctr(key, iv, data)
  return direction === 'encrypt' ? sm4EncryptCbc(key, iv, data, { padding }) : sm4DecryptCbc(key, iv, data, { padding })
}

/** `yiqian sm4 encrypt|decrypt`: raw keys and IVs in hex, as `openssl enc -K -iv` takes them. */
export function sm4Command(program: Command): void {
  const group = program.command('sm4').description('SM4 加解密 / SM4 encryption and decryption')
  for (const direction of ['encrypt', 'decrypt'] as const) {
    group
      .command(direction)
      .description(direction === 'encrypt' ? 'SM4 加密 / encrypt' : 'SM4 解密 / decrypt')
      .requiredOption('--key <hex>', '16 字节密钥（十六进制）/ 16-byte key (hex)')
      .option('--mode <mode>', 'ecb | cbc | ctr | gcm', 'cbc')
      .option('--iv <hex>', 'IV（CBC/CTR 16 字节，GCM 12 字节）/ IV (16 bytes for CBC/CTR, 12 for GCM)')
      .option('--aad <hex>', 'GCM 附加认证数据 / GCM associated data (hex)')
      .option('--no-padding', '不使用 PKCS#7 填充（ECB/CBC）/ no PKCS#7 padding (ECB/CBC)')
      .requiredOption('--in <file>', '输入文件，- 为标准输入 / input file, - for standard input')
      .option('--out <file>', '输出文件 / output file (default: standard output)')
      .action((options: Sm4Options) => {
        writeOutput(options.out, sm4(direction, options), { secret: direction === 'decrypt' })
      })
  }
}
