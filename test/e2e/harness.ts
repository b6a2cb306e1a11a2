import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Runs the real `yiqian` command from source, as a separate process. */
export function yiqian(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=yiqian-source', '--import', 'tsx', 'packages/cli/src/main.ts', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, YIQIAN_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
}

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export function finish(child: ChildProcess): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => {
    stdout += d
  })
  child.stderr?.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

export interface RunningServer {
  readonly url: string
  readonly child: ChildProcess
  /** Everything the process has written so far. */
  output(): { stdout: string; stderr: string }
  /** Resolves when the process exits. */
  readonly exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `yiqian serve` on a free port and waits for the line that announces its URL. */
export async function startServer(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunningServer> {
  const child = yiqian(['serve'], { YIQIAN_PORT: '0', YIQIAN_HOST: '127.0.0.1', ...env })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => {
    stdout += d
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}\n${stdout}`)), timeoutMs)
    child.stderr?.on('data', (d) => {
      stderr += d
      const match = /started: (http:\/\/\S+)/.exec(stderr)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${stderr}\n${stdout}`))
    })
  })
  return {
    url,
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}
