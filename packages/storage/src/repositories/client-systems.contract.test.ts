import { randomBytes } from 'node:crypto'
import {
  type ActorContext,
  type ClientSystem,
  type Clock,
  createAuthenticateClientSystem,
  createListClientSystems,
  createRegisterClientSystem,
  createRotateClientSystemSecret,
  createSecretBox,
  createUpdateClientSystem,
  EMPTY_BODY_SM3,
  isDomainError,
  requestSignature,
  type SignedRequest,
} from '@yiqian/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from '../database.js'
import { migrateToLatest } from '../migrate.js'
import { createTestDatabase, type TestDatabase, testDialects } from '../testing.js'
import { createUnitOfWork } from '../unit-of-work.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const actor: ActorContext = { actor: 'user:admin-1', actorRole: 'sysadmin', source: '10.0.0.9', requestId: 'req-1' }

async function failureOf(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    if (isDomainError(error)) return { code: error.code, details: { ...error.details } }
    throw error
  }
  throw new Error('expected a DomainError')
}

function system(overrides: Partial<ClientSystem> = {}): ClientSystem {
  const at = new Date(T0)
  return {
    id: `cs-${randomBytes(4).toString('hex')}`,
    code: `HIS${randomBytes(3).toString('hex').toUpperCase()}`,
    name: '住院医生工作站',
    appId: `ys_${'abcdefghijklmnop'}`,
    enabled: true,
    ipAllowList: ['10.0.0.0/8', '2001:db8::/32'],
    rateLimitPerMinute: 600,
    scope: { departmentIds: ['d-icu', 'd-er'], documentTypes: ['emr.note'] },
    certificateFingerprint: undefined,
    sealedSecret: 'sealed-current',
    previousSealedSecret: undefined,
    previousSecretExpiresAt: undefined,
    secretRotatedAt: at,
    createdAt: at,
    updatedAt: at,
    version: 1,
    ...overrides,
  }
}

