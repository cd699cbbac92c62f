import t from 'tap'
import { fixtures, type Harness } from '../helper.js'
import { SentinelTopology } from '../support/redis-topology.js'
import { deployment, eventually, platform, withAdminRule } from './fixtures/deployment.js'
import {
  coldNames, coldStart, forcedRefreshReaches, noRequestFailed, oneCallForCold, sharedCacheUp, steadyLoad,
  withColdCredentials,
} from './fixtures/topology-checks.js'

const topology = await SentinelTopology.start()
t.teardown(() => topology.stop())

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sharedCacheStates = (h: Harness): unknown[] =>
  h.logs.records().filter((r) => r.sharedCache !== undefined).map((r) => r.sharedCache)

t.test('two replicas through Sentinel (AUTH on servers and sentinels): one LWA call per credential, the token on the master, peer events heard', async (t) => {
  const d = await deployment(t, topology, 2, { config: withAdminRule })
  for (const h of d.replicas) t.ok(await sharedCacheUp(h), 'connected through the sentinels')
  const jwt = await d.replicas[0]!.jwt(platform)
  await coldStart(t, d, jwt)
  t.equal(await topology.onMaster((c) => c.exists(`${d.keyPrefix}token:{ads-us}`)), 1, 'the token is on the master, under the key prefix')
  await forcedRefreshReaches(t, d, jwt, 'ads-us')
})

t.test('the Sentinel master killed under load: no request fails; after the failover the replicas share tokens and events again', async (t) => {
  const names = coldNames(400)
  const d = await deployment(t, topology, 2, { config: withColdCredentials(names) })
  const jwt = await d.replicas[0]!.jwt(platform)
  const load = steadyLoad(d, jwt, names)
  try {
    await sleep(500)
    const old = await topology.masterPort()
    t.not(await topology.failOver(), old, 'the sentinels promoted the replica')
    for (const h of d.replicas) t.ok(await eventually(() => sharedCacheUp(h), 10_000), 'the replica found the new master')
    await sleep(500)
  } finally {
    await load.stop()
  }
  noRequestFailed(t, d, load, 50)
  for (const h of d.replicas) t.same(sharedCacheStates(h).slice(-2), ['down', 'up'], 'the failover is one outage in the log, and its end')

  await oneCallForCold(t, d, jwt, 'appstore-main', fixtures.appstoreClient.clientId)
  t.equal(await topology.onMaster((c) => c.exists(`${d.keyPrefix}token:{appstore-main}`)), 1, 'stored on the promoted master')
  await forcedRefreshReaches(t, d, jwt, 'appstore-main')
})
