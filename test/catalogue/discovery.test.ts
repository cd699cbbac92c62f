import t from 'tap'
import { randomBytes } from 'node:crypto'
import { build, fixtures, type Harness } from '../helper.js'
import { scrapeMetrics } from '../support/exposition.js'
import { RedisServer } from '../support/redis-server.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const withCatalogue = (c: Record<string, unknown>): Record<string, unknown> => ({
  ...c,
  catalogue: { namePrefix: 'lwa-broker/sellers/' },
  policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
})

let sellers = 0
/** A seller's grant secret, tagged as a credential that uses the SP-API app secret, and its refresh token at LWA. */
function addSeller(h: Harness, name: string, tags: Record<string, string> = {}, sm = h.sm): string {
  const refreshToken = `Atzr|IwEBI-discovered-${++sellers}-${randomBytes(4).toString('hex')}`
  h.lwa.addRefreshToken({ refreshToken, clientId: fixtures.spClient.clientId })
  h.logs.secrets.add(refreshToken)
  sm?.putSecret(`lwa-broker/sellers/${name}`, { refresh_token: refreshToken }, {
    tags: {
      'lwa-broker:credential': name, 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'na',
      'lwa-broker:app': 'lwa/apps/sp', ...tags,
    },
  })
  return refreshToken
}

async function discovering(t: Test, config: (c: Record<string, unknown>) => Record<string, unknown> = withCatalogue): Promise<Harness> {
  const h = await build(t, { secretsBackend: 'aws', config })
  await h.services.discovery?.refresh()
  return h
}

/** The refresh token LWA issued an answer's access token for. */
const grantBehind = (h: Harness, res: { json(): unknown }): string | undefined =>
  h.lwa.grantOf((res.json() as { access_token: string }).access_token)?.refreshToken

const listCalls = (h: Harness): number => h.sm?.callCount({ operation: 'ListSecrets' }) ?? 0
const statusOf = async (h: Harness, name: string) => {
  const res = await h.app.inject({ url: '/admin/credentials', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  return (res.json() as { credentials: Array<Record<string, unknown>> }).credentials.find((c) => c.credential === name)
}

t.test('a secret created and tagged while the broker runs is served after the next listing, without a restart', async (t) => {
  const h = await discovering(t)
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('sp-globex', jwt)).statusCode, 404, 'not there yet')
  const refreshToken = addSeller(h, 'sp-globex', { 'lwa-broker:label:tenant': 'globex' })
  const listed = await h.services.discovery?.refresh()
  t.match(listed, { changes: [{ name: 'sp-globex', kind: 'added' }] })
  const res = await h.getToken('sp-globex', jwt)
  t.equal(res.statusCode, 200)
  t.equal(grantBehind(h, res), refreshToken, 'the token is the tagged secret\'s grant')
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'the config file\'s credentials serve beside it')
  t.match(await statusOf(h, 'sp-globex'), { origin: 'secret', api: 'sp-api', region: 'na', labels: { tenant: 'globex' }, health: 'healthy', tag_problem: null })
  t.match(await statusOf(h, 'ads-us'), { origin: 'config' })
})

t.test('untagging or scheduling the deletion of a secret removes its credential and drops its token', async (t) => {
  const h = await discovering(t)
  const jwt = await h.jwt(platform)
  addSeller(h, 'sp-one')
  addSeller(h, 'sp-two')
  await h.services.discovery?.refresh()
  t.equal((await h.getToken('sp-one', jwt)).statusCode, 200)
  t.equal((await h.getToken('sp-two', jwt)).statusCode, 200)
  h.sm?.untagSecret('lwa-broker/sellers/sp-one', ['lwa-broker:credential'])
  h.sm?.scheduleDeletion('lwa-broker/sellers/sp-two', 7)
  const listed = await h.services.discovery?.refresh()
  t.same(listed?.changes.map((c) => `${c.name} ${c.kind}`).sort(), ['sp-one removed', 'sp-two removed'])
  for (const name of ['sp-one', 'sp-two']) {
    const res = await h.getToken(name, jwt)
    t.equal(res.statusCode, 404, `${name}: unknown_credential afterwards`)
    t.equal(res.json().error, 'unknown_credential')
    t.equal(h.services.tokens.peek(name).token, undefined, `${name}: its cached token is gone`)
  }
  h.sm?.restoreSecret('lwa-broker/sellers/sp-two')
  await h.services.discovery?.refresh()
  t.equal((await h.getToken('sp-two', jwt)).statusCode, 200, 'a restored secret is a credential again')
})

