import { randomBytes, randomUUID } from 'node:crypto'
import {
  type Account,
  type CaService,
  type Clock,
  createRegisterClientSystem,
  createSecretBox,
  generateTotpSecret,
  hashPassword,
  newAccount,
  type Role,
  requestSignature,
  type StaffMember,
  systemClock,
  type TimeStampAuthorityDeps,
  type TimeSyncProblem,
  type TimeSyncStatus,
  type TrustedInstant,
  type TrustedTime,
  totpCode,
} from '@yiqian/core'
import { bytesToHex, createSigner, generateSm2KeyPair, sm2PrivateKeyToPem, sm3 } from '@yiqian/gm'
import { buildCsr, csrToPem } from '@yiqian/pki'
import { type DialectName, migrateToLatest, openStorage, type Storage } from '@yiqian/storage'
import { createTestDatabase, type TestDatabase, testDepartment, testStaffMember } from '@yiqian/storage/testing'
import type { FastifyInstance } from 'fastify'
import type { AppServices } from './app.js'
import { buildApp } from './app.js'
import { createAppServices } from './services.js'

export type { TestSntpServer, TestSntpServerOptions } from './time/test-sntp-server.js'
export { startTestSntpServer } from './time/test-sntp-server.js'

// In-process test support: the real app over a fresh test database, driven with `app.inject`.

export interface TestApp {
  readonly app: FastifyInstance
  readonly services: AppServices
  readonly storage: Storage
  readonly clock: Clock
  close(): Promise<void>
}

export async function createTestApp(
  options: {
    dialect?: DialectName
    clock?: Clock
    services?: (base: AppServices) => AppServices
    /** With a key store under a random KEK, the CA service and the RA's issuer (no hierarchy yet). */
    ca?: boolean
    /** The TSA's time (see testTrustedTime); without it the TSA answers timeNotAvailable, as in production. */
    trustedTime?: TrustedTime
    tsa?: Pick<TimeStampAuthorityDeps, 'onSourcesChanged' | 'onSettingsChanged' | 'snapshotTtlMs'>
  } = {},
): Promise<TestApp> {
  const testDb: TestDatabase = await createTestDatabase(options.dialect ?? 'sqlite')
  const storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
  await migrateToLatest(storage.db)
  const clock = options.clock ?? systemClock
  const base = createAppServices({
    db: storage.db,
    clock,
    secretBox: createSecretBox(randomBytes(32)),
    ...(options.ca && { kek: randomBytes(32), publicBaseUrl: 'http://127.0.0.1' }),
    trustedTime: options.trustedTime,
    tsa: options.tsa,
  })
  const services = options.services ? options.services(base) : base
  const app = await buildApp({
    version: '0.0.0-test',
    services,
    logger: false,
    bodyLimit: 1024 * 1024,
    webApps: [],
    readiness: async () => ({
      database: { status: 'ok', dialect: storage.dialect },
      migrations: { status: 'current', pending: [] },
    }),
  })
  await app.ready()
  return {
    app,
    services,
    storage,
    clock,
    async close() {
      await app.close()
      await storage.close()
      await testDb.drop()
    },
  }
}

/**
 * A TrustedTime for tests: the wall clock (or `now`, when set) with a fixed error bound; with `refuse` set it fails
 * closed with `problem`, as the SNTP synchroniser does when the sources disagree.
 */
export function testTrustedTime(
  options: { now?: Date; accuracyMs?: number; problem?: TimeSyncProblem } = {},
): TrustedTime & { refuse: boolean; now: Date | undefined } {
  const accuracyMs = options.accuracyMs ?? 20
  const problem = options.problem ?? 'no-majority'
  const time = {
    refuse: false,
    now: options.now,
    read: (): TrustedInstant =>
      time.refuse ? { ok: false, problem } : { ok: true, time: time.now ?? new Date(), accuracyMs },
    status: (): TimeSyncStatus => ({
      state: time.refuse ? 'unsynchronised' : 'synchronised',
      ...(time.refuse && { problem }),
      offsetMs: 0,
      jitterMs: 0,
      errorMs: accuracyMs,
      toleranceMs: 100,
      holdoverMs: 3_600_000,
      sources: [],
    }),
  }
  return time
}

/** The CA service of an app made with `createTestApp({ ca: true })`. */
export function caOf(testApp: TestApp): CaService {
  const { ca } = testApp.services
  if (!ca) throw new Error('no CA service: createTestApp({ ca: true })')
  return ca
}

export interface SignedIn {
  readonly account: Account
  readonly password: string
  readonly totpSecret: string
  /** Cookie and CSRF token: spread into `app.inject({ headers })`. */
  readonly headers: { readonly cookie: string; readonly 'x-csrf-token': string }
}

/**
 * Creates an account with `roles` (password set, TOTP enrolled) straight in the database, then signs it in over
 * HTTP like a browser would.
 */
