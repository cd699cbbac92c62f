import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import t from 'tap'
import { createSharedCache, waitPollMs, type SharedCache } from '../../src/cache/index.js'
import { createLogger } from '../../src/observability/logger.js'
import { Metrics } from '../../src/observability/metrics.js'
import type { BrokerToken, PeerEvent } from '../../src/tokens/index.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import { RedisServer } from '../support/redis-server.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const key = randomBytes(32)
const clock = new FakeClock()
let prefixes = 0

/** A replica's shared cache under a key prefix of its own test, closed with the test. */
async function replica(t: Test, keyPrefix: string, server: RedisServer = redis): Promise<SharedCache & { logs: LogCapture; metrics: Metrics }> {
  const logs = new LogCapture()
  const metrics = new Metrics()
  const shared = createSharedCache({ connection: server.connection, keyPrefix, key, clock, logger: createLogger('info', logs), metrics })
  t.teardown(() => shared.close())
  await shared.ready()
  return Object.assign(shared, { logs, metrics })
}

async function replicas(t: Test, n: number): Promise<Array<SharedCache & { logs: LogCapture; metrics: Metrics }>> {
  const keyPrefix = `test-${++prefixes}:`
  return Promise.all(Array.from({ length: n }, () => replica(t, keyPrefix)))
}

function tokenAt(obtainedAtMs: number, lifetimeMs = 3_600_000): BrokerToken {
  return { accessToken: `Atza|token-${obtainedAtMs}`, tokenType: 'bearer', obtainedAtMs, expiresAtMs: obtainedAtMs + lifetimeMs, clientId: 'amzn1.application-oa2-client.ads0001', secretVersions: { app: 'v1', grant: 'v2' } }
}

function plainClient(t: Test): Redis {
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  return client
}

t.test('put keeps the newer token only, for as long as it lives', async (t) => {
  const [a, b] = await replicas(t, 2)
  const now = clock.now()
  t.equal(await a!.store.get('ads-us'), undefined)
  await a!.store.put('ads-us', tokenAt(now))
  t.same(await b!.store.get('ads-us'), tokenAt(now), 'another replica reads it')
  await b!.store.put('ads-us', tokenAt(now - 1000))
  t.same(await a!.store.get('ads-us'), tokenAt(now), 'an older token does not replace it')
  await b!.store.put('ads-us', tokenAt(now + 1000))
  t.same(await a!.store.get('ads-us'), tokenAt(now + 1000), 'a newer one does')
  const ttl = await plainClient(t).pttl(`test-${prefixes}:token:{ads-us}`)
  t.ok(ttl > 3_599_000 && ttl <= 3_601_000, `TTL is what is left of the token (${ttl} ms)`)
  await a!.store.put('sp-acme-eu', tokenAt(now - 3_600_000))
  t.equal(await a!.store.get('sp-acme-eu'), undefined, 'an expired token is not stored')
})

t.test('one lock holder per credential; it is released only by its owner (the fencing value)', async (t) => {
  const [a, b, c] = await replicas(t, 3)
  const releaseA = await a!.store.lock('ads-us', 100)
  t.ok(releaseA, 'a takes the lock')
  t.equal(await b!.store.lock('ads-us', 30_000), undefined, 'b does not while a holds it')
  t.ok(await b!.store.lock('sp-acme-eu', 30_000), 'locks are per credential')
  await new Promise((resolve) => setTimeout(resolve, 150))
  const releaseB = await b!.store.lock('ads-us', 30_000)
  t.ok(releaseB, "a's lock expired; b takes it")
  await releaseA!()
  t.equal(await c!.store.lock('ads-us', 30_000), undefined, "a's late release does not free b's lock")
  await releaseB!()
  t.ok(await c!.store.lock('ads-us', 30_000), 'b releasing it does')
})

t.test('the lock is refused when a newer token was stored since the last look: that refresh already happened', async (t) => {
  const [a, b] = await replicas(t, 2)
  const now = clock.now()
  t.equal(await a!.store.get('ads-us'), undefined, 'a looks: nothing yet')
  await b!.store.put('ads-us', tokenAt(now))
  t.equal(await a!.store.lock('ads-us', 30_000), undefined)
  t.same(await a!.store.waitFor('ads-us', 0, 1000), tokenAt(now), 'so a waits for it, and has it at once')
  t.ok(await a!.store.lock('ads-us', 30_000), 'once a has seen it, a may refresh after it')
})

t.test('a waiter gets the holder\'s token as soon as it is stored', async (t) => {
  const [holder, waiter] = await replicas(t, 2)
  const now = clock.now()
  const release = await holder!.store.lock('ads-us', 30_000)
  const t0 = performance.now()
  const waiting = waiter!.store.waitFor('ads-us', 0, 10_000)
  setTimeout(() => void holder!.store.put('ads-us', tokenAt(now)).then(() => release!()), 120)
  t.same(await waiting, tokenAt(now))
  const ms = performance.now() - t0
  t.ok(ms < 120 + waitPollMs, `woken by the "stored" message, not a poll (${Math.round(ms)} ms)`)
})

