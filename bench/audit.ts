import { systemClock } from '@yiqian/core'
import { createUnitOfWork, type DialectName, migrateToLatest, openStorage } from '@yiqian/storage'
import { createTestDatabase } from '@yiqian/storage/testing'
import { median, type Row } from './table.js'

/** Committed units of work per second, each appending one audit record (one durable transaction each). */
export async function auditBench(dialect: DialectName, runs: number, perRun: number): Promise<Row> {
  const db = await createTestDatabase(dialect)
  const storage = openStorage({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })
  try {
    await migrateToLatest(storage.db)
    const uow = createUnitOfWork(storage.db, systemClock)
    const rates: number[] = []
    const latencies: number[] = []
    for (let r = 0; r < runs; r++) {
      const start = performance.now()
      for (let i = 0; i < perRun; i++) {
        const t = performance.now()
        await uow.run((tx) => tx.audit.append({ type: 'bench.appended', actor: 'bench', data: { r, i } }))
        latencies.push(performance.now() - t)
      }
      rates.push(perRun / ((performance.now() - start) / 1000))
    }
    latencies.sort((a, b) => a - b)
    return {
      operation: `audit append, one transaction each (${dialect})`,
      opsPerSecond: median(rates),
      p50Ms: latencies[Math.floor(latencies.length / 2)]!,
      p99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
    }
  } finally {
    await storage.close()
    await db.drop()
  }
}
