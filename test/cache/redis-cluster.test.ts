import t from 'tap'
import { fixtures, type Harness } from '../helper.js'
import { ClusterTopology } from '../support/redis-topology.js'
import { credentials, deployment, eventually, platform, withAdminRule } from './fixtures/deployment.js'
import {
  coldNames, coldStart, forcedRefreshReaches, noRequestFailed, oneCallForCold, sharedCacheUp, steadyLoad,
  withColdCredentials,
} from './fixtures/topology-checks.js'

const topology = await ClusterTopology.start()
t.teardown(() => topology.stop())

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('two replicas on a Redis Cluster: one LWA call per credential, one token; a token and its lock share a slot their plain keys would not', async (t) => {
  const d = await deployment(t, topology, 2, { config: withAdminRule })
  for (const h of d.replicas) t.ok(await sharedCacheUp(h), 'connected to the cluster')
  const jwt = await d.replicas[0]!.jwt(platform)
  await coldStart(t, d, jwt)
  const masters = new Set<number>()
  for (const credential of credentials) {
    const token = `${d.keyPrefix}token:{${credential}}`
    t.equal(await topology.slotOf(token), await topology.slotOf(`${d.keyPrefix}lock:{${credential}}`), `${credential}: token and lock in one slot`)
    t.equal(await topology.onMasterOf(token, (c) => c.exists(token)), 1, `${credential}: stored on the master of its slot, under the key prefix`)
    masters.add(await topology.masterOf(token))
  }
  t.ok(masters.size > 1, `the credentials spread over ${masters.size} masters, not one slot`)
  // What the hash tags prevent: a credential's plain keys in two slots, which a two-key script may not touch.
  const [plainToken, plainLock] = [`${d.keyPrefix}token:ads-us`, `${d.keyPrefix}lock:ads-us`]
  t.not(await topology.slotOf(plainToken), await topology.slotOf(plainLock), 'the plain keys land in different slots')
  await t.rejects(topology.onMasterOf(plainToken, (c) => c.eval('return 1', 2, plainToken, plainLock)), /CROSSSLOT/)
  await forcedRefreshReaches(t, d, jwt, 'ads-us')
})

t.test('on a Redis Cluster the rate limit and the jti replay guard hold across replicas', async (t) => {
  const d = await deployment(t, topology, 2, {
    config: (c) => ({
      ...c,
      rateLimit: { max: 5, unauthenticatedMax: 100, timeWindowSeconds: 60 },
      issuers: (c.issuers as Array<Record<string, unknown>>).map((issuer) => ({ ...issuer, requireJti: true })),
    }),
  })
  const [a, b] = d.replicas as [Harness, Harness]
  const statuses: number[] = []
  for (let i = 0; i < 10; i++) {
    const jwt = await a.jwt({ claims: { ...platform.claims, jti: `limited-${i}` } })
    statuses.push((await d.getToken(i, 'ads-us', jwt)).statusCode)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429], 'the limit once, not once per replica')
  const replayed = await a.jwt({ claims: { sub: 'system:serviceaccount:ads:reporter', jti: 'shared-jti' } })
  t.equal((await a.getToken('ads-us', replayed)).statusCode, 200, 'replica A accepts the jti')
  t.equal((await b.getToken('ads-us', replayed)).statusCode, 401, 'replica B refuses its replay')
})

t.test('a cluster master killed under load: no request fails; after the failover the replicas share tokens and events again', async (t) => {
  const names = coldNames(400)
  const d = await deployment(t, topology, 2, { config: withColdCredentials(names) })
  const jwt = await d.replicas[0]!.jwt(platform)
  // The master of the credential asked after the failover: sharing again goes through its promoted replica.
  const key = `${d.keyPrefix}token:{appstore-main}`
  const load = steadyLoad(d, jwt, names)
  try {
    await sleep(500)
    const old = await topology.masterOf(key)
    t.not(await topology.failOver(key), old, "the master's replica took its slots over")
    await sleep(1000)
  } finally {
    await load.stop()
  }
  noRequestFailed(t, d, load, 50)
  for (const h of d.replicas) t.ok(await eventually(() => sharedCacheUp(h), 10_000), 'connected to the cluster')

  await oneCallForCold(t, d, jwt, 'appstore-main', fixtures.appstoreClient.clientId)
  t.equal(await topology.onMasterOf(key, (c) => c.exists(key)), 1, 'stored on the promoted master')
  await forcedRefreshReaches(t, d, jwt, 'appstore-main')
})
