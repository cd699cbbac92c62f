import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { createBroker } from '../../src/http/broker.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/observability/logger.js'
import { baseConfig, baseSecrets, callerKeys, mintJwt, seedEmulator } from '../helper.js'
import { LogCapture } from '../support/log-capture.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { RedisServer } from '../support/redis-server.js'
import { eventually } from './fixtures/deployment.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const keys = await callerKeys()

/** createBroker as main.ts calls it, with `cache` from the config file. */
async function broker(t: Test, cache: Record<string, unknown>, files: Record<string, string | Buffer> = {}) {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const key = randomBytes(32)
  const dir = t.testdir({ 'cache.key': key.toString('base64'), ...files })
  const secretsPath = join(dir, 'secrets.json')
  writeFileSync(secretsPath, JSON.stringify({ ...baseSecrets(), 'lwa/cache-key': { key: key.toString('base64') } }))
  const config = parseConfig({ ...baseConfig(lwa, secretsPath, keys.jwks), cache, shutdown: { drainSeconds: 0, graceSeconds: 1 }, audit: { destination: join(dir, 'audit.log') } }, join(dir, 'broker.yaml'))
  const logs = new LogCapture()
  const b = await createBroker(config, { logger: createLogger('info', logs) })
  const jwt = await mintJwt(keys, { claims: { sub: 'system:serviceaccount:platform:all' } })
  const getToken = (credential: string) => b.app.inject({ method: 'GET', url: `/token?credential=${credential}`, headers: { authorization: `Bearer ${jwt}` } })
  const cacheUp = async () => (await b.ops.inject({ method: 'GET', url: '/metrics' })).body.split('\n').find((l) => l.startsWith('lwa_broker_shared_cache_up '))
  return { broker: b, logs, lwa, getToken, cacheUp }
}

async function connectedClients(): Promise<number> {
  const client = new Redis(redis.url)
  try {
    return Number(/connected_clients:(\d+)/.exec(await client.info('clients'))?.[1]) - 1
  } finally {
    await client.quit()
  }
}

t.test('cache.backend redis with the key in a secret: tokens go to Redis under the key prefix; close() closes the connections', async (t) => {
  const { broker: b, getToken, cacheUp } = await broker(t, { backend: 'redis', url: redis.url, keyPrefix: 'wired:', encryptionKeySecret: 'lwa/cache-key' })
  t.equal(await cacheUp(), 'lwa_broker_shared_cache_up 1')
  t.equal((await getToken('ads-us')).statusCode, 200)
  const client = new Redis(redis.url)
  t.equal(await client.exists('wired:token:{ads-us}'), 1)
  await client.quit()
  t.ok(await eventually(async () => await connectedClients() === 2), 'two connections: commands and subscriber')
  await b.close()
  t.ok(await eventually(async () => await connectedClients() === 0), 'both closed')
})

t.test('the key from a file; Redis away at start-up: the broker starts, serves alone, and says so', async (t) => {
  const away = await RedisServer.start()
  await away.stop()
  const { broker: b, logs, lwa, getToken, cacheUp } = await broker(t, { backend: 'redis', url: away.url, encryptionKeyFile: 'cache.key' })
  t.teardown(() => b.close())
  t.equal(await cacheUp(), 'lwa_broker_shared_cache_up 0')
  t.equal((await getToken('ads-us')).statusCode, 200)
  t.equal(lwa.callCount(), 1)
  t.match(logs.find((r) => r.sharedCache !== undefined), [{ sharedCache: 'down', component: 'cache', msg: /serving from this replica alone/ }])
})

t.test('the memory backend (the default) reports no shared cache', async (t) => {
  const { broker: b, cacheUp } = await broker(t, {})
  t.teardown(() => b.close())
  t.equal(await cacheUp(), undefined)
})

t.test('a key file of the wrong size stops start-up, naming the field', async (t) => {
  await t.rejects(broker(t, { backend: 'redis', url: redis.url, encryptionKeyFile: 'short.key' }, { 'short.key': 'c2hvcnQ=' }), { message: /^cache\.encryptionKeyFile .*short\.key: must hold 32 bytes/ })
})
