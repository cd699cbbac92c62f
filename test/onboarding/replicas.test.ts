// Onboarding across a deployment: two brokers sharing one Redis (and one Secrets Manager, one
// LWA): a link made on one opens on the other, a state one signed is checked by the other, and
// a used state or link is used on both.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { build, fixtures, seedEmulator } from '../helper.js'
import { AdsEmulator } from '../support/ads-emulator.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { approve, callback, link, open, withOnboarding } from '../support/onboarding-fixture.js'
import { RedisServer } from '../support/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

t.test('two replicas sharing Redis: link on A, opened on B, callback on A; then used up on both', async (t) => {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const ads = await AdsEmulator.start({ lwa })
  t.teardown(() => ads.close())
  const config = (c: Record<string, unknown>) => withOnboarding({ ...c, ads: { endpoints: { na: ads.url, eu: ads.url, fe: ads.url } } })
  const shared = { connection: redis.connection, key: randomBytes(32), keyPrefix: 'onboarding-replicas:' }
  const a = Object.assign(await build(t, { secretsBackend: 'aws', lwa, config, redis: shared }), { ads })
  const b = Object.assign(await build(t, { secretsBackend: 'aws', lwa, config, redis: shared, clock: a.clock, sm: a.sm }), { ads })

  const url = await link(a, 'sp-acme-eu')
  const opened = await open(b, url)
  t.equal(opened.res.statusCode, 303, 'a link made on one replica opens on the other')
  const query = { spapi_oauth_code: approve(a, fixtures.spClient.clientId, 'Atzr|IwEBIReplicaSeller'), state: opened.state, selling_partner_id: 'A3SELLERTEST1' }
  const done = await callback(a, query, opened.cookie)
  t.equal(done.statusCode, 200, 'the state the other replica signed is accepted here')
  t.equal(JSON.parse(a.sm?.current('lwa/sellers/acme')?.value ?? '{}').refresh_token, 'Atzr|IwEBIReplicaSeller', 'stored once')

  const twice = await callback(b, query, opened.cookie)
  t.equal(twice.statusCode, 400, 'the same callback on the other replica is refused')
  t.match(twice.body, /already completed or used/)
  t.equal(a.sm?.callCount({ operation: 'PutSecretValue' }), 1, 'nothing stored twice')
  const path = new URL(url).pathname
  t.equal((await a.app.inject({ url: path })).statusCode, 410, 'the link is used up here')
  t.equal((await b.app.inject({ url: path })).statusCode, 410, 'and there')
})
