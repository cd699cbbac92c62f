import { performance } from 'node:perf_hooks'
import t from 'tap'
import { fixtures, type Harness } from '../helper.js'
import { RedisServer } from '../support/redis-server.js'
import { deployment, eventually, platform } from './fixtures/deployment.js'

const lwaLatencyMs = 300

const cacheUp = async (h: Harness): Promise<string | undefined> =>
  (await h.ops.inject({ method: 'GET', url: '/metrics' })).body.split('\n').find((l) => l.startsWith('lwa_broker_shared_cache_up '))

const sharedCacheStates = (h: Harness): unknown[] => h.logs.records().filter((r) => r.sharedCache !== undefined).map((r) => r.sharedCache)

t.test('Redis stopped mid-load: no request fails; restarted: the replicas share again', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const d = await deployment(t, redis, 3, { lwaOptions: { latencyMs: lwaLatencyMs } })
  const { lwa, clock } = d.replicas[0] as Harness
  let jwt = await d.replicas[0]!.jwt(platform)
  const burst = async (credential: string, n: number): Promise<number[]> =>
    Promise.all(Array.from({ length: n }, async (_, i) => (await d.getToken(i, credential, jwt)).statusCode))
  for (const h of d.replicas) t.equal(await cacheUp(h), 'lwa_broker_shared_cache_up 1')
  t.same(new Set(await burst('ads-us', 30)), new Set([200]), 'warm')

  // A cold credential is being refreshed by one replica, the others waiting on Redis, when it goes.
  const t0 = performance.now()
  const during = Promise.all([burst('sp-acme-eu', 60), burst('ads-us', 60)])
  await new Promise((resolve) => setTimeout(resolve, lwaLatencyMs / 3))
  // SIGKILL is sent at once; waiting for the exit event (slow on a loaded machine) is not the broker's time.
  const stopped = redis.stop()
  const [cold, warm] = await during
  const elapsedMs = performance.now() - t0
  await stopped
  t.same(new Set([...cold, ...warm]), new Set([200]), 'every request in flight while Redis went away was served')
  t.ok(elapsedMs < 4 * lwaLatencyMs, 'the waiters fell back at once, not after a timeout')
  const fellBack = d.replicas.filter((h) => h.logs.find((r) => r.credential === 'sp-acme-eu' && r.msg === 'shared token store unavailable; refreshing locally').length > 0)
  t.ok(fellBack.length >= 1, 'a replica waiting on Redis for the token refreshed it itself')

  // Alone now: tokens past their refresh point and a credential nobody asked for yet.
  clock.advance(40 * 60_000)
  jwt = await d.replicas[0]!.jwt(platform)
  const alone = await Promise.all([burst('ads-us', 60), burst('sp-acme-eu', 60), burst('sp-notifications', 60)])
  t.same(new Set(alone.flat()), new Set([200]), 'served while Redis is down')
  for (const h of d.replicas) {
    t.equal(await cacheUp(h), 'lwa_broker_shared_cache_up 0')
    t.same(sharedCacheStates(h), ['up', 'down'], 'the outage is logged once per replica')
  }

  await redis.restart()
  for (const h of d.replicas) t.ok(await eventually(async () => await cacheUp(h) === 'lwa_broker_shared_cache_up 1', 10_000), 'rejoined')
  const before = lwa.callCount({ clientId: fixtures.appstoreClient.clientId })
  t.same(new Set(await burst('appstore-main', 90)), new Set([200]))
  t.equal(lwa.callCount({ clientId: fixtures.appstoreClient.clientId }) - before, 1, 'a cold credential costs one LWA call across the replicas again')
  for (const h of d.replicas) t.same(sharedCacheStates(h), ['up', 'down', 'up'])
})