t.test('a bad tag makes only that credential misconfigured, naming the tag, in status, metrics and GET /token', async (t) => {
  const h = await discovering(t)
  const jwt = await h.jwt(platform)
  addSeller(h, 'sp-good')
  addSeller(h, 'sp-bad', { 'lwa-broker:region': 'us-east' })
  await h.services.discovery?.refresh()
  t.equal((await h.getToken('sp-good', jwt)).statusCode, 200, 'the rest keep serving')
  const bad = await h.getToken('sp-bad', jwt)
  t.equal(bad.statusCode, 502)
  t.match(bad.json(), { error: 'credential_misconfigured', message: /lwa-broker:region/ })
  t.match(await statusOf(h, 'sp-bad'), { origin: 'secret', api: 'sp-api', region: null, health: 'misconfigured', tag_problem: { tag: 'lwa-broker:region' } })
  const metrics = await scrapeMetrics(t, h)
  t.match(metrics, 'lwa_broker_credential_health{credential="sp-bad",state="misconfigured"} 1')
  t.match(metrics, 'lwa_broker_catalogue_credentials{origin="secret"} 2')
  t.equal(h.logs.find((l) => l.tag === 'lwa-broker:region' && l.credential === 'sp-bad').length, 1, 'logged once, naming the tag')
  await h.services.discovery?.refresh()
  t.equal(h.logs.find((l) => l.tag === 'lwa-broker:region').length, 1, 'not again while it stays the same')
  h.sm?.tagSecret('lwa-broker/sellers/sp-bad', { 'lwa-broker:region': 'na' })
  await h.services.discovery?.refresh()
  t.equal((await h.getToken('sp-bad', jwt)).statusCode, 200, 'a fixed tag takes effect at the next listing')
})

t.test('a changed tag takes effect, and a name moved to another secret never serves the old account\'s token', async (t) => {
  const h = await discovering(t)
  const jwt = await h.jwt(platform)
  const first = addSeller(h, 'sp-moving')
  await h.services.discovery?.refresh()
  t.equal((await h.getToken('sp-moving', jwt)).statusCode, 200)
  h.sm?.untagSecret('lwa-broker/sellers/sp-moving', ['lwa-broker:credential'])
  const second = addSeller(h, 'sp-moving-2', { 'lwa-broker:credential': 'sp-moving' })
  const listed = await h.services.discovery?.refresh()
  t.match(listed?.changes, [{ name: 'sp-moving', kind: 'changed' }])
  const calls = h.lwa.calls.length
  const res = await h.getToken('sp-moving', jwt)
  t.equal(res.statusCode, 200)
  t.equal(h.lwa.calls.length, calls + 1, 'a new token, not the cached one')
  t.equal(grantBehind(h, res), second)
  t.not(first, second)
})

t.test('a name the config file declares too: the file\'s credential serves, logged once, with a metric', async (t) => {
  const h = await discovering(t)
  addSeller(h, 'ads-us')
  await h.services.discovery?.refresh()
  await h.services.discovery?.refresh()
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 200)
  t.equal(grantBehind(h, res), fixtures.adsRefreshToken, 'the config file\'s grant')
  t.equal(h.logs.find((l) => /config file also declares/.test(String(l.msg))).length, 1)
  t.match(await scrapeMetrics(t, h), 'lwa_broker_catalogue_name_clashes 1')
})

t.test('two secrets declaring one name are both refused: neither account is served under it', async (t) => {
  const h = await discovering(t)
  addSeller(h, 'sp-twin')
  addSeller(h, 'sp-twin-2', { 'lwa-broker:credential': 'sp-twin' })
  await h.services.discovery?.refresh()
  t.match((await h.getToken('sp-twin', await h.jwt(platform))).json(), { error: 'credential_misconfigured', message: /more than one secret/ })
})

