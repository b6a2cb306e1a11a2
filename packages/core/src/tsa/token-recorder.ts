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
}

/**
 * Group commit of the token log: tokens answered within a few milliseconds of each other are inserted in one
 * transaction, and each request is answered only after its row is durable, so a crash loses no issued token while a
 * busy TSA pays one commit per batch instead of one per token. Batches are written one after another.
 */
export function createTokenRecorder(uow: UnitOfWork, options: TokenRecorderOptions = {}): TokenRecorder {
  const delayMs = options.delayMs ?? 3
  const maxBatch = options.maxBatch ?? 500
  type Waiter = { resolve: () => void; reject: (error: unknown) => void }
  const buffer: TsaTokenRecord[] = []
  const waiters: Waiter[] = []
  let timer: NodeJS.Timeout | undefined
  let scheduled = false
  /** Batches are chained: the next takes everything buffered while the previous one was being written. */
  let writing: Promise<void> = Promise.resolve()

  async function drain(): Promise<void> {
    scheduled = false
    const batch = buffer.splice(0, maxBatch)
    const waiting = waiters.splice(0, batch.length)
    if (batch.length === 0) return
    try {
      await uow.run((tx) => tx.tsa.insertTokens(batch))
      for (const w of waiting) w.resolve()
    } catch (error) {
      for (const w of waiting) w.reject(error)
    }
    if (buffer.length > 0) schedule()
  }

  function start(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
    writing = writing.then(drain)
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    timer = setTimeout(start, delayMs)
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
      while (buffer.length > 0 || scheduled) {
        if (timer) start()
        await writing
      }
      await writing
    },
  }
}
