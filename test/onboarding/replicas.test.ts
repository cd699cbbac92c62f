// Onboarding across a deployment: two brokers sharing one Redis (and one Secrets Manager, one
// LWA): a link made on one opens on the other, a state one signed is checked by the other, and
// a used state or link is used on both.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { build, fixtures, seedEmulator } from '../helper.js'
import { AdsEmulator } from '../support/ads-emulator.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { call } from '../support/api-test-client.js'
import { waitFor } from '../support/broker-process.js'
import { approve, callback, link, open, publicUrl, withOnboarding } from '../support/onboarding-fixture.js'
import { decide, linkOf, location } from '../support/page-client.js'
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

t.test('two replicas: a new seller from the Appstore signs in on A, Amazon returns to B; the credential it creates serves on both', async (t) => {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  lwa.addApplication({ applicationId: 'amzn1.sp.solution.test', clientId: fixtures.spClient.clientId })
  const prefix = 'lwa-broker/sellers/'
  const config = (c: Record<string, unknown>) => {
    const base = withOnboarding(c)
    const onboarding = {
      ...(base.onboarding as object), amazonOrigins: { eu: [lwa.url] },
      selfService: { app: 'lwa/apps/sp', applicationId: 'amzn1.sp.solution.test' },
    }
    return { ...base, onboarding, catalogue: { namePrefix: prefix } }
  }
  const shared = { connection: redis.connection, key: randomBytes(32), keyPrefix: 'onboarding-login-replicas:' }
  const a = await build(t, { secretsBackend: 'aws', lwa, config, redis: shared })
  const b = await build(t, { secretsBackend: 'aws', lwa, config, redis: shared, clock: a.clock, sm: a.sm })

  const start = lwa.startAppstoreAuthorization({
    applicationId: 'amzn1.sp.solution.test', loginUri: `${publicUrl}/oauth/login`, sellingPartnerId: 'A3FLEETSELLER', flavour: 'appstore',
  })
  const login = linkOf((await call(start)).text, 'authorize')
  const left = await a.app.inject({ url: `${login.pathname}${login.search}` })
  t.equal(left.statusCode, 303, 'replica A sends the seller back to Amazon')
  const confirm = await call(left.headers.location as string)
  const back = location(await decide(lwa, confirm.text, 'allow'))
  a.logs.secrets.add(lwa.lastConsent?.refreshToken ?? '')
  b.logs.secrets.add(lwa.lastConsent?.refreshToken ?? '')
  const cookie = (left.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ')
  const done = await callback(b, Object.fromEntries(back.searchParams), cookie)
  t.equal(done.statusCode, 200, 'replica B checks the state A signed and creates the credential')
  t.match(done.body, 'Credential sp-A3FLEETSELLER-eu is connected')
  const jwt = { claims: { sub: 'system:serviceaccount:platform:all' } }
  t.equal((await b.getToken('sp-A3FLEETSELLER-eu', await b.jwt(jwt))).statusCode, 200, 'served where it was created')
  await waitFor(() => a.services.catalogue.has('sp-A3FLEETSELLER-eu'), 'replica A to list the new credential', 10_000)
  t.equal((await a.getToken('sp-A3FLEETSELLER-eu', await a.jwt(jwt))).statusCode, 200, 'and on the other replica, told through Redis')
  t.equal(a.sm?.callCount({ operation: 'CreateSecret' }), 1)
})

t.test('Redis down when a seller presents a link at the Login URI: a page saying try again, the link still open', async (t) => {
  const own = await RedisServer.start()
  t.teardown(() => own.stop())
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const config = (c: Record<string, unknown>) => {
    const base = withOnboarding(c)
    return { ...base, onboarding: { ...(base.onboarding as object), amazonOrigins: { eu: [lwa.url] } } }
  }
  const h = await build(t, { secretsBackend: 'aws', lwa, config, redis: { connection: own.connection, key: randomBytes(32) } })
  const url = await link(h, 'sp-acme-eu')
  const query = new URLSearchParams({ amazon_callback_uri: `${lwa.url}/apps/authorize/confirm`, amazon_state: 'amz', selling_partner_id: 'A3SELLER' })
  await own.stop()
  const down = await h.app.inject({ method: 'POST', url: `/oauth/login?${query}`, payload: { link: url } })
  t.equal(down.statusCode, 503)
  t.match(down.body, 'its shared store cannot be reached')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'store_unavailable')
})
