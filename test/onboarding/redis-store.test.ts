// The onboarding store's contract, run against both adapters: in memory (one replica) and on a
// real redis-server (two replicas, each with its own connection). Then what only Redis has.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import type { Test } from 'tap'
import { fastFailingOptions } from '../../src/cache/index.js'
import { redisCommandTimeoutMs } from '../../src/cache/redis-clients.js'
import { RedisOnboardingStore } from '../../src/onboarding/redis-store.js'
import { MemoryOnboardingStore, type Link, type OnboardingStore } from '../../src/onboarding/store.js'
import { RedisServer } from '../support/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
let prefixes = 0

/** Long enough that nothing expires by itself during a test; expiry is tested with short ones. */
const linkLifeMs = 60_000
const raceRounds = 50

const newId = (): string => randomBytes(24).toString('base64url')
const linkFor = (expiresAtMs: number, over: Partial<Link> = {}): Link =>
  ({ credential: 'sp-acme-eu', expiresAtMs, expectedAccount: undefined, replace: false, ...over })

/** A commands client like the broker's (fast failing, key prefix), closed with the test. */
async function commands(t: Test, keyPrefix: string, server = redis): Promise<Redis> {
  const client = new Redis(server.url, { ...fastFailingOptions(keyPrefix), lazyConnect: true })
  // An outage test stops the server: the client reports it as an event, and the store's calls reject.
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  return client
}

/** Every key under `keyPrefix`, by SCAN as an operator would list them (`client` has no prefix of its own). */
async function scanKeys(client: Redis, keyPrefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 100)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys.sort()
}

/** Two replicas' stores; in memory there is only one replica, so both are the same store. */
const adapters: Record<string, (t: Test) => Promise<[OnboardingStore, OnboardingStore]>> = {
  memory: async () => {
    const store = new MemoryOnboardingStore()
    return [store, store]
  },
  redis: async (t) => {
    const keyPrefix = `onboarding-test-${++prefixes}:`
    const replica = async (): Promise<OnboardingStore> => new RedisOnboardingStore(await commands(t, keyPrefix))
    return [await replica(), await replica()]
  },
}

for (const [name, replicas] of Object.entries(adapters)) {
  t.test(`${name}: a link put on one replica is peeked and taken on another, once`, async (t) => {
    const [a, b] = await replicas(t)
    const now = Date.now()
    const id = newId()
    const link = linkFor(now + linkLifeMs, { expectedAccount: 'A3SELLER' })
    t.equal(await b.peekLink(id, now), undefined, 'nothing before it is put')
    await a.putLink(id, link, now)
    t.same(await b.peekLink(id, now), link, 'peeked on the other replica')
    t.same(await b.peekLink(id, now), link, 'peeking does not use it up')
    t.same(await b.takeLink(id, now), link, 'taken on the other replica')
    t.equal(await a.takeLink(id, now), undefined, 'taken once')
    t.equal(await a.peekLink(id, now), undefined, 'a taken link is not open')
    t.equal(await a.takeLink(newId(), now), undefined, 'an unknown link is not there')
  })

  t.test(`${name}: replicas racing for a link get it exactly once`, async (t) => {
    const [a, b] = await replicas(t)
    const now = Date.now()
    let bothOrNeither = 0
    for (let round = 0; round < raceRounds; round++) {
      const id = newId()
      await a.putLink(id, linkFor(now + linkLifeMs), now)
      const taken = await Promise.all([a, b, a, b].map((store) => store.takeLink(id, now)))
      if (taken.filter((link) => link !== undefined).length !== 1) bothOrNeither++
    }
    t.equal(bothOrNeither, 0, `in each of ${raceRounds} rounds, one of four takers got the link`)
  })

  t.test(`${name}: a link given back opens again, on any replica, until it expires`, async (t) => {
    const [a, b] = await replicas(t)
    const now = Date.now()
    const id = newId()
    const link = linkFor(now + linkLifeMs)
    await a.giveBackLink(id, now)
    t.equal(await a.peekLink(id, now), undefined, 'giving back a link never put opens nothing')
    await a.putLink(id, link, now)
    await a.giveBackLink(id, now)
    t.same(await b.takeLink(id, now), link, 'giving back an open link leaves it open')
    await b.giveBackLink(id, now)
    t.same(await a.peekLink(id, now), link, 'given back on the other replica')
    t.same(await a.takeLink(id, now), link, 'and taken again')
    await a.giveBackLink(id, link.expiresAtMs)
    t.equal(await b.peekLink(id, now), undefined, 'a link given back once it has expired stays spent')
  })

  t.test(`${name}: links expire by the caller's clock and by time itself`, async (t) => {
    const [a, b] = await replicas(t)
    const now = Date.now()
    const [late, soon] = [newId(), newId()]
    await a.putLink(late, linkFor(now + linkLifeMs), now)
    t.equal(await b.peekLink(late, now + linkLifeMs), undefined, 'not open at its expiry')
    t.equal(await b.takeLink(late, now + linkLifeMs), undefined, 'nor taken')
    await a.putLink(soon, linkFor(now + 200), now)
    await sleep(300)
    t.equal(await b.peekLink(soon, Date.now()), undefined, 'gone once its time has passed')
  })

  t.test(`${name}: once is true for the first replica only, per kind, until forgotten or expired`, async (t) => {
    const [a, b] = await replicas(t)
    const now = Date.now()
    const id = newId()
    t.equal(await a.once('state', id, now + linkLifeMs, now), true, 'first mark')
    t.equal(await b.once('state', id, now + linkLifeMs, now), false, 'the other replica finds it marked')
    t.equal(await a.once('state', id, now + linkLifeMs, now), false, 'and so does the first')
    t.equal(await b.once('event', id, now + linkLifeMs, now), true, 'kinds are marked apart')
    await b.forget('state', id)
    t.equal(await a.once('state', id, now + linkLifeMs, now), true, 'forgotten: it can be marked again')
    const brief = newId()
    t.equal(await a.once('state', brief, Date.now() + 200, Date.now()), true)
    await sleep(300)
    t.equal(await b.once('state', brief, Date.now() + 200, Date.now()), true, 'an expired mark no longer counts')
  })
}

