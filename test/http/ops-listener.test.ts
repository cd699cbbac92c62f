import t from 'tap'
import { build } from '../helper.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter = { claims: { sub: 'system:serviceaccount:ads:reporter' } }

t.test('/metrics is an unauthenticated CPU sink on the caller port: it is served on the ops listener only', async (t) => {
  const h = await build(t)
  const onCallerPort = await h.app.inject('/metrics')
  t.equal(onCallerPort.statusCode, 404, 'a caller cannot scrape')
  t.equal(onCallerPort.json().error, 'not_found')
  const onOps = await h.ops.inject('/metrics')
  t.equal(onOps.statusCode, 200)
  t.match(onOps.body, /^# HELP lwa_broker_/m)
  for (const path of ['/healthz', '/readyz']) {
    t.equal((await h.ops.inject(path)).statusCode, 200, `${path} on the ops listener (the kubelet's probes)`)
    t.equal((await h.app.inject(path)).statusCode, 200, `${path} on the caller listener too (it answers from memory)`)
  }
  t.equal((await h.ops.inject('/token?credential=ads-us')).statusCode, 404, 'and the ops listener serves no caller route')
})

t.test('/metrics is an unauthenticated CPU sink on the caller port: scrapes within metricsCacheSeconds share one render', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, ops: { port: 0, metricsCacheSeconds: 30 } }) })
  const first = (await h.ops.inject('/metrics')).body
  await h.getToken('ads-us', await h.jwt(platform))
  const concurrent = await Promise.all(Array.from({ length: 4 }, () => h.ops.inject('/metrics')))
  for (const res of concurrent) t.equal(res.body, first, 'the same text, though a token was issued since: not rendered again')
  h.clock.advance(30_000)
  const fresh = (await h.ops.inject('/metrics')).body
  t.not(fresh, first, 'rendered again once the period is over')
  t.match(fresh, /lwa_broker_tokens_issued_total\{credential="ads-us",outcome="issued"\} 1/)
})

t.test('/metrics keeps its rendered text for its window only, not until the next scrape', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, ops: { port: 0, metricsCacheSeconds: 1 } }) })
  const first = (await h.ops.inject('/metrics')).body
  await h.getToken('ads-us', await h.jwt(platform))
  // The broker's clock stands still: only the release of the kept text can make the next scrape render again.
  await new Promise((resolve) => setTimeout(resolve, 1_200))
  t.not((await h.ops.inject('/metrics')).body, first)
})

t.test('/metrics is an unauthenticated CPU sink on the caller port: a name a caller chose or was denied is never a label', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(reporter)
  t.equal((await h.getToken('appstore-main', jwt)).statusCode, 403, 'reporter may use ads-* only')
  t.equal((await h.getToken('ads-made-up-by-the-caller', jwt)).statusCode, 404, 'allowed by policy, but no such credential')
  const text = (await h.ops.inject('/metrics')).body
  t.match(text, /lwa_broker_tokens_issued_total\{credential="\(denied\)",outcome="forbidden"\} 1/)
  t.match(text, /lwa_broker_tokens_issued_total\{credential="\(unknown\)",outcome="unknown_credential"\} 1/)
  t.notMatch(text, /credential="appstore-main",outcome="forbidden"/, 'a denial does not confirm that the name exists')
  t.notMatch(text, /ads-made-up-by-the-caller/)
})
