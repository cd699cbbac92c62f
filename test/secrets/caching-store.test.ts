import t from 'tap'
import type { Test } from 'tap'
import { createLogger } from '../../src/observability/logger.js'
import { AwsSecretStore } from '../../src/secrets/aws-store.js'
import { CachingSecretStore } from '../../src/secrets/caching-store.js'
import { SecretError, type SecretStage, type SecretValue, type VersionedSecretBackend } from '../../src/secrets/secret-store.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import { SecretsManagerEmulator, type SmFault } from '../support/secrets-manager-emulator.js'

const REFRESH_MS = 300_000
const APP = 'prod/lwa/apps/sp-main'
const GRANT = 'prod/lwa/sellers/acme'
const OLD_SECRET = 'amzn1.oa2-cs.v1.old-secret-do-not-log'
const NEW_SECRET = 'amzn1.oa2-cs.v1.new-secret-do-not-log'
const appFields = (clientSecret: string) => ({ client_id: 'amzn1.application-oa2-client.abc', client_secret: clientSecret })
const NEW_VERSION_ID = 'a1b2c3d4-0000-4000-8000-000000000002'

/**
 * Passes every call to the real store; `hold` keeps the answer of the next call to one method
 * back (after Secrets Manager has answered) so a test can stage a race deterministically.
 */
class GatedBackend implements VersionedSecretBackend {
  private readonly gates = new Map<string, { answered: () => void; released: Promise<void> }>()

  constructor(private readonly inner: VersionedSecretBackend) {}

  hold(method: 'get' | 'currentVersionId'): { answered: Promise<void>; release: () => void } {
    let answered = (): void => {}
    let release = (): void => {}
    const answeredP = new Promise<void>((resolve) => (answered = resolve))
    const released = new Promise<void>((resolve) => (release = resolve))
    this.gates.set(method, { answered, released })
    return { answered: answeredP, release }
  }

  get(secretId: string, stage?: SecretStage): Promise<SecretValue> {
    return this.through('get', this.inner.get(secretId, stage))
  }

  currentVersionId(secretId: string): Promise<string> {
    return this.through('currentVersionId', this.inner.currentVersionId(secretId))
  }

