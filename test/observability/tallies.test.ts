import { Counter, Histogram, Registry } from 'prom-client'
import t from 'tap'
import { tallied, talliedHistogram } from '../../src/observability/tallies.js'

const buckets = [0.0005, 0.001, 0.01, 1]
const observations: Array<[string, number]> = [
  ['/token', 0.0002], ['/token', 0.0005], ['/token', 0.003], ['/admin/credentials', 0.7], ['/token', 12], ['/token', 0.001],
]

t.test('a tallied histogram is exported exactly as prom-client exports the same observations (text and JSON)', async (t) => {
  const theirs = new Registry()
  const histogram = new Histogram({ name: 'h_seconds', help: 'latency', labelNames: ['route'], buckets, registers: [theirs] })
  const ours = new Registry()
  const tally = talliedHistogram({ name: 'h_seconds', help: 'latency', labelNames: ['route'], buckets, registry: ours })
  for (const [route, seconds] of observations) {
    histogram.observe({ route }, seconds)
    tally(route).observe(seconds)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
  t.match(await ours.metrics(), 'h_seconds_bucket{le="0.01",route="/token"} 4', 'cumulative buckets, le first')
  const asJson = async (registry: Registry) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as unknown
  t.same(await asJson(ours), await asJson(theirs))
  ours.resetMetrics()
  theirs.resetMetrics()
  tally('/token').observe(0.0001)
  histogram.observe({ route: '/token' }, 0.0001)
  t.match(await ours.metrics(), 'h_seconds_count{route="/admin/credentials"} 0', 'a reset series is zero, not gone')
  t.match(await ours.metrics(), 'h_seconds_sum{route="/token"} 0.0001', 'and its sum starts over')
})

t.test('a tallied counter publishes its counts per label values at scrape time', async (t) => {
  const registry = new Registry()
  const count = tallied({ name: 'c_total', help: 'count', labelNames: ['route', 'status'], registry })
  const theirs = new Registry()
  const counter = new Counter({ name: 'c_total', help: 'count', labelNames: ['route', 'status'], registers: [theirs] })
  for (const [route, status] of [['/token', '200'], ['/token', '200'], ['/token', '429']]) {
    count(route as string, status as string).n++
    counter.inc({ route, status })
  }
  t.equal(count('/token', '200'), count('/token', '200'), 'one cell per label values')
  t.equal(await registry.metrics(), await theirs.metrics())
})

t.test('a three-label counter, its series made in any order, exports the series prom-client exports', async (t) => {
  const ours = new Registry()
  const count = tallied({ name: 'lwa_total', help: 'calls', labelNames: ['credential', 'grant', 'result'], registry: ours })
  const theirs = new Registry()
  const counter = new Counter({ name: 'lwa_total', help: 'calls', labelNames: ['credential', 'grant', 'result'], registers: [theirs] })
  const calls = [['a', 'refresh_token', 'ok'], ['b', 'refresh_token', 'ok'], ['a', 'refresh_token', 'invalid_grant'],
    ['a', 'client_credentials', 'ok'], ['b', 'refresh_token', 'ok'], ['a', 'refresh_token', 'ok']] as const
  for (const [credential, grant, result] of calls) {
    count(credential, grant, result).n++
    counter.inc({ credential, grant, result })
  }
  const lines = async (registry: Registry) => (await registry.metrics()).split('\n').sort()
  t.same(await lines(ours), await lines(theirs))
  t.match(await ours.metrics(), 'lwa_total{credential="a",grant="refresh_token",result="ok"} 2')
  t.match(await ours.metrics(), /result="ok"} 2\nlwa_total\{credential="a",grant="refresh_token",result="invalid_grant"} 1/,
    'a credential\'s series together, in the order they first came')
  ours.resetMetrics()
  t.match(await ours.metrics(), 'lwa_total{credential="b",grant="refresh_token",result="ok"} 0', 'a reset series is zero')
})
