import { Redis } from 'ioredis'
import t from 'tap'
import { TokenCipher, TokenSealError } from '../../src/cache/index.js'
import { baseSecrets, fixtures, issuerUrl, limitHeaders, type Harness } from '../helper.js'
import { RedisServer } from '../support/redis-server.js'
import { admin, credentials, deployment, eventually, platform, withAdminRule } from './fixtures/deployment.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

const adminCall = async (h: Harness, url: string) =>
  h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${await h.jwt(admin)}` } })

t.test('300 concurrent cold requests spread over three replicas: one LWA call per credential, one token each', async (t) => {
  const d = await deployment(t, redis, 3)
  const jwt = await d.replicas[0]!.jwt(platform)
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => d.getToken(i, credentials[i % credentials.length] as string, jwt)))
  t.same(answers.filter((a) => a.statusCode !== 200).map((a) => a.body), [], 'every request served')
  const lwa = d.replicas[0]!.lwa
  t.equal(lwa.callCount({ clientId: fixtures.adsClient.clientId }), 1, 'ads-us')
  t.equal(lwa.callCount({ clientId: fixtures.spClient.clientId, grantType: 'refresh_token' }), 1, 'sp-acme-eu')
  t.equal(lwa.callCount({ clientId: fixtures.spClient.clientId, grantType: 'client_credentials' }), 1, 'sp-notifications')
  t.equal(lwa.callCount({ clientId: fixtures.appstoreClient.clientId }), 1, 'appstore-main')
  t.equal(lwa.callCount(), 4)
  for (const credential of credentials) {
    const tokens = new Set(answers.filter((_, i) => credentials[i % credentials.length] === credential).map((a) => a.json().access_token as string))
    t.equal(tokens.size, 1, `${credential}: every replica hands out the same token`)
  }
})

t.test('the rate limit holds across replicas: the limit, not three times it', async (t) => {
  const d = await deployment(t, redis, 3, { config: (c) => ({ ...c, rateLimit: { max: 5, unauthenticatedMax: 100, timeWindowSeconds: 60 } }) })
  const jwt = await d.replicas[0]!.jwt(platform)
  const statuses: number[] = []
  const left: number[] = []
  for (let i = 0; i < 15; i++) {
    const res = await d.getToken(i, 'ads-us', jwt)
    statuses.push(res.statusCode)
    const [limit, remaining, reset] = limitHeaders(res)
    left.push(remaining)
    t.ok(limit === 5 && reset >= 1 && reset <= 60, 'the same limit headers as without Redis')
  }
  t.same(statuses, [200, 200, 200, 200, 200, ...Array<number>(10).fill(429)])
  t.same(left, [4, 3, 2, 1, 0, ...Array<number>(10).fill(0)], 'what is left, counted across replicas')
  const other = await d.replicas[2]!.jwt({ claims: { sub: 'system:serviceaccount:ads:reporter' } })
  t.equal((await d.getToken(2, 'ads-us', other)).statusCode, 200, 'another caller has its own budget')
  const counters = (await withClient(t, redis, (c) => c.keys(`${d.keyPrefix}*rate-limit*`))).sort()
  t.same(counters, [`${d.keyPrefix}fastify-rate-limit-caller:${issuerUrl} system:serviceaccount:ads:reporter`, `${d.keyPrefix}fastify-rate-limit-caller:${issuerUrl} system:serviceaccount:platform:all`],
    'one counter per caller, shared by the replicas, under their key prefix')
})

t.test('a secret reload on one replica reaches the others: they retry a rejected credential at once', async (t) => {
  const d = await deployment(t, redis, 3, { config: withAdminRule })
  const [a, b, c] = d.replicas as [Harness, Harness, Harness]
  const jwt = await a.jwt(platform)
  a.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  for (let i = 0; i < 3; i++) t.equal((await d.getToken(i, 'ads-us', jwt)).statusCode, 502, `replica ${i}: rejected`)
  await eventually(async () => d.replicas.some((h) => h.logs.find((r) => r.event === 'credential.revoked').length > 0))
  const revoked = d.replicas.flatMap((h) => h.logs.find((r) => r.event === 'credential.revoked'))
  t.equal(revoked.length, 1, 'the revocation is reported once across the replicas (its id claimed in Redis)')
  const fixed = 'Atzr|IwEBIAds-refresh-token-fixed'
  a.lwa.addRefreshToken({ refreshToken: fixed, clientId: fixtures.adsClient.clientId })
  a.writeSecrets({ ...baseSecrets(), 'lwa/ads-us': { client_id: fixtures.adsClient.clientId, client_secret: fixtures.adsClient.clientSecret, refresh_token: fixed } })
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502, 'fixed, but still inside the retry window')
  t.equal((await adminCall(a, '/admin/secrets/reload')).statusCode, 200)
  for (const [name, h] of [['b', b], ['c', c]] as const) {
    t.ok(await eventually(async () => (await h.getToken('ads-us', jwt)).statusCode === 200), `replica ${name} serves it without waiting out the window`)
  }
})

t.test('a forced refresh on one replica reaches the others: they hand out the new token', async (t) => {
  const d = await deployment(t, redis, 3, { config: withAdminRule })
  const jwt = await d.replicas[0]!.jwt(platform)
  const before = await Promise.all([0, 1, 2].map(async (i) => (await d.getToken(i, 'ads-us', jwt)).json().access_token as string))
  t.equal(new Set(before).size, 1)
  d.replicas[0]!.clock.advance(60_000)
  t.equal((await adminCall(d.replicas[1]!, '/admin/credentials/ads-us/refresh')).statusCode, 200)
  const refreshed = (await d.getToken(1, 'ads-us', jwt)).json().access_token as string
  t.not(refreshed, before[0])
  for (const i of [0, 2]) {
    t.ok(await eventually(async () => (await d.getToken(i, 'ads-us', jwt)).json().access_token === refreshed), `replica ${i} has the new token`)
  }
  t.equal(d.replicas[0]!.lwa.callCount(), 2, 'one LWA call for the first token, one for the forced refresh')
})

t.test('a peer\'s token with less left than a caller needs is not taken: the SDK floor and min_ttl on another replica', async (t) => {
  const d = await deployment(t, redis, 3)
  const [a, b, c] = d.replicas as [Harness, Harness, Harness]
  const jwt = await a.jwt({ ...platform, lifetimeSeconds: 7200 })
  const shared = (await a.getToken('sp-acme-eu', jwt)).json().access_token as string
  a.clock.advance(1_000_000) // 2600 s left: not yet due for refresh (half the lifetime), under the SDK floor
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: jwt }).toString()
  const viaSdk = await b.app.inject({
    method: 'POST', url: '/auth/o2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form,
  })
  t.equal(viaSdk.statusCode, 200, 'the SDK\'s first request on the other replica is served')
  t.not(viaSdk.json().access_token, shared, 'with a token of its own: the peer\'s has too little left')
  t.ok(viaSdk.json().expires_in >= 3300, `expires_in ${viaSdk.json().expires_in} s: above the floor`)
  t.equal(a.lwa.callCount(), 2, 'one more LWA call')
  a.clock.advance(1_000_000) // the SDK's token: 2600 s left
  const plain = await c.getToken('sp-acme-eu', jwt)
  t.equal(plain.json().access_token, viaSdk.json().access_token, 'a caller that needs less takes the newest shared token')
  const asked = await c.app.inject({ url: '/token?credential=sp-acme-eu&min_ttl=3000', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(asked.statusCode, 200, 'GET /token with a min_ttl the shared token cannot meet: served, not 400')
  t.equal(asked.json().expires_in, 3600, 'a token of its own')
  t.equal(a.lwa.callCount(), 3)
})

t.test('tokens at rest in Redis are sealed: no token text, and they open only with the key', async (t) => {
  const d = await deployment(t, redis, 2)
  const jwt = await d.replicas[0]!.jwt(platform)
  const served = new Map<string, string>()
  for (const credential of credentials) served.set(credential, (await d.getToken(0, credential, jwt)).json().access_token as string)
  const stored = await withClient(t, redis, async (c) => {
    const keys = await c.keys(`${d.keyPrefix}token:*`)
    return Promise.all(keys.map(async (k) => [k.slice(`${d.keyPrefix}token:{`.length, -1), await c.get(k) as string] as const))
  })
  t.same(stored.map(([credential]) => credential).sort(), [...credentials].sort())
  const right = new TokenCipher(d.key)
  const wrong = new TokenCipher(Buffer.alloc(32, 7))
  for (const [credential, value] of stored) {
    t.notMatch(value, /Atza\||Atc\|/, `${credential}: no token in the clear`)
    t.notOk(value.includes(served.get(credential) as string))
    t.notOk(value.includes(fixtures.adsClient.clientId) || value.includes(fixtures.spClient.clientId))
    const sealed = value.slice(value.indexOf(':') + 1)
    t.throws(() => wrong.open(credential, sealed), TokenSealError, `${credential}: a wrong key does not open it`)
    t.equal(right.open(credential, sealed).accessToken, served.get(credential), 'the right key does')
  }
})

async function withClient<T>(t: Test, server: RedisServer, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(server.url)
  t.teardown(() => client.quit())
  return use(client)
}