  put(secretId: string, fields: Record<string, unknown>, versionId: string): Promise<SecretValue> {
    return this.inner.put(secretId, fields, versionId)
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  private async through<T>(method: string, call: Promise<T>): Promise<T> {
    const gate = this.gates.get(method)
    this.gates.delete(method)
    const result = await call
    gate?.answered()
    await gate?.released
    return result
  }
}

interface Setup {
  sm: SecretsManagerEmulator
  cache: CachingSecretStore
  clock: FakeClock
  logs: LogCapture
  backend: GatedBackend
}

async function setup(t: Test, options: { random?: () => number; jitterRatio?: number } = {}): Promise<Setup> {
  const sm = await SecretsManagerEmulator.start()
  const aws = new AwsSecretStore({
    endpoint: sm.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts: 1, // one SDK attempt per check, so call counts are exact
  })
  const backend = new GatedBackend(aws)
  const clock = new FakeClock()
  const logs = new LogCapture()
  logs.secrets.add(OLD_SECRET).add(NEW_SECRET)
  const cache = new CachingSecretStore(backend, {
    clock, refreshMs: REFRESH_MS, random: options.random ?? (() => 0), logger: createLogger('debug', logs),
    ...(options.jitterRatio !== undefined && { jitterRatio: options.jitterRatio }),
  })
  t.teardown(async () => {
    await cache.settled()
    await cache.close()
    await sm.close()
  })
  return { sm, cache, clock, logs, backend }
}

const calls = (sm: SecretsManagerEmulator, operation: string, secretId?: string): number =>
  sm.callCount(secretId === undefined ? { operation } : { operation, secretId })

t.test('steady state: one DescribeSecret per secret per interval, one GetSecretValue in total', async (t) => {
  const { sm, cache, clock } = await setup(t)
  const appVersion = sm.putSecret(APP, appFields(OLD_SECRET))
  sm.putSecret(GRANT, { refresh_token: 'Atzr|grant' })
  await cache.get(APP)
  await cache.get(GRANT)
  for (let i = 0; i < 100; i++) {
    clock.advance(REFRESH_MS / 10)
    t.equal((await cache.get(APP)).versionId, appVersion)
    await cache.get(GRANT)
    await cache.settled()
  }
  for (const id of [APP, GRANT]) {
    t.equal(calls(sm, 'DescribeSecret', id), 10, `${id}: one check per interval`)
    t.equal(calls(sm, 'GetSecretValue', id), 1, `${id}: read once`)
  }
})

t.test('a rotation is picked up by the next check with exactly one more GetSecretValue', async (t) => {
  const { sm, cache, clock } = await setup(t)
  const oldVersion = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  const newVersion = sm.putSecret(APP, appFields(NEW_SECRET))

  clock.advance(REFRESH_MS - 1)
  t.equal((await cache.get(APP)).versionId, oldVersion, 'not due yet: no call')
  t.equal(calls(sm, 'DescribeSecret'), 0)

  clock.advance(1)
  t.equal((await cache.get(APP)).versionId, oldVersion, 'due: the cached value is served at once')
  await cache.settled()
  t.same(await cache.get(APP), { id: APP, versionId: newVersion, fields: appFields(NEW_SECRET) })
  t.equal(calls(sm, 'DescribeSecret'), 1)
  t.equal(calls(sm, 'GetSecretValue'), 2)
  t.match(cache.status(), [{ secretId: APP, versionId: newVersion, lastReadAtMs: clock.now(), lastCheckAtMs: clock.now(), stale: false }])
})

const outages: Array<[string, SmFault]> = [
  ['InternalServiceError', { kind: 'error', type: 'InternalServiceError' }],
  ['ThrottlingException', { kind: 'error', type: 'ThrottlingException' }],
  ['connection reset', { kind: 'reset' }],
]
for (const [name, fault] of outages) {
  t.test(`Secrets Manager down (${name}): the cached value keeps flowing, one call per interval`, async (t) => {
    const { sm, cache, clock, logs } = await setup(t)
    const version = sm.putSecret(APP, appFields(OLD_SECRET))
    await cache.get(APP)
    sm.setFault(fault)
    const downSince = clock.now()
    for (let interval = 1; interval <= 5; interval++) {
      clock.advance(REFRESH_MS)
      for (let i = 0; i < 10; i++) t.equal((await cache.get(APP)).versionId, version)
      await cache.settled()
      for (let i = 0; i < 10; i++) await cache.get(APP) // after a failure: no retry within the interval
    }
    t.equal(calls(sm, 'DescribeSecret'), 5)
    t.equal(calls(sm, 'GetSecretValue'), 1)
    t.match(cache.status(), [{ secretId: APP, versionId: version, stale: true, lastError: { code: 'unavailable', atMs: downSince + 5 * REFRESH_MS } }])
    const warnings = logs.find((r) => r['secretId'] === APP && r['level'] === 40)
    t.equal(warnings.length, 5)
    t.match(warnings[0], { reason: 'unavailable', versionId: version, detail: `secret ${APP}: Secrets Manager is unavailable (` })

    sm.setFault(null)
    clock.advance(REFRESH_MS)
    await cache.get(APP)
    await cache.settled()
    t.match(cache.status(), [{ stale: false, lastCheckAtMs: clock.now(), lastError: { atMs: downSince + 5 * REFRESH_MS } }], 'recovered; the outage stays visible')
    t.same(logs.leaks(), [], 'no secret value reached the logs')
  })
}

t.test('50 concurrent gets when due cause one DescribeSecret', async (t) => {
  const { sm, cache, clock } = await setup(t)
  const version = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  clock.advance(REFRESH_MS)
  const values = await Promise.all(Array.from({ length: 50 }, () => cache.get(APP)))
  t.ok(values.every((v) => v.versionId === version))
  await cache.settled()
  t.equal(calls(sm, 'DescribeSecret'), 1)
  t.equal(calls(sm, 'GetSecretValue'), 1)
})

t.test('concurrent first reads share one GetSecretValue', async (t) => {
  const { sm, cache } = await setup(t)
  sm.putSecret(APP, appFields(OLD_SECRET))
  const values = await Promise.all(Array.from({ length: 50 }, () => cache.get(APP)))
  t.equal(new Set(values).size, 1)
  t.equal(calls(sm, 'GetSecretValue'), 1)
})

t.test('a failed first read throws the SecretError to every waiting caller and is not cached', async (t) => {
  const { sm, cache } = await setup(t)
  sm.putSecret(APP, appFields(OLD_SECRET))
  sm.setFault({ kind: 'error', type: 'AccessDeniedException' })
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.get(APP)))
  t.equal(calls(sm, 'GetSecretValue'), 1, 'shared one backend call')
  for (const result of results) {
    t.equal(result.status, 'rejected')
    if (result.status === 'rejected') {
      t.type(result.reason, SecretError)
      t.match(result.reason, { code: 'unavailable', message: `secret ${APP}: access denied (AccessDeniedException)` })
    }
  }
  t.same(cache.status(), [])