t.test('redis: keys and values hold digests, never a link or state id; TTLs are the expiry', async (t) => {
  const keyPrefix = `onboarding-test-${++prefixes}:`
  const client = await commands(t, keyPrefix)
  const store = new RedisOnboardingStore(client)
  const now = Date.now()
  const [open, spent, state] = [newId(), newId(), newId()]
  await store.putLink(open, linkFor(now + linkLifeMs), now)
  await store.putLink(spent, linkFor(now + linkLifeMs), now)
  await store.takeLink(spent, now)
  await store.once('state', state, now + 30_000, now)
  const raw = await commands(t, '')
  const keys = await scanKeys(raw, keyPrefix)
  t.equal(keys.length, 3, 'one key each: the open link, the spent link and the state')
  const values = await Promise.all(keys.map((key) => raw.get(key)))
  const stored = [...keys, ...values].join('\n')
  t.notOk([open, spent, state].some((id) => stored.includes(id)), 'no id appears in a key or a value')
  t.ok(keys.every((key) => /^onboarding-test-\d+:onboarding:\{[^{}]+\}:(open|spent|once)$/.test(key)),
    'every key has one hash tag: a Cluster keeps a link\'s keys in one slot')
  const ttls = await Promise.all(keys.map((key) => raw.pttl(key)))
  t.ok(ttls.every((ms) => ms > 0 && ms <= linkLifeMs), 'every key expires, by the expiry it was given')
})

t.test('redis: a value the store did not write is no link', async (t) => {
  const keyPrefix = `onboarding-test-${++prefixes}:`
  const store = new RedisOnboardingStore(await commands(t, keyPrefix))
  const raw = await commands(t, '')
  const now = Date.now()
  const id = newId()
  await store.putLink(id, linkFor(now + linkLifeMs), now)
  const [key] = await scanKeys(raw, keyPrefix)
  for (const junk of ['not json', 'null', '{"expiresAtMs":"soon"}']) {
    await raw.set(key!, junk)
    t.equal(await store.peekLink(id, now), undefined, `peek: ${junk}`)
    t.equal(await store.takeLink(id, now), undefined, `take: ${junk}`)
  }
})

t.test('redis: while Redis is away every operation rejects at once, naming the operation and no id', async (t) => {
  const own = await RedisServer.start()
  t.teardown(() => own.stop())
  const store = new RedisOnboardingStore(await commands(t, 'outage:', own))
  await own.stop()
  const now = Date.now()
  const id = newId()
  const calls: Array<[string, Promise<unknown>]> = [
    ['putLink', store.putLink(id, linkFor(now + linkLifeMs), now)],
    ['peekLink', store.peekLink(id, now)],
    ['takeLink', store.takeLink(id, now)],
    ['giveBackLink', store.giveBackLink(id, now)],
    ['once', store.once('state', id, now + linkLifeMs, now)],
    ['forget', store.forget('state', id)],
  ]
  const t0 = performance.now()
  // The message is fixed per operation, so it cannot carry an id.
  for (const [operation, call] of calls) {
    await t.rejects(call, { message: `onboarding store: Redis did not complete ${operation}` }, operation)
  }
  t.ok(performance.now() - t0 < redisCommandTimeoutMs / 2, 'at once, not after a command timeout')
})
