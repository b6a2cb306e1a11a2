import type { UnitOfWork } from '../unit-of-work.js'
import type { TsaTokenRecord } from './time-stamp-authority.js'

export interface TokenRecorder {
  /** Resolves once the row is committed (with the others of its batch); rejects when the batch failed. */
  record(token: TsaTokenRecord): Promise<void>
  /** Writes what is buffered and waits for it. */
  flush(): Promise<void>
}

export interface TokenRecorderOptions {
  /** How long the first token of a batch waits for others, ms. */
  readonly delayMs?: number
  /** A batch is written at once when it reaches this size. */
  readonly maxBatch?: number
  /**
   * Batches written at the same time. A commit waits for the disk; tokens that arrive meanwhile start the next batch
   * instead of queueing behind it, so one slow fsync does not hold every request up (default 4).
   */
  readonly maxConcurrent?: number
}

/**
 * Group commit of the token log: tokens answered within a few milliseconds of each other are inserted in one
 * transaction, and each request is answered only after its row is durable, so a crash loses no issued token while a
 * busy TSA pays one commit per batch instead of one per token.
 */
export function createTokenRecorder(uow: UnitOfWork, options: TokenRecorderOptions = {}): TokenRecorder {
  const delayMs = options.delayMs ?? 3
  const maxBatch = options.maxBatch ?? 500
  const maxConcurrent = options.maxConcurrent ?? 4
  type Waiter = { resolve: () => void; reject: (error: unknown) => void }
  const buffer: TsaTokenRecord[] = []
  const waiters: Waiter[] = []
  let timer: NodeJS.Timeout | undefined
  const writing = new Set<Promise<void>>()

  /** Starts batches from the buffer while fewer than maxConcurrent are being written. */
  function pump(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
    while (buffer.length > 0 && writing.size < maxConcurrent) {
      const batch = buffer.splice(0, maxBatch)
      const waiting = waiters.splice(0, batch.length)
      const written: Promise<void> = uow
        .run((tx) => tx.tsa.insertTokens(batch))
        .then(
          () => {
            for (const w of waiting) w.resolve()
          },
          (error: unknown) => {
            for (const w of waiting) w.reject(error)
          },
        )
        .finally(() => {
          writing.delete(written)
          // What arrived during this commit has waited long enough.
          if (buffer.length > 0) pump()
        })
      writing.add(written)
    }
  }

  function schedule(): void {
    if (!timer && writing.size < maxConcurrent) timer = setTimeout(pump, delayMs)
  }

  return {
    record(token) {
      return new Promise<void>((resolve, reject) => {
        buffer.push(token)
        waiters.push({ resolve, reject })
        schedule()
      })
    },
    async flush() {
      while (buffer.length > 0 || writing.size > 0) {
        pump()
        await Promise.allSettled([...writing])
      }
    },
  }
}
