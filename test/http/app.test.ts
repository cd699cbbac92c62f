import t from 'tap'
import { Client } from 'undici'
import { metricFamilies } from '../../src/http/contract/metrics.js'
import { build, fixtures } from '../helper.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const withAdmin = (c: Record<string, unknown>) => ({ ...c, policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }] })

t.test('a caller\'s X-Request-Id is echoed; an unacceptable one is replaced', async (t) => {
  const h = await build(t)
  const kept = await h.app.inject({ url: '/token?credential=ads-us', headers: { 'x-request-id': 'caller-req.42' } })
  t.equal(kept.headers['x-request-id'], 'caller-req.42')
  t.equal(kept.json().request_id, 'caller-req.42')
  const replaced = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'not ok/with spaces' } })
  t.not(replaced.headers['x-request-id'], 'not ok/with spaces')
  t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a UUID instead')
})

t.test('HEAD /token is not a route: it must not obtain and audit a token only to drop it', async (t) => {
  const h = await build(t)
  const res = await h.app.inject({ method: 'HEAD', url: '/token?credential=ads-us', headers: { authorization: `Bearer ${await h.jwt()}` } })
  t.equal(res.statusCode, 404, 'answered not_found like any method the document lacks')
  t.equal(h.lwa.callCount({}), 0, 'a HEAD request does not call LWA')
})

t.test('a request that arrives on an open connection while the broker drains is still served', async (t) => {
  const h = await build(t)
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const client = new Client(address, { pipelining: 2 })
  t.teardown(() => client.close())
  const jwt = await h.jwt()
  h.lwa.setFault({ kind: 'slow', ms: 300 })
  // The second request is pipelined behind the slow first one on the same keep-alive
  // connection, so it reaches the router after close() has begun.
  const first = client.request({ method: 'GET', path: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}` } })
  const second = client.request({ method: 'GET', path: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}` } })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closing = h.app.close()
  const [served, drained] = await Promise.all([first, second])
  await served.body.dump()
  const body = await drained.body.json() as { access_token?: string }
  await closing
  t.equal(served.statusCode, 200, 'the request in flight when close() began is served')
  t.equal(drained.statusCode, 200, 'the request that arrived while draining is served too')
  t.match(body.access_token, /^Atza\|/)
})

t.test('GET /metrics lists exactly the families the contract describes, and no secret', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  t.equal((await h.getToken('ads-us', await h.jwt())).statusCode, 200)
  const res = await h.ops.inject({ url: '/metrics' })
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const exposed = [...res.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? '')
  const own = exposed.filter((name) => !/^lwa_broker_(process|nodejs)_/.test(name))
  // Only a broker with Redis has the shared-cache gauge, only one with a webhook the webhook's families, only one
  // with a notification queue the queue's (test/deploy/prometheus-rules.test.ts scrapes a broker that has all).
  const described = metricFamilies.map(([name]) => name)
    .filter((name) => name !== 'lwa_broker_shared_cache_up' && !name.startsWith('lwa_broker_webhook_')
      && !name.startsWith('lwa_broker_app_notification'))
  t.strictSame([...own].sort(), [...described].sort(), 'the description lists exactly the broker\'s own families')
  t.ok(exposed.some((name) => name.startsWith('lwa_broker_process_')) && exposed.some((name) => name.startsWith('lwa_broker_nodejs_')), 'and the process metrics it mentions')
  for (const secret of ['Atza|', 'Atzr|', fixtures.adsClient.clientSecret, fixtures.spClient.clientSecret]) t.notOk(res.body.includes(secret), `no ${secret.slice(0, 8)}…`)
})

t.test('sidecar mode: a proxied request is refused on every route, each in its own words', async (t) => {
  const h = await build(t, { config: (c) => ({ ...withAdmin(c), mode: 'sidecar', listen: { host: '127.0.0.1', port: 0 } }) })
  const proxied = { 'x-forwarded-for': '10.1.2.3' }
  for (const path of ['/healthz', '/readyz']) {
    t.equal((await h.app.inject({ url: path, headers: proxied })).json().error, 'forbidden', path)
    t.equal((await h.app.inject({ url: path })).statusCode, 200, `${path} over loopback is served`)
  }
  for (const [method, url] of [['GET', '/admin/credentials'], ['POST', '/admin/credentials/ads-us/refresh'], ['POST', '/admin/secrets/reload'], ['GET', '/token?credential=ads-us']] as const) {
    const res = await h.app.inject({ method, url, headers: { ...proxied, authorization: `Bearer ${await h.jwt(admin)}` } })
    t.equal(res.json().error, 'forbidden', `${method} ${url}`)
  }
  const compat = await h.app.inject({ method: 'POST', url: '/auth/o2/token', headers: proxied, payload: { grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: await h.jwt(platform) } })
  t.equal(compat.statusCode, 400)
  t.equal(compat.json().error, 'invalid_grant', 'POST /auth/o2/token: the sidecar refusal as LWA\'s invalid_grant')
  t.equal(h.lwa.callCount({}), 0)
})
