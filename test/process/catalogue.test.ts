import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { baseSecrets, fixtures, mintJwt } from '../helper.js'
import { processFixture, startBroker } from '../support/broker-process.js'
import { RedisServer } from '../support/redis-server.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const awsEnv = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }

const tagsFor = (name: string) => ({
  'lwa-broker:credential': name, 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'na', 'lwa-broker:app': 'lwa/apps/sp',
})

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) return Number.POSITIVE_INFINITY
    await new Promise((r) => setTimeout(r, 100))
  }
  return Date.now() - t0
}

t.test('two broker processes: a secret created while they run is served by both within one interval', async (t) => {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  for (const [id, value] of Object.entries(baseSecrets())) sm.putSecret(id, value as object)
  const { lwa, keys, configPath } = await processFixture(t, (c) => ({
    ...c, secrets: { backend: 'aws', region: 'us-east-1', endpoint: sm.url },
    catalogue: { namePrefix: 'lwa-broker/sellers/', intervalSeconds: 5, jitterRatio: 0.1 },
  }))
  const replicas = [startBroker(configPath, awsEnv), startBroker(configPath, awsEnv)]
  for (const r of replicas) t.teardown(() => { r.child.kill('SIGKILL') })
  const bases = await Promise.all(replicas.map((r) => r.listening()))
  const jwt = await mintJwt(keys, platform)
  const get = async (base: string) => (await fetch(`${base}/token?credential=sp-new`, { headers: { authorization: `Bearer ${jwt}` } })).status
  t.same(await Promise.all(bases.map(get)), [404, 404])
  lwa.addRefreshToken({ refreshToken: 'Atzr|IwEBI-process-new', clientId: fixtures.spClient.clientId })
  sm.putSecret('lwa-broker/sellers/sp-new', { refresh_token: 'Atzr|IwEBI-process-new' }, { tags: tagsFor('sp-new') })
  const waited = await Promise.all(bases.map((base) => until(async () => (await get(base)) === 200, 10_000)))
  for (const [i, ms] of waited.entries()) t.ok(ms <= 5000 + 1000, `replica ${i} served it after ${ms} ms (interval 5 s)`)
  sm.untagSecret('lwa-broker/sellers/sp-new', ['lwa-broker:credential'])
  const gone = await Promise.all(bases.map((base) => until(async () => (await get(base)) === 404, 10_000)))
  for (const [i, ms] of gone.entries()) t.ok(ms <= 6500, `replica ${i} forgot it after ${ms} ms`)
})

t.test('with Redis, a refresh on one process reaches the other at once, long before its interval', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  for (const [id, value] of Object.entries(baseSecrets())) sm.putSecret(id, value as object)
  const { lwa, keys, configPath, dir } = await processFixture(t, (c) => ({
    ...c, secrets: { backend: 'aws', region: 'us-east-1', endpoint: sm.url },
    catalogue: { namePrefix: 'lwa-broker/sellers/', intervalSeconds: 3600 },
    cache: { backend: 'redis', url: redis.url, encryptionKeyFile: './cache.key' },
    policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
  }))
  writeFileSync(join(dir, 'cache.key'), randomBytes(32))
  const replicas = [startBroker(configPath, awsEnv), startBroker(configPath, awsEnv)]
  for (const r of replicas) t.teardown(() => { r.child.kill('SIGKILL') })
  const [a, b] = await Promise.all(replicas.map((r) => r.listening())) as [string, string]
  lwa.addRefreshToken({ refreshToken: 'Atzr|IwEBI-process-peer', clientId: fixtures.spClient.clientId })
  sm.putSecret('lwa-broker/sellers/sp-peer', { refresh_token: 'Atzr|IwEBI-process-peer' }, { tags: tagsFor('sp-peer') })
  const refreshed = await fetch(`${a}/admin/catalogue/refresh`, { method: 'POST', headers: { authorization: `Bearer ${await mintJwt(keys, admin)}` } })
  t.equal(refreshed.status, 200)
  const jwt = await mintJwt(keys, platform)
  const ms = await until(async () => (await fetch(`${b}/token?credential=sp-peer`, { headers: { authorization: `Bearer ${jwt}` } })).status === 200, 5000)
  t.ok(ms < 5000, `the other process served it after ${ms} ms (its own interval is an hour)`)
})