t.test('5,000 discovered credentials across pages: one ListSecrets call per 100, every one servable', async (t) => {
  const h = await build(t, { secretsBackend: 'aws', config: withCatalogue })
  for (let i = 0; i < 5000; i++) {
    h.sm?.putSecret(`lwa-broker/sellers/s${i}`, { refresh_token: fixtures.spRefreshToken }, {
      tags: { 'lwa-broker:credential': `s${i}`, 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'eu', 'lwa-broker:app': 'lwa/apps/sp' },
    })
  }
  h.sm?.putSecret('other/untagged', { refresh_token: 'x' })
  const listed = await h.services.discovery?.refresh()
  t.equal(listed?.calls, 50)
  t.equal(listCalls(h), 50)
  t.equal(listed?.changes.length, 5000)
  t.equal(h.services.catalogue.names().length, 5000 + 4)
  t.equal((await h.getToken('s4999', await h.jwt(platform))).statusCode, 200)
  t.equal(h.sm?.callCount({ operation: 'GetSecretValue', secretId: 'other/untagged' }), 0, 'discovery reads no secret value')
})

t.test('a throttled listing backs off and retries, counted; a listing that fails removes nothing', async (t) => {
  const h = await discovering(t)
  addSeller(h, 'sp-kept')
  await h.services.discovery?.refresh()
  const before = listCalls(h)
  h.sm?.failNext({ kind: 'error', type: 'ThrottlingException', status: 400 }, 2, { operation: 'ListSecrets' })
  const listed = await h.services.discovery?.refresh()
  t.equal(listed?.calls, 3, 'two throttled attempts and the one that worked')
  t.equal(listCalls(h) - before, 3)
  t.match(await scrapeMetrics(t, h), /lwa_broker_catalogue_list_calls_total \d+/)
  h.sm?.failNext({ kind: 'error', type: 'AccessDeniedException', status: 400 }, 1, { operation: 'ListSecrets' })
  await t.rejects(h.services.discovery!.refresh())
  t.ok(h.services.catalogue.get('sp-kept'), 'still known')
  t.equal((await h.getToken('sp-kept', await h.jwt(platform))).statusCode, 200)
  t.match(await scrapeMetrics(t, h), 'lwa_broker_catalogue_listings_total{result="failed"} 1')
})