  sm.setFault(null)
  t.match(await cache.get(APP), { fields: appFields(OLD_SECRET) })
  await t.rejects(cache.get('prod/lwa/missing'), { name: 'SecretError', code: 'not_found' })
})

t.test('other stages pass through uncached', async (t) => {
  const { sm, cache } = await setup(t)
  sm.putSecret(APP, appFields(OLD_SECRET))
  const pending = sm.putSecret(APP, appFields(NEW_SECRET), { stages: ['AWSPENDING'] })
  t.equal((await cache.get(APP, 'AWSPENDING')).versionId, pending)
  t.equal((await cache.get(APP, 'AWSPENDING')).versionId, pending)
  t.equal(calls(sm, 'GetSecretValue'), 2)
  t.same(cache.status(), [], 'AWSPENDING never lands in the AWSCURRENT cache')
})

t.test('invalidate: the next get awaits a fresh check', async (t) => {
  const { sm, cache } = await setup(t)
  const oldVersion = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)

  cache.invalidate(APP)
  t.equal((await cache.get(APP)).versionId, oldVersion, 'unchanged: DescribeSecret only')
  t.equal(calls(sm, 'DescribeSecret'), 1)
  t.equal(calls(sm, 'GetSecretValue'), 1)

  const newVersion = sm.putSecret(APP, appFields(NEW_SECRET))
  cache.invalidate(APP)
  t.equal((await cache.get(APP)).versionId, newVersion, 'rotated: picked up without waiting for the interval')
  t.equal(calls(sm, 'DescribeSecret'), 2)
  t.equal(calls(sm, 'GetSecretValue'), 2)
  await cache.get(APP)
  t.equal(calls(sm, 'DescribeSecret'), 2, 'served from the cache again')
})

t.test('invalidate by many rejected callers costs one check; a late rejection of the old version is ignored', async (t) => {
  const { sm, cache } = await setup(t)
  const oldVersion = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  const newVersion = sm.putSecret(APP, appFields(NEW_SECRET))
  const values = await Promise.all(Array.from({ length: 50 }, () => {
    cache.invalidate(APP, oldVersion)
    return cache.get(APP)
  }))
  t.ok(values.every((v) => v.versionId === newVersion))
  cache.invalidate(APP, oldVersion)
  t.equal((await cache.get(APP)).versionId, newVersion)
  t.equal(calls(sm, 'DescribeSecret'), 1)
  t.equal(calls(sm, 'GetSecretValue'), 2)
})

t.test('a forced check that fails throws once, then the cache serves the last good value', async (t) => {
  const { sm, cache, clock } = await setup(t)
  const version = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  sm.setFault({ kind: 'error', type: 'ThrottlingException' })
  cache.invalidate(APP)
  await t.rejects(cache.get(APP), { name: 'SecretError', code: 'unavailable' })
  t.equal((await cache.get(APP)).versionId, version)
  t.match(cache.status(), [{ stale: true, lastError: { code: 'unavailable', atMs: clock.now() } }])
  t.equal(calls(sm, 'DescribeSecret'), 1, 'no retry storm after the failed forced check')
})