for (const kind of testDialects()) {
  describe(`${kind}: client systems`, () => {
    let testDb: TestDatabase
    let storage: Storage
    let now = T0
    const clock: Clock = { now: () => new Date(now) }
    const secretBox = createSecretBox(randomBytes(32))

    beforeAll(async () => {
      testDb = await createTestDatabase(kind)
      storage = openStorage({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir })
      await migrateToLatest(storage.db)
    })
    afterAll(async () => {
      await storage?.close()
      await testDb?.drop()
    })
    beforeEach(() => {
      now = T0
    })

    describe('repository', () => {
      it('stores and reads back a registration with its lists, times and sealed secrets intact', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const his = system({
          appId: 'ys_aaaaaaaaaaaaaaaa',
          previousSealedSecret: 'sealed-old',
          previousSecretExpiresAt: new Date(T0 + 60_000),
          certificateFingerprint: 'ab'.repeat(32),
        })
        await uow.run((tx) => tx.clientSystems.insert(his))
        expect(await uow.run((tx) => tx.clientSystems.getOrThrow(his.id))).toEqual(his)
        expect(await uow.run((tx) => tx.clientSystems.findByAppId(his.appId))).toEqual(his)
        expect(await uow.run((tx) => tx.clientSystems.findByAppId('ys_bbbbbbbbbbbbbbbb'))).toBeUndefined()
        expect((await failureOf(uow.run((tx) => tx.clientSystems.getOrThrow('missing')))).code).toBe(
          'CLIENT_SYSTEM_NOT_FOUND',
        )
      })

      it('refuses a second system with the same code or app id, without aborting the unit of work', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const lis = system({ code: 'LIS', appId: 'ys_cccccccccccccccc' })
        await uow.run((tx) => tx.clientSystems.insert(lis))
        for (const clash of [{ code: 'LIS' }, { appId: lis.appId }]) {
          expect((await failureOf(uow.run((tx) => tx.clientSystems.insert(system(clash))))).code).toBe(
            'CLIENT_SYSTEM_EXISTS',
          )
        }
      })

      it('saves with optimistic versions and rejects a stale write', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const pacs = system({ code: 'PACS', appId: 'ys_dddddddddddddddd' })
        await uow.run((tx) => tx.clientSystems.insert(pacs))
        await uow.run((tx) => tx.clientSystems.update({ ...pacs, enabled: false, ipAllowList: [], version: 2 }))
        expect((await failureOf(uow.run((tx) => tx.clientSystems.update({ ...pacs, version: 2 })))).code).toBe(
          'VERSION_CONFLICT',
        )
        const back = await uow.run((tx) => tx.clientSystems.getOrThrow(pacs.id))
        expect(back).toMatchObject({ enabled: false, ipAllowList: [], version: 2 })
      })

      it('remembers a nonce once per app until it expires, then accepts it again', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const remember = (appId: string, nonce: string, expiresAt: number, at: number) =>
          uow.run((tx) => tx.requestNonces.remember(appId, nonce, new Date(expiresAt), new Date(at)))
        expect(await remember('ys_app1', 'nonce-aaaaaaaaaaaaaa', T0 + 1000, T0)).toBe(true)
        expect(await remember('ys_app1', 'nonce-aaaaaaaaaaaaaa', T0 + 1000, T0 + 1000)).toBe(false)
        expect(await remember('ys_app2', 'nonce-aaaaaaaaaaaaaa', T0 + 1000, T0)).toBe(true)
        expect(await remember('ys_app1', 'nonce-aaaaaaaaaaaaaa', T0 + 5000, T0 + 1001)).toBe(true)
        await remember('ys_app1', 'nonce-bbbbbbbbbbbbbb', T0 + 2000, T0)
        const purged = await uow.run((tx) => tx.requestNonces.purgeExpired(new Date(T0 + 3000)))
        expect(purged).toBe(2)
        const left = await storage.db.selectFrom('request_nonces').select(['app_id', 'nonce']).execute()
        expect(left).toEqual([{ app_id: 'ys_app1', nonce: 'nonce-aaaaaaaaaaaaaa' }])
      })

      it('lets exactly one of many concurrent uses of a nonce through', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            uow.run((tx) =>
              tx.requestNonces.remember('ys_race', 'nonce-race-0123456789', new Date(T0 + 60_000), new Date(T0)),
            ),
          ),
        )
        expect(results.filter(Boolean)).toHaveLength(1)
      })
    })

    describe('registration use cases', () => {
      it('registers with a secret shown once and stored only sealed, and audits without the secret', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const register = createRegisterClientSystem({ uow, clock, secretBox })
        const { system: view, secret } = await register(
          {
            code: 'emr',
            name: ' 电子病历 ',
            ipAllowList: ['192.168.10.0/24'],
            scope: { departmentIds: ['*'], documentTypes: ['emr.note'] },
          },
          actor,
        )
        expect(view).toMatchObject({
          code: 'EMR',
          name: '电子病历',
          enabled: true,
          rateLimitPerMinute: 600,
          version: 1,
        })
        expect(view.appId).toMatch(/^ys_[a-z2-7]{16}$/)
        expect(view).not.toHaveProperty('sealedSecret')
        const row = await storage.db
          .selectFrom('client_systems')
          .selectAll()
          .where('id', '=', view.id)
          .executeTakeFirstOrThrow()
        expect(JSON.stringify(row)).not.toContain(secret)
        expect(secretBox.open(row.sealed_secret, `client_systems.secret:${view.id}`)).toBe(secret)
        const audit = await storage.db.selectFrom('audit_events').selectAll().where('subject', '=', view.id).execute()
        expect(audit.map((a) => a.type)).toEqual(['client-system.registered'])
        expect(audit[0]?.actor).toBe('user:admin-1')
        expect(audit[0]?.data).not.toContain(secret)
        expect(audit[0]?.data).not.toContain(row.sealed_secret)
        const { listClientSystems, getClientSystem } = createListClientSystems({ uow })
        expect(await getClientSystem(view.id)).toEqual(view)
        expect((await listClientSystems()).map((s) => s.code)).toContain('EMR')
      })

      it('refuses a duplicate code and bad fields, writing nothing', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const register = createRegisterClientSystem({ uow, clock, secretBox })
        const scope = { departmentIds: [], documentTypes: [] }
        await register({ code: 'ECG', name: '心电', scope }, actor)
        const before = await storage.db.selectFrom('audit_events').select('seq').execute()
        expect((await failureOf(register({ code: 'ecg', name: '心电二', scope }, actor))).code).toBe(
          'CLIENT_SYSTEM_EXISTS',
        )
        expect(
          await failureOf(register({ code: 'X1', name: 'x', ipAllowList: ['10.1.1.1/8'], scope }, actor)),
        ).toMatchObject({ code: 'CLIENT_SYSTEM_FIELD_INVALID', details: { field: 'ipAllowList[0]' } })
        expect(await storage.db.selectFrom('audit_events').select('seq').execute()).toEqual(before)
      })

      it('updates, disables and re-enables with an audit event each, and refuses a stale version', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const { system: view } = await createRegisterClientSystem({ uow, clock, secretBox })(
          { code: 'NURSE', name: '护理', scope: { departmentIds: [], documentTypes: [] } },
          actor,
        )
        const update = createUpdateClientSystem({ uow, clock })
        now = T0 + 1000
        const renamed = await update(view.id, { version: 1, name: '护理信息系统', rateLimitPerMinute: 60 }, actor)
        expect(renamed).toMatchObject({ name: '护理信息系统', rateLimitPerMinute: 60, version: 2 })
        expect(renamed.updatedAt).toEqual(new Date(T0 + 1000))
        expect(await update(view.id, { version: 2, enabled: false }, actor)).toMatchObject({
          enabled: false,
          version: 3,
        })
        expect(
          await update(
            view.id,
            { version: 3, enabled: true, scope: { departmentIds: ['d1'], documentTypes: ['*'] } },
            actor,
          ),
        ).toMatchObject({ enabled: true, version: 4 })
        // Nothing changes: no new version, no audit row.
        expect(await update(view.id, { version: 4, name: '护理信息系统' }, actor)).toMatchObject({ version: 4 })
        expect((await failureOf(update(view.id, { version: 3, name: 'x' }, actor))).code).toBe('VERSION_CONFLICT')
        expect((await failureOf(update('missing', { version: 1, name: 'x' }, actor))).code).toBe(
          'CLIENT_SYSTEM_NOT_FOUND',
        )
        const audit = await storage.db
          .selectFrom('audit_events')
          .select(['type', 'data'])
          .where('subject', '=', view.id)
          .orderBy('seq')
          .execute()
        expect(audit.map((a) => a.type)).toEqual([
          'client-system.registered',
          'client-system.updated',
          'client-system.disabled',
          'client-system.enabled',
        ])
        expect(JSON.parse(audit[1]?.data ?? '{}')).toMatchObject({
          changes: { name: '护理信息系统', rateLimitPerMinute: 60 },
        })
      })
    })

    describe('request authentication', () => {
      const body = '{"documentType":"emr.note"}'
      let his: { id: string; appId: string; secret: string }

      beforeAll(async () => {
        const uow = createUnitOfWork(storage.db, { now: () => new Date(T0) })
        const issued = await createRegisterClientSystem({ uow, clock: { now: () => new Date(T0) }, secretBox })(
          {
            code: 'HIS',
            name: '住院医生工作站',
            ipAllowList: ['10.0.0.0/8', '2001:db8::/32'],
            scope: { departmentIds: ['d-icu'], documentTypes: ['*'] },
          },
          actor,
        )
        his = { id: issued.system.id, appId: issued.system.appId, secret: issued.secret }
      })

      let counter = 0
      function signed(overrides: Partial<SignedRequest> & { secret?: string; at?: number } = {}): SignedRequest {
        const { secret = his.secret, at = now, ...rest } = overrides
        const parts = {
          method: 'POST',
          path: '/api/v1/sign-requests?mode=instant',
          timestamp: String(at),
          nonce: `nonce_${String(++counter).padStart(4, '0')}_${randomBytes(6).toString('hex')}`,
          bodySm3: EMPTY_BODY_SM3,
          ...rest,
        }
        return {
          appId: his.appId,
          signature: Buffer.from(requestSignature(secret, parts)).toString('base64'),
          sourceIp: '10.1.2.3',
          ...parts,
          ...rest,
        } as SignedRequest
      }

      const authenticatorOn = () =>
        createAuthenticateClientSystem({ uow: createUnitOfWork(storage.db, clock), clock, secretBox })

      it('accepts a well-signed request and returns the system', async () => {
        const authenticate = authenticatorOn()
        const bodySm3 = Buffer.from(await import('@yiqian/gm').then((gm) => gm.sm3(body))).toString('hex')
        expect(await authenticate(signed({ bodySm3 }))).toMatchObject({ id: his.id, appId: his.appId })
      })

      it.each([
        ['x-yiqian-app-id', { appId: undefined }],
        ['x-yiqian-timestamp', { timestamp: undefined }],
        ['x-yiqian-nonce', { nonce: undefined }],
        ['x-yiqian-signature', { signature: undefined }],
      ])('refuses a request without %s', async (name, missing) => {
        const request = { ...signed(), ...missing } as SignedRequest
        expect(await failureOf(authenticatorOn()(request))).toMatchObject({
          code: 'UNAUTHENTICATED',
          details: { reason: `missing-header:${name}` },
        })
      })

      it.each([
        ['unknown-app', () => ({ ...signed(), appId: 'ys_zzzzzzzzzzzzzzzz' })],
        ['unknown-app', () => ({ ...signed(), appId: 'not-an-app-id' })],
        ['malformed-header:x-yiqian-nonce', () => signed({ nonce: 'short' })],
        ['malformed-header:x-yiqian-nonce', () => signed({ nonce: `${'n'.repeat(16)}!` })],
        ['malformed-header:x-yiqian-nonce', () => signed({ nonce: 'n'.repeat(65) })],
        ['malformed-header:x-yiqian-timestamp', () => signed({ timestamp: '2026-11-28T08:00:00Z' })],
        ['malformed-header:x-yiqian-timestamp', () => signed({ timestamp: '-1' })],
        ['ip-not-allowed', () => ({ ...signed(), sourceIp: '192.168.1.1' })],
        ['ip-not-allowed', () => ({ ...signed(), sourceIp: '2001:db9::1' })],
        ['ip-not-allowed', () => ({ ...signed(), sourceIp: '::ffff:192.168.1.1' })],
        ['bad-signature', () => signed({ secret: 'another-secret' })],
        ['bad-signature', () => ({ ...signed(), path: '/api/v1/sign-requests?mode=deferred' })],
        ['bad-signature', () => ({ ...signed(), method: 'PUT' })],
        ['bad-signature', () => ({ ...signed(), bodySm3: 'ab'.repeat(32) })],
        ['bad-signature', () => ({ ...signed(), signature: 'not base64' })],
      ] as const)('refuses with reason %s', async (reason, request) => {
        expect(await failureOf(authenticatorOn()(request() as SignedRequest))).toMatchObject({
          code: 'UNAUTHENTICATED',
          details: { reason },
        })
      })

      it('allows IPv6 and IPv4-mapped IPv6 sources inside the allow-list', async () => {
        const authenticate = authenticatorOn()
        await expect(authenticate({ ...signed(), sourceIp: '2001:db8:1::7' })).resolves.toMatchObject({ id: his.id })
        await expect(authenticate({ ...signed(), sourceIp: '::ffff:10.9.8.7' })).resolves.toMatchObject({ id: his.id })
      })

      it.each([
        ['exactly 5 minutes old', -300_000, true],
        ['exactly 5 minutes ahead', 300_000, true],
        ['5 minutes and 1 ms old', -300_001, false],
        ['5 minutes and 1 ms ahead', 300_001, false],
      ])('takes a timestamp %s: %s', async (_, offset, accepted) => {
        const result = authenticatorOn()(signed({ at: now + offset }))
        if (accepted) await expect(result).resolves.toMatchObject({ id: his.id })
        else expect((await failureOf(result)).details.reason).toBe('stale-timestamp')
      })

      it('refuses a replay, also on a second server sharing the database, until the timestamp is stale', async () => {
        const serverA = authenticatorOn()
        const serverB = authenticatorOn()
        const request = signed()
        await expect(serverA(request)).resolves.toMatchObject({ id: his.id })
        expect((await failureOf(serverA(request))).details.reason).toBe('replayed-nonce')
        expect((await failureOf(serverB(request))).details.reason).toBe('replayed-nonce')
        now += 300_000
        expect((await failureOf(serverB(request))).details.reason).toBe('replayed-nonce')
        now += 1
        expect((await failureOf(serverB(request))).details.reason).toBe('stale-timestamp')
      })

      it('lets only one of two servers accept the same request sent to both at once', async () => {
        const request = signed()
        const outcomes = await Promise.allSettled([authenticatorOn()(request), authenticatorOn()(request)])
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      })

      it('does not record the nonce of a request that fails, so nobody can fill the table without the secret', async () => {
        const request = signed({ secret: 'wrong' })
        await failureOf(authenticatorOn()(request))
        const row = await storage.db
          .selectFrom('request_nonces')
          .select('nonce')
          .where('nonce', '=', request.nonce as string)
          .executeTakeFirst()
        expect(row).toBeUndefined()
      })

      it('purges expired nonces as it goes', async () => {
        const authenticate = createAuthenticateClientSystem(
          { uow: createUnitOfWork(storage.db, clock), clock, secretBox },
          { purgeIntervalMs: 0 },
        )
        await authenticate(signed())
        now += 11 * 60_000
        await authenticate(signed())
        const left = await storage.db
          .selectFrom('request_nonces')
          .select('expires_at')
          .where('app_id', '=', his.appId)
          .execute()
        expect(left.every((r) => Date.parse(r.expires_at) >= now)).toBe(true)
        expect(left).toHaveLength(1)
      })

      it('checks a pinned client-certificate fingerprint, and refuses when none was forwarded', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const pin = 'AB:CD:'.repeat(15).concat('AB:CD')
        const { system: view, secret } = await createRegisterClientSystem({ uow, clock, secretBox })(
          {
            code: 'ICU',
            name: '重症',
            certificateFingerprint: pin,
            scope: { departmentIds: ['*'], documentTypes: ['*'] },
          },
          actor,
        )
        expect(view.certificateFingerprint).toBe('abcd'.repeat(16))
        const authenticate = authenticatorOn()
        const as = (certificateFingerprint: string | undefined) =>
          ({ ...signed({ secret }), appId: view.appId, certificateFingerprint }) as SignedRequest
        await expect(authenticate(as('abcd'.repeat(16)))).resolves.toMatchObject({ id: view.id })
        await expect(authenticate(as(pin))).resolves.toMatchObject({ id: view.id })
        for (const other of [undefined, 'abce'.repeat(16), 'ab'.repeat(20), 'garbage']) {
          expect((await failureOf(authenticate(as(other)))).details.reason).toBe('certificate-mismatch')
        }
        const unpinned = await createUpdateClientSystem({ uow, clock })(
          view.id,
          { version: view.version, certificateFingerprint: null },
          actor,
        )
        expect(unpinned.certificateFingerprint).toBeUndefined()
        await expect(authenticate(as(undefined))).resolves.toMatchObject({ id: view.id })
        const audit = await storage.db
          .selectFrom('audit_events')
          .select('data')
          .where('subject', '=', view.id)
          .where('type', '=', 'client-system.updated')
          .executeTakeFirstOrThrow()
        expect(JSON.parse(audit.data)).toMatchObject({ changes: { certificateFingerprint: null } })
      })

      it('refuses a disabled system, and the old secret after rotation unless within the grace period', async () => {
        const uow = createUnitOfWork(storage.db, clock)
        const { system: view, secret } = await createRegisterClientSystem({ uow, clock, secretBox })(
          { code: 'LIS2', name: '检验', scope: { departmentIds: ['*'], documentTypes: ['*'] } },
          actor,
        )
        const authenticate = authenticatorOn()
        const as = (key: string) => ({ ...signed({ secret: key }), appId: view.appId }) as SignedRequest
        const sign = (key: string) => {
          const r = signed({ secret: key })
          return { ...r, appId: view.appId }
        }
        await expect(authenticate(sign(secret))).resolves.toMatchObject({ id: view.id })

        const rotate = createRotateClientSystemSecret({ uow, clock, secretBox })
        const second = await rotate(view.id, { graceSeconds: 60 }, actor)
        expect(second.secret).not.toBe(secret)
        expect(second.system.previousSecretExpiresAt).toEqual(new Date(now + 60_000))
        await expect(authenticate(as(secret))).resolves.toMatchObject({ id: view.id })
        await expect(authenticate(as(second.secret))).resolves.toMatchObject({ id: view.id })
        now += 60_000
        expect((await failureOf(authenticate(as(secret)))).details.reason).toBe('bad-signature')
        await expect(authenticate(as(second.secret))).resolves.toMatchObject({ id: view.id })

        const third = await rotate(view.id, {}, actor)
        expect(third.system.previousSecretExpiresAt).toBeUndefined()
        expect((await failureOf(authenticate(as(second.secret)))).details.reason).toBe('bad-signature')
        await expect(authenticate(as(third.secret))).resolves.toMatchObject({ id: view.id })

        await createUpdateClientSystem({ uow, clock })(
          view.id,
          { version: third.system.version, enabled: false },
          actor,
        )
        expect((await failureOf(authenticate(as(third.secret)))).details.reason).toBe('disabled')

        const audit = await storage.db
          .selectFrom('audit_events')
          .select(['type', 'data'])
          .where('subject', '=', view.id)
          .orderBy('seq')
          .execute()
        expect(audit.map((a) => a.type)).toEqual([
          'client-system.registered',
          'client-system.secret-rotated',
          'client-system.secret-rotated',
          'client-system.disabled',
        ])
        for (const a of audit) for (const s of [secret, second.secret, third.secret]) expect(a.data).not.toContain(s)
      })
    })
  })
}
