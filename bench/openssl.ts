import { execFileSync } from 'node:child_process'

// The OpenSSL reference, measured by `openssl speed` in the same run as our figures.

function speed(args: string[]): string {
  return execFileSync('openssl', ['speed', '-elapsed', '-mr', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
}

/** `openssl speed -evp <alg> -bytes <n>`: blocks of `bytes` per second. */
export function opensslCipherSpeed(alg: string, bytes: number, seconds: number): number {
  const out = speed(['-evp', alg, '-bytes', String(bytes), '-seconds', String(Math.max(1, Math.round(seconds)))])
  // -mr prints "+F:<n>:<alg>:<bytes per second>" for the block size asked for.
  const match = /^\+F:\d+:[^:]+:([\d.]+)$/m.exec(out)
  if (!match) throw new Error(`cannot read openssl speed output:\n${out}`)
  return Number(match[1]) / bytes
}

/**
 * `openssl speed sm2`: signatures and verifications per second (standard SM2 with SM3, 256-bit curve); with `cores`
 * above 1, `-multi` runs that many processes and the figure is their sum.
 */
export function opensslSm2Speed(seconds: number, cores = 1): { sign: number; verify: number } {
  const multi = cores > 1 ? ['-multi', String(cores)] : []
  const out = speed([...multi, '-seconds', String(Math.max(1, Math.round(seconds))), 'sm2'])
  const match = /^\+F7:\d+:256:CurveSM2:([\d.]+):([\d.]+)$/m.exec(out)
  if (!match) throw new Error(`cannot read openssl speed sm2 output:\n${out}`)
  return { sign: Number(match[1]), verify: Number(match[2]) }
}

/** `openssl speed ecdsap256`: ECDSA P-256 signatures and verifications per second (the digest is not hashed). */
export function opensslEcdsaP256Speed(seconds: number): { sign: number; verify: number } {
  const out = speed(['-seconds', String(Math.max(1, Math.round(seconds))), 'ecdsap256'])
  // -mr prints "+F4:<index>:256:<sign/s>:<verify/s>".
  const match = /^\+F4:\d+:256:([\d.]+):([\d.]+)$/m.exec(out)
  if (!match) throw new Error(`cannot read openssl speed ecdsap256 output:\n${out}`)
  return { sign: Number(match[1]), verify: Number(match[2]) }
}

export function opensslVersion(): string {
  return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim()
}
