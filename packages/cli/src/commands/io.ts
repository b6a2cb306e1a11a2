import { readFileSync, writeFileSync } from 'node:fs'
import { UsageError } from '../usage-error.js'

/** Reads a file, or standard input for `-`; a missing file is a usage error (exit 2). */
export function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path))
  } catch (error) {
    throw new UsageError(
      `无法读取${what} / cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    )
  }
}

export function readText(path: string, what: string): string {
  return new TextDecoder().decode(readInput(path, what))
}

/** Writes a file (mode 0600 for secrets), or standard output when no path is given. */
export function writeOutput(path: string | undefined, data: Uint8Array | string, { secret = false } = {}): void {
  if (path === undefined || path === '-') {
    process.stdout.write(data)
    return
  }
  try {
    writeFileSync(path, data, { mode: secret ? 0o600 : 0o644 })
  } catch (error) {
    throw new UsageError(`无法写入 / cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}

/** Hex option values (keys, IVs): even length, hex digits only. */
export function hexOption(value: string, option: string, length?: number): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new UsageError(`${option}: 必须是十六进制 / must be hex`)
  const bytes = Uint8Array.from(value.match(/../g) ?? [], (h) => Number.parseInt(h, 16))
  if (length !== undefined && bytes.length !== length) {
    throw new UsageError(`${option}: 必须是 ${length} 字节 / must be ${length} bytes (${length * 2} hex digits)`)
  }
  return bytes
}