t.test('a waiter stops when the holder gives up without a token, or after half its budget', async (t) => {
  const [holder, waiter] = await replicas(t, 2)
  t.equal(await waiter!.store.waitFor('ads-us', 0, 10_000), undefined, 'no lock, no token: nothing to wait for')
  const release = await holder!.store.lock('ads-us', 30_000)
  const gaveUp = waiter!.store.waitFor('ads-us', 0, 10_000)
  setTimeout(() => void release!(), 100)
  t.equal(await gaveUp, undefined, 'the holder released without a token')
  await holder!.store.lock('ads-us', 30_000)
  const t0 = performance.now()
  t.equal(await waiter!.store.waitFor('ads-us', 0, 400), undefined)
  const ms = performance.now() - t0
  t.ok(ms >= 190 && ms < 400, `a holder that never finishes costs half the budget (${Math.round(ms)} ms)`)
  await holder!.store.put('ads-us', tokenAt(clock.now() - 10))
  t.equal(await waiter!.store.waitFor('ads-us', clock.now(), 200), undefined, 'a token older than asked for does not count')
})

t.test('peer events reach the other replicas, not the sender; stray messages are ignored', async (t) => {
  const [a, b, c] = await replicas(t, 3)
  const heard: Array<[string, PeerEvent]> = []
  for (const [name, r] of [['a', a], ['b', b], ['c', c]] as const) r!.store.subscribe((e) => heard.push([name, e]))
  const raw = plainClient(t)
  const channel = `test-${prefixes}:events`
  for (const junk of ['not json', 'null', '{"from":1}', '{"from":"x","message":{"kind":"nope"}}', '{"from":"x","message":{"kind":"token_refreshed"}}', '{"from":"x","message":null}']) await raw.publish(channel, junk)
  await a!.store.publish({ kind: 'secrets_reloaded' })
  await b!.store.publish({ kind: 'token_refreshed', credential: 'ads-us' })
  await raw.publish('another-channel', JSON.stringify({ from: 'x', message: { kind: 'secrets_reloaded' } }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(heard.sort(([x], [y]) => x.localeCompare(y)), [
    ['a', { kind: 'token_refreshed', credential: 'ads-us' }],
    ['b', { kind: 'secrets_reloaded' }],
    ['c', { kind: 'secrets_reloaded' }],
    ['c', { kind: 'token_refreshed', credential: 'ads-us' }],
  ].sort(([x], [y]) => (x as string).localeCompare(y as string)))
})

t.test('Redis down: every method fails fast, it is logged once, and the replica rejoins when Redis returns', async (t) => {
  const own = await RedisServer.start()
  t.teardown(() => own.stop())
  const r = await replica(t, 'outage:', own)
  const peer = await replica(t, 'outage:', own)
  const heard: PeerEvent[] = []
  r.store.subscribe((e) => heard.push(e))
  const gauge = async (): Promise<string> => (await r.metrics.registry.getSingleMetricAsString('lwa_broker_shared_cache_up')).split('\n').at(-1) as string
  t.equal(await gauge(), 'lwa_broker_shared_cache_up 1')
  await own.stop()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(r.up(), false)
  t.equal(await gauge(), 'lwa_broker_shared_cache_up 0')
  const t0 = performance.now()
  const calls: Array<Promise<unknown>> = [
    r.store.get('ads-us'), r.store.put('ads-us', tokenAt(clock.now())), r.store.lock('ads-us', 1000),
    r.store.waitFor('ads-us', 0, 10_000), r.store.publish({ kind: 'secrets_reloaded' }),
  ]
  for (const call of calls) await t.rejects(call)
  t.ok(performance.now() - t0 < 100, 'at once, not after a timeout')
  await own.restart()
  t.ok(await r.ready(5000), 'reconnected in the background')
  t.ok(await peer.ready(5000))
  await peer.store.put('ads-us', tokenAt(clock.now()))
  t.same(await r.store.get('ads-us'), tokenAt(clock.now()), 'tokens are shared again')
  await peer.store.publish({ kind: 'secrets_reloaded' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(heard, [{ kind: 'secrets_reloaded' }], 'and peer events: subscribed again')
  const states = r.logs.records().filter((l) => l.sharedCache !== undefined).map((l) => l.sharedCache)
  t.same(states, ['up', 'down', 'up'], 'one line per change, not one per reconnect attempt')
})

t.test('start-up with Redis away: ready() says so after its timeout; nothing is logged as an outage until a connection fails', async (t) => {
  const own = await RedisServer.start()
  await own.stop()
  const logs = new LogCapture()
  const shared = createSharedCache({ connection: own.connection, keyPrefix: 'p:', key, clock, logger: createLogger('info', logs) })
  t.teardown(() => shared.close())
  t.equal(await shared.ready(200), false)
  t.equal(shared.up(), false)
  t.match(logs.records().filter((l) => l.sharedCache !== undefined), [{ sharedCache: 'down', error: /ECONNREFUSED/ }])
})
