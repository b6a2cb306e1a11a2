import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CertificateAuthority, Clock, Department, IssuedCertificate, StaffMember, UnitOfWork } from '@yiqian/core'
import pg from 'pg'
import { type DialectName, openStorage, type Storage } from './database.js'
import { migrateToLatest } from './migrate.js'
import { createUnitOfWork } from './unit-of-work.js'

/** A throw-away database for one test file: a temporary SQLite folder, or a PostgreSQL database of its own. */
export interface TestDatabase {
  readonly kind: DialectName
  /** Undefined for SQLite (the data folder holds the file). */
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  drop(): Promise<void>
}

/** The server that test runs create their databases on; the user needs CREATEDB. */
export const TEST_PG_ADMIN_URL = process.env.YIQIAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Which databases this run covers: `YIQIAN_TEST_DATABASES=sqlite,postgres` (default sqlite). */
export function testDialects(): DialectName[] {
  const wanted = (process.env.YIQIAN_TEST_DATABASES ?? 'sqlite').split(',').map((s) => s.trim())
  for (const w of wanted) if (w !== 'sqlite' && w !== 'postgres') throw new Error(`YIQIAN_TEST_DATABASES: unknown ${w}`)
  return wanted as DialectName[]
}

export async function createTestDatabase(kind: DialectName): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yiqian-test-'))
  if (kind === 'sqlite') {
    return { kind, databaseUrl: undefined, dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) }
  }
  const name = `yiqian_test_${randomBytes(6).toString('hex')}`
  await withAdmin((c) => c.query(`create database ${name}`))
  const url = new URL(TEST_PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    kind,
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`))
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

async function withAdmin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL })
  await client.connect()
  try {
    await fn(client)
  } finally {
    await client.end()
  }
}

/** A migrated throw-away database with a unit of work on it, for storage contract tests. */
export interface TestStorage {
  readonly storage: Storage
  readonly uow: UnitOfWork
  /** Closes the connection and drops the database. */
  close(): Promise<void>
}

export async function openTestStorage(kind: DialectName, clock: Clock): Promise<TestStorage> {
  const testDb = await createTestDatabase(kind)
  const storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
  const close = async () => {
    await storage.close()
    await testDb.drop()
  }
  try {
    await migrateToLatest(storage.db)
  } catch (error) {
    await close()
    throw error
  }
  return { storage, uow: createUnitOfWork(storage.db, clock), close }
}

/** An active SM2 CA row with random certificate bytes (nothing parses them), for repository tests. */
export function testAuthority(
  fields: Partial<CertificateAuthority> & Pick<CertificateAuthority, 'createdAt'>,
): CertificateAuthority {
  return {
    id: `ca-${randomBytes(8).toString('hex')}`,
    name: 'Test CA',
    keyUri: `soft:ca-${randomBytes(8).toString('hex')}`,
    algorithm: 'sm2',
    certificate: new Uint8Array(randomBytes(300)),
    chain: [],
    parentId: undefined,
    status: 'active',
    crl: undefined,
    crlNumber: 0,
    crlNextUpdate: undefined,
    ocspResponder: undefined,
    ...fields,
  }
}

/**
 * An active staff-sign certificate row of staff-1 with random DER bytes, for repository tests; it was made and last
 * changed at `notBefore` unless `fields` say otherwise.
 */
export function testCertificate(
  issuerId: string,
  fields: Partial<IssuedCertificate> & Pick<IssuedCertificate, 'notBefore' | 'notAfter'>,
): IssuedCertificate {
  return {
    kind: 'certificate',
    id: randomUUID(),
    serialHex: `4${randomBytes(15).toString('hex').slice(1)}`,
    issuerId,
    subject: 'CN=test',
    staffId: 'staff-1',
    holderId: 'staff-1',
    holderActor: undefined,
    profile: 'staff-sign',
    ca: false,
    status: 'active',
    statusChangedAt: fields.notBefore,
    revocation: undefined,
    supersededBy: undefined,
    version: 1,
    der: new Uint8Array(randomBytes(100)),
    createdAt: fields.notBefore,
    ...fields,
  }
}

/** An active department row, its code its id, for repository and API tests. */
export function testDepartment(
  fields: Partial<Department> & Pick<Department, 'id' | 'institutionId' | 'name' | 'createdAt'>,
): Department {
  return {
    code: fields.id,
    parentId: undefined,
    status: 'active',
    updatedAt: fields.createdAt,
    version: 1,
    ...fields,
  }
}

/** An active staff member row without title, phone or ID document, employee number its id, for tests. */
export function testStaffMember(
  fields: Partial<StaffMember> & Pick<StaffMember, 'id' | 'institutionId' | 'name' | 'departmentIds' | 'createdAt'>,
): StaffMember {
  return {
    employeeNumber: fields.id,
    title: '',
    status: 'active',
    phone: undefined,
    idDocument: undefined,
    updatedAt: fields.createdAt,
    version: 1,
    ...fields,
  }
}
