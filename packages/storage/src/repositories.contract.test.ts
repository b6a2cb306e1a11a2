import { type Account, type Clock, DomainError, isDomainError, verifyAuditChain } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from './database.js'
import { MigrationError, migrateToLatest, migrationStatus } from './migrate.js'
import { createTestDatabase, type TestDatabase, testDialects } from './testing.js'
import { createUnitOfWork } from './unit-of-work.js'

// One body, run on every database this run covers: SQLite in `npm test`, PostgreSQL in `npm run test:pg`.
const clock: Clock = { now: () => new Date('2026-11-28T08:00:00.000Z') }

function admin(username: string, overrides: Partial<Account> = {}): Account {
  return {
    id: `id-${username}`,
    username,
    displayName: `管理员 ${username}`,
    roles: ['sysadmin'],
    departmentIds: [],
    status: 'active',
    passwordHash: 'scrypt$1$1$1$c2FsdA$a2V5',
    mustChangePassword: false,
    passwordChangedAt: undefined,
    totpSecret: undefined,
    totpLastStep: undefined,
    failedLogins: 0,
    lockedUntil: undefined,
    lastLoginAt: undefined,
    createdAt: new Date('2026-11-28T07:00:00.000Z'),
    version: 1,
    ...overrides,
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return error.code
    throw error
  }
  return undefined
}

for (const kind of testDialects()) {
  describe(`${kind}: storage contract`, () => {
    let testDb: TestDatabase
    let storage: Storage

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
    })
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })

    it('reports migrations as current, and migrating again applies nothing', async () => {
      expect(storage.dialect).toBe(kind)
      const status = await migrationStatus(storage.db)
      expect(status.pending).toEqual([])
      expect(status.applied).toContain('0001-foundation')
      expect(status.unknown).toEqual([])
      expect(await migrateToLatest(storage.db)).toEqual([])
    })

    it('notices a database that is newer than this build and refuses to migrate it', async () => {
      const table = 'kysely_migration' as never
      await storage.db
        .insertInto(table)
        .values({ name: '9999-from-the-future', timestamp: new Date().toISOString() } as never)
        .execute()
      try {
        expect((await migrationStatus(storage.db)).unknown).toEqual(['9999-from-the-future'])
        await expect(migrateToLatest(storage.db)).rejects.toBeInstanceOf(MigrationError)
      } finally {
        await storage.db
          .deleteFrom(table)
          .where('name' as never, '=', '9999-from-the-future' as never)
          .execute()
      }
      expect((await migrationStatus(storage.db)).unknown).toEqual([])
    })

    it('stores and reads back an administrator with Chinese text, roles and times intact', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      const alice = admin('alice', { roles: ['secadmin', 'auditor'], mustChangePassword: true })
      await uow.run((tx) => tx.accounts.insert(alice))
      const back = await uow.run((tx) => tx.accounts.findByUsername('alice'))
      expect(back).toEqual(alice)
      expect(await uow.run((tx) => tx.accounts.findByUsername('nobody'))).toBeUndefined()
      expect(await codeOf(uow.run((tx) => tx.accounts.getOrThrow('missing')))).toBe('ACCOUNT_NOT_FOUND')
    })

    it('refuses a second administrator with the same username', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      await uow.run((tx) => tx.accounts.insert(admin('bob')))
      expect(await codeOf(uow.run((tx) => tx.accounts.insert(admin('bob', { id: 'other' }))))).toBe('ACCOUNT_EXISTS')
    })

    it('saves with optimistic versions and rejects a stale write', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      const carol = admin('carol')
      await uow.run((tx) => tx.accounts.insert(carol))
      await uow.run((tx) => tx.accounts.update({ ...carol, displayName: '新名字', version: 2 }))
      expect(await codeOf(uow.run((tx) => tx.accounts.update({ ...carol, version: 2 })))).toBe('VERSION_CONFLICT')
      expect((await uow.run((tx) => tx.accounts.getOrThrow(carol.id))).displayName).toBe('新名字')
    })

    it('rolls back every write of a unit of work that fails, audit included', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      const before = await storage.db.selectFrom('audit_events').select('seq').execute()
      const failure = uow.run(async (tx) => {
        await tx.accounts.insert(admin('dave'))
        await tx.audit.append({ type: 'administrator.created', actor: 'test', subject: 'id-dave' })
        throw new DomainError('VERSION_CONFLICT', 'simulated failure after the writes')
      })
      expect(await codeOf(failure)).toBe('VERSION_CONFLICT')
      expect(await uow.run((tx) => tx.accounts.findByUsername('dave'))).toBeUndefined()
      expect(await storage.db.selectFrom('audit_events').select('seq').execute()).toEqual(before)
      const head = await storage.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()
      expect(Number(head.seq)).toBe(before.length)
    })

    it('keeps one gap-free audit chain under concurrent units of work', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      const start = await storage.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          uow.run((tx) => tx.audit.append({ type: 'test.concurrent', actor: `worker-${i}`, data: { i, 名: '值' } })),
        ),
      )
      const records = await uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
      expect(records).toHaveLength(Number(start.seq) + 25)
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1))
      expect(() => verifyAuditChain(records)).not.toThrow()
      expect(records.at(-1)?.data).toMatchObject({ 名: '值' })
    })

    it('chains several appends per unit of work while other units of work append at the same time', async () => {
      // After its first append a transaction reuses the head it holds the lock of: the chain must stay whole.
      const uow = createUnitOfWork(storage.db, clock)
      const before = await storage.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()
      await Promise.all(
        Array.from({ length: 8 }, (_, w) =>
          uow.run(async (tx) => {
            for (let i = 0; i < 5; i++) await tx.audit.append({ type: 'test.many', actor: `w${w}`, data: { i } })
          }),
        ),
      )
      const head = await storage.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()
      const records = await uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
      expect(Number(head.seq)).toBe(Number(before.seq) + 40)
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1))
      expect(head.hash).toBe(records.at(-1)?.hash)
      expect(() => verifyAuditChain(records)).not.toThrow()
      // Each unit of work's five records are consecutive: the head lock was held from its first append to commit.
      const many = records.filter((r) => r.type === 'test.many')
      for (let k = 0; k < many.length; k += 5) {
        expect(new Set(many.slice(k, k + 5).map((r) => r.actor)).size).toBe(1)
      }
    })

    it('detects a record altered in the database behind the application', async () => {
      const uow = createUnitOfWork(storage.db, clock)
      await uow.run((tx) => tx.audit.append({ type: 'test.tamper', actor: 'honest' }))
      const last = await storage.db
        .selectFrom('audit_events')
        .select('seq')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow()
      await storage.db.updateTable('audit_events').set({ actor: 'mallory' }).where('seq', '=', last.seq).execute()
      const records = await uow.run((tx) => tx.audit.range(1, Number.MAX_SAFE_INTEGER))
      expect(() => verifyAuditChain(records)).toThrowError(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN' }))
    })
  })
}
