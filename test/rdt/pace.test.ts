// The Tokens API's pace: one token bucket per seller and app, alone or shared by every replica in Redis.
import t from 'tap'
import { createRedisClients } from '../../src/cache/redis-clients.js'
import { LocalPace, RedisPace, type Pace } from '../../src/rdt/pace.js'
import { oneResourceSet, resourceSet } from '../../src/rdt/resources.js'
import { RedisServer } from '../support/redis-server.js'

const plan = { ratePerSecond: 1, burst: 3 }

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

async function paced(t: Test, pace: Pace): Promise<void> {
  const at = 1_000_000
  t.same(await Promise.all([1, 2, 3].map(() => pace.take('app/seller', plan, at))), [0, 0, 0], 'the burst')
  t.equal(await pace.take('app/seller', plan, at), 1000, 'then the wait for one token')
  t.equal(await pace.take('app/other', plan, at), 0, 'each seller has its own bucket')
  t.equal(await pace.take('app/seller', plan, at + 500), 500)
  t.equal(await pace.take('app/seller', plan, at + 1000), 0, 'refilled at the rate')
  t.equal(await pace.take('app/seller', plan, at - 60_000), 1000, 'a clock that went back refills nothing')
  await pace.drain('app/seller', plan, at + 5000)
  t.equal(await pace.take('app/seller', plan, at + 5000), 1000, 'drained: Amazon said 429')
  t.equal(await pace.take('app/seller', { ratePerSecond: 0.5, burst: 3 }, at + 5500), 1500, 'a slower rate waits longer')
  await pace.learn('app/slow', 0.5)
  await pace.learn('app/fast', 5)
  for (const key of ['app/slow', 'app/fast']) for (let i = 0; i < 3; i++) await pace.take(key, plan, at)
  t.equal(await pace.take('app/slow', plan, at), 2000, 'Amazon said 0.5 per second: kept to')
  t.equal(await pace.take('app/fast', plan, at), 1000, 'Amazon said more than the plan: the plan holds')
}

t.test('one replica alone', (t) => paced(t, new LocalPace()))

t.test('a replica alone forgets buckets that are full again, so the map stays bounded', async (t) => {
  const pace = new LocalPace()
  for (let i = 0; i < 1100; i++) await pace.take(`app/seller-${i}`, plan, 0)
  t.equal(await pace.take('app/seller-0', plan, 10_000), 0)
  t.equal(await pace.take('app/late', plan, 10_000), 0)
  t.ok((pace as unknown as { buckets: Map<string, unknown> }).buckets.size < 1100)
})

t.test('every replica through Redis, and alone while Redis is away', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const clients = createRedisClients(redis.connection, `pace-${process.pid}:`)
  t.teardown(() => { clients.commands.disconnect(); clients.subscriber.disconnect() })
  if (clients.commands.status !== 'ready') await new Promise((resolve) => clients.commands.once('ready', resolve))
  await paced(t, new RedisPace(clients.commands))
  const one = new RedisPace(clients.commands)
  const two = new RedisPace(clients.commands)
  t.same([await one.take('s', plan, 0), await two.take('s', plan, 0), await one.take('s', plan, 0)], [0, 0, 0])
  t.equal(await two.take('s', plan, 0), 1000, 'one bucket for both')
  await one.learn('learnt', 0.25)
  for (let i = 0; i < 3; i++) await two.take('learnt', plan, 0)
  t.equal(await two.take('learnt', plan, 0), 4000, 'the rate Amazon told one replica paces the other')

  await redis.stop()
  t.equal(await one.take('s', plan, 0), 0, 'Redis gone: this replica keeps its own pace')
})

t.test('a resource set is the same whatever order it is written in', async (t) => {
  const a = resourceSet([
    { method: 'GET', path: '/orders/v0/orders', dataElements: ['shippingAddress', 'buyerInfo'] },
    { method: 'GET', path: '/orders/v0/orders/1/address' },
  ])
  const b = resourceSet([
    { method: 'GET', path: '/orders/v0/orders/1/address' },
    { method: 'GET', path: '/orders/v0/orders', dataElements: ['buyerInfo', 'shippingAddress', 'buyerInfo'] },
    { method: 'GET', path: '/orders/v0/orders/1/address' },
  ])
  t.equal(a.text, b.text)
  t.same(b.resources, a.resources)
  t.same(a.paths, ['/orders/v0/orders', '/orders/v0/orders/1/address'])
  t.not(resourceSet(a.resources, 'amzn1.sellerapps.app.x').text, a.text, 'a delegated RDT is another set')
  t.not(resourceSet([{ method: 'GET', path: '/orders/v0/orders', dataElements: ['buyerInfo'] }]).text,
    resourceSet([{ method: 'GET', path: '/orders/v0/orders' }]).text)
})

t.test('a one-resource set is made once per way of asking, and stays right past the memo\'s bound', async (t) => {
  const list = '/orders/v0/orders'
  const asked = oneResourceSet('GET', list, 'shippingAddress,buyerInfo,buyerInfo')
  t.equal(oneResourceSet('GET', list, 'shippingAddress,buyerInfo,buyerInfo'), asked, 'the same set object')
  t.equal(oneResourceSet('GET', list, 'buyerInfo,shippingAddress').text, asked.text, 'one set, any order')
  t.same(asked.resources, [{ method: 'GET', path: list, dataElements: ['buyerInfo', 'shippingAddress'] }])
  const posted = resourceSet([{ method: 'GET', path: list, dataElements: ['shippingAddress', 'buyerInfo'] }])
  t.equal(posted.text, asked.text, 'the POST form\'s one resource is the same set')
  const address = (i: number) => `/orders/v0/orders/${i}/address`
  for (let i = 0; i < 5000; i++) oneResourceSet('GET', address(i), undefined, 'amzn1.app')
  const late = oneResourceSet('GET', address(4999), undefined, 'amzn1.app')
  t.same([late.paths, late.targetApplication], [[address(4999)], 'amzn1.app'])
  t.not(oneResourceSet('GET', address(1)).text, oneResourceSet('GET', address(1), undefined, 'amzn1.app').text)
})