export async function signInAs(
  testApp: TestApp,
  roles: readonly Role[],
  options: { departmentIds?: readonly string[]; username?: string } = {},
): Promise<SignedIn> {
  const password = `Pw-${randomBytes(9).toString('base64url')}-1a`
  const totpSecret = generateTotpSecret()
  const id = randomUUID()
  const now = testApp.clock.now()
  const account = newAccount({
    id,
    username: options.username ?? `u-${roles.join('-') || 'none'}-${id.slice(0, 8)}`,
    displayName: `测试 ${roles.join(',')}`,
    roles,
    departmentIds: options.departmentIds ?? [],
    passwordHash: await hashPassword(password),
    mustChangePassword: false,
    passwordChangedAt: now,
    totpSecret: testApp.services.secretBox.seal(totpSecret, `accounts.totp_secret:${id}`),
    createdAt: now,
  })
  await testApp.services.uow.run((tx) => tx.accounts.insert(account))
  const response = await testApp.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: account.username, password, totpCode: totpCode(totpSecret, now) },
  })
  if (response.statusCode !== 200) throw new Error(`sign-in as ${roles.join(',')} failed: ${response.body}`)
  const session = response.json() as { csrfToken: string }
  const cookie = response.cookies.find((c) => c.name === 'yiqian_session')
  if (!cookie) throw new Error('no session cookie')
  return {
    account,
    password,
    totpSecret,
    headers: { cookie: `yiqian_session=${cookie.value}`, 'x-csrf-token': session.csrfToken },
  }
}

/** Services for tests that only reach public routes (health, documentation): any use fails loudly. */
export function publicRoutesOnlyServices(): AppServices {
  const refuse = (): never => {
    throw new Error('this test app has no database: only public routes work')
  }
  return {
    uow: { run: refuse, read: refuse },
    clock: systemClock,
    secretBox: createSecretBox(randomBytes(32)),
    access: new Proxy({} as AppServices['access'], { get: () => refuse }),
    accounts: new Proxy({} as AppServices['accounts'], { get: () => refuse }),
    db: new Proxy({} as AppServices['db'], { get: () => refuse }),
    authenticators: [],
  }
}

export interface RegisteredClientSystem {
  readonly appId: string
  readonly secret: string
  /** HMAC-SM3 signature headers for one request, as a clinical system would send them. */
  sign(method: string, path: string, body?: string): Record<string, string>
}

/** Registers a client system straight through the use case and signs requests as it would. */
export async function registerClientSystem(
  testApp: TestApp,
  scope: { departmentIds: string[]; documentTypes: string[] } = { departmentIds: ['*'], documentTypes: ['*'] },
): Promise<RegisteredClientSystem> {
  const register = createRegisterClientSystem(testApp.services)
  const code = `TEST${randomBytes(3).toString('hex').toUpperCase()}`
  const issued = await register(
    { code, name: `测试业务系统 ${code}`, scope, rateLimitPerMinute: 100_000 },
    { actor: 'system', actorRole: '', source: 'local', requestId: '' },
  )
  const { appId } = issued.system
  return {
    appId,
    secret: issued.secret,
    sign(method, path, body = '') {
      const timestamp = String(testApp.clock.now().getTime())
      const nonce = randomBytes(16).toString('base64url')
      const signature = requestSignature(issued.secret, {
        method,
        path,
        timestamp,
        nonce,
        bodySm3: bytesToHex(sm3(body)),
      })
      return {
        'x-yiqian-app-id': appId,
        'x-yiqian-timestamp': timestamp,
        'x-yiqian-nonce': nonce,
        'x-yiqian-signature': Buffer.from(signature).toString('base64'),
      }
    },
  }
}

/** A PKCS #10 request (PEM) for a fresh SM2 key, signed by it; the subject is ignored by the RA. */
export async function sm2Csr(): Promise<string> {
  const { privateKey } = generateSm2KeyPair()
  return csrToPem(
    await buildCsr({ subject: [{ CN: 'test applicant' }], signer: createSigner(sm2PrivateKeyToPem(privateKey)) }),
  )
}

/** An institution with two departments and `count` active staff members (employee numbers E1…), for RA tests. */
export async function seedStaff(
  testApp: TestApp,
  count: number,
): Promise<{ institutionId: string; departmentIds: [string, string]; staffIds: string[] }> {
  const now = testApp.clock.now()
  const institutionId = randomUUID()
  const departmentIds: [string, string] = [randomUUID(), randomUUID()]
  const staff: StaffMember[] = Array.from({ length: count }, (_, i) =>
    testStaffMember({
      id: randomUUID(),
      institutionId,
      employeeNumber: `E${i + 1}`,
      name: `员工${i + 1}`,
      title: '医师',
      departmentIds: [departmentIds[i % 2] as string],
      createdAt: now,
    }),
  )
  await testApp.services.uow.run(async (tx) => {
    await tx.institutions.insert({
      id: institutionId,
      code: `H-${institutionId.slice(0, 8)}`,
      name: '测试医院',
      parentId: undefined,
      createdAt: now,
      version: 1,
    })
    await tx.departments.insertMany(
      departmentIds.map((id, i) =>
        testDepartment({ id, institutionId, code: `D${i}`, name: i === 0 ? '心内科' : '外科', createdAt: now }),
      ),
    )
    for (let i = 0; i < staff.length; i += 1000) await tx.staff.insertMany(staff.slice(i, i + 1000))
  })
  return { institutionId, departmentIds, staffIds: staff.map((s) => s.id) }
}