t.test('invalidate detaches a check that started before it, so the rotation is not missed', async (t) => {
  const { sm, cache, clock, backend } = await setup(t)
  const oldVersion = sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  clock.advance(REFRESH_MS)
  const early = backend.hold('currentVersionId')
  await cache.get(APP) // background check: DescribeSecret answers "unchanged", held back
  await early.answered

  const newVersion = sm.putSecret(APP, appFields(NEW_SECRET))
  cache.invalidate(APP, oldVersion)
  t.equal((await cache.get(APP)).versionId, newVersion)
  early.release()
  await cache.settled()
  t.equal((await cache.get(APP)).versionId, newVersion, 'the older answer did not overwrite the newer one')
  t.equal(calls(sm, 'DescribeSecret'), 2)
})

t.test('jitter spreads nextCheckAt below the interval', async (t) => {
  const randoms = [0, 0.5, 1]
  const { sm, cache, clock } = await setup(t, { random: () => randoms.shift() ?? 0, jitterRatio: 0.1 })
  const start = clock.now()
  const ids = ['a', 'b', 'c']
  for (const id of ids) sm.putSecret(id, { n: id })
  for (const id of ids) await cache.get(id)
  t.same(cache.status().map((s) => s.nextCheckAtMs - start), [REFRESH_MS, REFRESH_MS * 0.95, REFRESH_MS * 0.9])

  clock.advance(REFRESH_MS * 0.95)
  for (const id of ids) await cache.get(id)
  await cache.settled()
  t.same(['a', 'b', 'c'].map((id) => calls(sm, 'DescribeSecret', id)), [0, 1, 1], 'only the secrets whose jittered time came are checked')
})

t.test('default jitter stays within 20% of the interval', async (t) => {
  const { sm, cache, clock } = await setup(t, { random: () => 1 })
  sm.putSecret(APP, appFields(OLD_SECRET))
  await cache.get(APP)
  t.equal(cache.status()[0]?.nextCheckAtMs, clock.now() + REFRESH_MS * 0.8)
})

t.test('put writes through and updates the cache without a GetSecretValue', async (t) => {
  const { sm, cache, clock } = await setup(t)
  sm.putSecret(GRANT, { refresh_token: 'Atzr|old' })
  await cache.get(GRANT)
  clock.advance(1_000)
  const written = await cache.put(GRANT, { refresh_token: 'Atzr|new' }, NEW_VERSION_ID)
  t.same(await cache.get(GRANT), written)
  t.same(written, { id: GRANT, versionId: NEW_VERSION_ID, fields: { refresh_token: 'Atzr|new' } })
  t.equal(sm.current(GRANT)?.versionId, NEW_VERSION_ID)
  t.equal(calls(sm, 'GetSecretValue'), 1)
  t.match(cache.status(), [{ versionId: NEW_VERSION_ID, lastReadAtMs: clock.now(), nextCheckAtMs: clock.now() + REFRESH_MS }])
})

t.test('a put during a check wins over the check\'s older answer', async (t) => {
  const { sm, cache, clock, backend } = await setup(t)
  sm.putSecret(GRANT, { refresh_token: 'Atzr|one' })
  await cache.get(GRANT)
  sm.putSecret(GRANT, { refresh_token: 'Atzr|two' })
  clock.advance(REFRESH_MS)
  const read = backend.hold('get')
  await cache.get(GRANT) // background: DescribeSecret sees "two", GetSecretValue answers "two", held back
  await read.answered

  await cache.put(GRANT, { refresh_token: 'Atzr|three' }, NEW_VERSION_ID)
  read.release()
  await cache.settled()
  t.equal((await cache.get(GRANT)).versionId, NEW_VERSION_ID)
  t.match(cache.status(), [{ versionId: NEW_VERSION_ID, stale: false }])
})

t.test('bad options are a TypeError at construction', async (t) => {
  const unused = (): never => { throw new Error('not called') }
  const backend: VersionedSecretBackend = { get: unused, currentVersionId: unused, put: unused, close: unused }
  const base = { clock: new FakeClock(), logger: createLogger('silent') }
  t.throws(() => new CachingSecretStore(backend, { ...base, refreshMs: 0 }), TypeError)
  t.throws(() => new CachingSecretStore(backend, { ...base, refreshMs: Number.NaN }), TypeError)
  t.throws(() => new CachingSecretStore(backend, { ...base, refreshMs: REFRESH_MS, jitterRatio: 1 }), TypeError)
  t.throws(() => new CachingSecretStore(backend, { ...base, refreshMs: REFRESH_MS, jitterRatio: -0.1 }), TypeError)
})
