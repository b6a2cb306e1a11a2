import { describe, expect, it } from 'vitest'
import type { Repositories, UnitOfWork } from '../unit-of-work.js'
import type { TsaTokenRecord } from './time-stamp-authority.js'
import { createTokenRecorder } from './token-recorder.js'

const record = (i: number): TsaTokenRecord => ({
  serialHex: i.toString(16).padStart(2, '0'),
  unitId: 'tsa-0000000000000001',
  certificateSerial: '01',
  genTime: new Date(0),
  hashAlgorithm: 'SM3',
  imprint: '00'.repeat(32),
  policy: '1.2.3',
  requesterIp: '127.0.0.1',
})

/** A unit of work whose token inserts are recorded (and fail while `failing`). */
function fakeUow() {
  const batches: string[][] = []
  const state = { failing: false, delayMs: 5, active: 0, maxActive: 0 }
  const uow: UnitOfWork = {
    run: async (fn) =>
      fn({
        tsa: {
          insertTokens: async (rows: readonly TsaTokenRecord[]) => {
            state.maxActive = Math.max(state.maxActive, ++state.active)
            await new Promise((r) => setTimeout(r, state.delayMs))
            state.active--
            if (state.failing) throw new Error('disk full')
            batches.push(rows.map((r) => r.serialHex))
          },
        },
      } as unknown as Repositories),
    read: async () => {
      throw new Error('not used')
    },
  }
  return { uow, batches, state }
}

describe('token recorder (group commit)', () => {
  it('writes tokens recorded together in one batch, and resolves each only after its batch is written', async () => {
    const { uow, batches } = fakeUow()
    const recorder = createTokenRecorder(uow, { delayMs: 2 })
    const done: number[] = []
    await Promise.all(Array.from({ length: 50 }, (_, i) => recorder.record(record(i)).then(() => done.push(i))))
    expect(batches.flat()).toHaveLength(50)
    expect(batches.length).toBeLessThanOrEqual(2)
    expect(done).toHaveLength(50)
  })

  it('caps a batch at maxBatch and keeps the order', async () => {
    const { uow, batches } = fakeUow()
    const recorder = createTokenRecorder(uow, { delayMs: 1, maxBatch: 10 })
    await Promise.all(Array.from({ length: 35 }, (_, i) => recorder.record(record(i))))
    expect(batches.map((b) => b.length)).toEqual([10, 10, 10, 5])
    expect(batches.flat()).toEqual(Array.from({ length: 35 }, (_, i) => record(i).serialHex))
  })

  it('rejects every request of a batch that could not be written, and goes on with the next', async () => {
    const { uow, batches, state } = fakeUow()
    const recorder = createTokenRecorder(uow, { delayMs: 1 })
    state.failing = true
    const failed = await Promise.allSettled([recorder.record(record(1)), recorder.record(record(2))])
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected'])
    state.failing = false
    await recorder.record(record(3))
    expect(batches).toEqual([['03']])
  })

  it('flush writes what is buffered', async () => {
    const { uow, batches } = fakeUow()
    const recorder = createTokenRecorder(uow, { delayMs: 10_000 })
    const pending = recorder.record(record(9))
    await recorder.flush()
    await pending
    expect(batches).toEqual([['09']])
  })
})

describe('token recorder concurrency', () => {
  it('starts the next batch while a slow one is being written, never more than maxConcurrent at once', async () => {
    const { uow, batches, state } = fakeUow()
    state.delayMs = 50
    const recorder = createTokenRecorder(uow, { delayMs: 1, maxBatch: 5, maxConcurrent: 2 })
    const ids = Array.from({ length: 20 }, (_, i) => i)
    const first = ids.slice(0, 5).map((i) => recorder.record(record(i)))
    await new Promise((r) => setTimeout(r, 10))
    // The first batch is still being written: these start a second one beside it; the rest wait for a free slot.
    const rest = ids.slice(5).map((i) => recorder.record(record(i)))
    await Promise.all([...first, ...rest])
    expect(state.maxActive).toBe(2)
    expect(batches.flat().sort()).toEqual(ids.map((i) => record(i).serialHex).sort())
    expect(batches.map((b) => b.length)).toEqual([5, 5, 5, 5])
  })
})