t.test('POST /admin/catalogue/refresh lists now and says what changed; a failed listing is a 503', async (t) => {
  const h = await discovering(t)
  addSeller(h, 'sp-admin')
  const call = async () => h.app.inject({ method: 'POST', url: '/admin/catalogue/refresh', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  const res = await call()
  t.equal(res.statusCode, 200)
  t.same(res.json(), { listed_secrets: 1, list_calls: 1, added: 1, changed: 0, removed: 0 })
  t.match(h.logs.find((l) => l.event === 'admin.catalogue.refresh')[0], { outcome: 'allowed' })
  h.sm?.failNext({ kind: 'error', type: 'InternalServiceError', status: 500 }, 1, { operation: 'ListSecrets' })
  const failed = await call()
  t.equal(failed.statusCode, 503)
  t.equal(failed.json().error, 'upstream_unavailable')
  const denied = await h.app.inject({ method: 'POST', url: '/admin/catalogue/refresh', headers: { authorization: `Bearer ${await h.jwt(platform)}` } })
  t.equal(denied.statusCode, 403)
})

t.test('label rules: one rule covers every seller a team onboards, and no caller sees another tenant\'s seller', async (t) => {
  const h = await discovering(t, (c) => withCatalogue({
    ...c,
    policy: [
      { subject: 'system:serviceaccount:*', credentialLabels: { team: 'retail' }, labelsFromClaims: { tenant: 'kubernetes.io/namespace' } },
    ],
  }))
  addSeller(h, 'sp-acme-1', { 'lwa-broker:label:team': 'retail', 'lwa-broker:label:tenant': 'acme' })
  addSeller(h, 'sp-globex-1', { 'lwa-broker:label:team': 'retail', 'lwa-broker:label:tenant': 'globex' })
  addSeller(h, 'sp-acme-ads', { 'lwa-broker:label:team': 'ads', 'lwa-broker:label:tenant': 'acme' })
  await h.services.discovery?.refresh()
  const acme = await h.jwt({ claims: { sub: 'system:serviceaccount:acme:app', 'kubernetes.io': { namespace: 'acme' } } })
  t.equal((await h.getToken('sp-acme-1', acme)).statusCode, 200, 'its own tenant\'s seller')
  const other = await h.getToken('sp-globex-1', acme)
  t.equal(other.statusCode, 403, 'another tenant\'s seller is forbidden')
  t.equal((await h.getToken('sp-nobody', acme)).statusCode, 403, 'a name that does not exist looks the same: existence is not revealed')
  t.equal((await h.getToken('sp-acme-ads', acme)).statusCode, 403, 'another team\'s credential')
  const noClaim = await h.jwt({ claims: { sub: 'system:serviceaccount:acme:app' } })
  t.equal((await h.getToken('sp-acme-1', noClaim)).statusCode, 403, 'no namespace claim, no match')
})

t.test('with Redis, a replica that sees a change tells its peers, which list at once', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const key = randomBytes(32)
  const a = await build(t, { secretsBackend: 'aws', config: withCatalogue, redis: { connection: redis.connection, key } })
  const b = await build(t, { secretsBackend: 'aws', config: withCatalogue, redis: { connection: redis.connection, key }, sm: a.sm, lwa: a.lwa, clock: a.clock })
  await Promise.all([a.services.discovery?.refresh(), b.services.discovery?.refresh()])
  addSeller(a, 'sp-news')
  const before = listCalls(a)
  await a.services.discovery?.refresh()
  const deadline = Date.now() + 3000
  while (!b.services.catalogue.get('sp-news') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  t.ok(b.services.catalogue.get('sp-news'), 'the other replica knows it without waiting for its interval')
  t.equal((await b.getToken('sp-news', await b.jwt(platform))).statusCode, 200)
  await new Promise((r) => setTimeout(r, 200))
  t.equal(listCalls(a) - before, 2, 'one listing each: the peer\'s listing, asked for by a message, tells nobody again')
})

t.test('without a catalogue section there is no discovery and no refresh route', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  t.equal(h.services.discovery, undefined)
  const res = await h.app.inject({ method: 'POST', url: '/admin/catalogue/refresh', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.equal(res.statusCode, 404)
  t.equal(listCalls(h), 0)
})


t.test('POST /admin/catalogue/refresh refuses as every admin route does: a query, no JWT, over the rate limit', async (t) => {
  const h = await discovering(t, (c) => withCatalogue({ ...c, rateLimit: { ...(c.rateLimit as object), max: 1 } }))
  const jwt = await h.jwt(admin)
  const post = (url: string, authorization?: string) => h.app.inject({ method: 'POST', url, headers: authorization ? { authorization } : {} })
  t.equal((await post('/admin/catalogue/refresh')).statusCode, 401)
  t.equal((await post('/admin/catalogue/refresh?now=1', `Bearer ${jwt}`)).json().error, 'invalid_request')
  t.equal((await post('/admin/catalogue/refresh', `Bearer ${jwt}`)).statusCode, 200)
  t.equal((await post('/admin/catalogue/refresh', `Bearer ${jwt}`)).statusCode, 429)
})

t.test('a replica is ready only once a listing has completed: before it, every discovered name would be unknown', async (t) => {
  const h = await build(t, { secretsBackend: 'aws', config: withCatalogue })
  h.sm?.setFault({ kind: 'error', type: 'InternalServiceError', status: 500 }, { operation: 'ListSecrets' })
  const first = await h.ops.inject('/readyz')
  t.equal(first.statusCode, 503)
  t.match(first.json(), { checks: { catalogue: 'failing', secrets: 'ok', issuers: 'ok' } })
  h.sm?.setFault(null)
  await h.services.readiness.evaluate()
  const ready = await h.ops.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { checks: { catalogue: 'ok' } })
})

t.test('a refresh in flight when its name moves to another secret is not shared: the old account\'s token never reaches Redis', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const h = await build(t, { secretsBackend: 'aws', config: withCatalogue, redis: { connection: redis.connection, key: randomBytes(32) } })
  const jwt = await h.jwt(platform)
  addSeller(h, 'sp-race')
  await h.services.discovery?.refresh()
  h.lwa.latencyMs = 600
  const pending = h.getToken('sp-race', jwt)
  await new Promise((r) => setTimeout(r, 200))
  h.sm?.untagSecret('lwa-broker/sellers/sp-race', ['lwa-broker:credential'])
  const second = addSeller(h, 'sp-race-2', { 'lwa-broker:credential': 'sp-race' })
  t.match(await h.services.discovery?.refresh(), { changes: [{ name: 'sp-race', kind: 'changed' }] })
  t.equal((await pending).statusCode, 200, 'the request made before the move is answered')
  await h.services.tokens.settled()
  h.lwa.latencyMs = 0
  const res = await h.getToken('sp-race', jwt)
  t.equal(res.statusCode, 200)
  t.ok(grantBehind(h, res) === second, 'the token after the move is the new secret\'s grant, not one shared by the old refresh')
})
