import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Pkcs11Config } from './pkcs11-key-store.js'

/** Where Debian's `softhsm2` package puts the module. */
export const SOFTHSM2_MODULE = process.env.YIQIAN_TEST_SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so'

/** Why SoftHSM2 cannot be used here, or undefined when it can. */
export function softHsmMissing(): string | undefined {
  if (!existsSync(SOFTHSM2_MODULE)) return `${SOFTHSM2_MODULE} is missing (apt-get install softhsm2)`
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'softhsm2-util is not on PATH (apt-get install softhsm2)'
  }
  return undefined
}

/** A throw-away SoftHSM2 token in a folder of its own. */
export interface SoftHsmToken {
  readonly dir: string
  /** The softhsm2.conf whose token directory is inside `dir`. */
  readonly confPath: string
  readonly label: string
  readonly pin: string
  readonly soPin: string
  /** A file holding the user PIN (mode 0600), as `pinSource` expects. */
  readonly pinFile: string
  readonly config: Pkcs11Config
  /** Writes `pin` into a new file in `dir` and returns its path: for wrong-PIN tests. */
  writePinFile(pin: string): Promise<string>
  /** Restores SOFTHSM2_CONF and deletes the folder (close every store first). */
  cleanup(): Promise<void>
}

/**
 * Creates a SoftHSM2 token in a temporary folder and points SOFTHSM2_CONF at it. SoftHSM2 reads SOFTHSM2_CONF when
 * the module is initialised, so call this before any store over the module connects, and close every such store
 * before `cleanup` (the last one to close finalises the module, and the next one reads SOFTHSM2_CONF afresh). The
 * library reads the C environment, which `process.env` writes through to only in the main thread of a process: run
 * such tests in a process of their own (Vitest's default `forks` pool), not in a worker thread.
 */
export async function createSoftHsmToken(options: { readonly label?: string } = {}): Promise<SoftHsmToken> {
  const dir = await mkdtemp(join(tmpdir(), 'yiqian-softhsm-'))
  const tokenDir = join(dir, 'tokens')
  const confPath = join(dir, 'softhsm2.conf')
  const label = options.label ?? `yiqian-test-${randomBytes(4).toString('hex')}`
  const pin = randomBytes(8).toString('hex')
  const soPin = randomBytes(8).toString('hex')
  await writeFile(
    confPath,
    [
      `directories.tokendir = ${tokenDir}`,
      'objectstore.backend = file',
      'log.level = ERROR',
      'slots.removable = false',
      '',
    ].join('\n'),
  )
  await mkdir(tokenDir, { mode: 0o700 })
  const env = { ...process.env, SOFTHSM2_CONF: confPath }
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], {
    env,
    stdio: 'pipe',
  })
  const previous = process.env.SOFTHSM2_CONF
  process.env.SOFTHSM2_CONF = confPath
  let pins = 0
  const writePinFile = async (value: string) => {
    const path = join(dir, `pin-${++pins}`)
    await writeFile(path, `${value}\n`, { mode: 0o600 })
    return path
  }
  const pinFile = await writePinFile(pin)
  return {
    dir,
    confPath,
    label,
    pin,
    soPin,
    pinFile,
    config: { modulePath: SOFTHSM2_MODULE, token: label, pinSource: pinFile },
    writePinFile,
    async cleanup() {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF
      else process.env.SOFTHSM2_CONF = previous
      await rm(dir, { recursive: true, force: true })
    },
  }
}
