import { randomBytes } from 'node:crypto'
import t from 'tap'
import { requestTracing } from '../../src/http/request-tracing.js'
import { startTracing, type Tracing } from '../../src/observability/tracing.js'
import { build } from '../helper.js'
import { LogCapture } from '../support/log-capture.js'
import { OtlpReceiver } from '../support/otlp-receiver.js'
import { RedisServer } from '../support/redis-server.js'

t.test('with Redis and tracing: the shared-cache calls of a refresh are spans inside its cache miss', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const receiver = await OtlpReceiver.start()
  t.teardown(() => receiver.close())
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })
  const tracing = await startTracing() as Tracing
  t.teardown(() => tracing.shutdown())
  const h = await build(t, {
    redis: { connection: redis.connection, key: randomBytes(32), keyPrefix: 'traced:' },
    tracing: { spans: tracing.spans, requestTracing: await requestTracing() },
  })
  const jwt = await h.jwt({ claims: { sub: 'system:serviceaccount:ads:reporter' } })
  const res = await h.getToken('ads-us', jwt)
  t.equal(res.statusCode, 200)
  await tracing.flush()
  const spans = receiver.spans()
  const miss = spans.find((s) => s.name === 'lwa_broker.cache' && s.attributes['lwa_broker.cache.result'] === 'miss')
  const shared = spans.filter((s) => s.name === 'lwa_broker.shared_cache')
  const calls = shared.map((s) => `${s.attributes['lwa_broker.shared_cache.operation']}:${s.attributes['lwa_broker.outcome'] ?? ''}`)
  t.same(calls, ['get:none', 'lock:won', 'get:none', 'put:'],
    'no shared token: this replica takes the lock, looks once more (another may have just finished), asks LWA, shares the token')
  for (const span of shared) {
    t.equal(span.traceId, miss?.traceId, 'in the request\'s trace')
    t.equal(span.attributes['lwa_broker.credential'], 'ads-us')
  }
  const scan = new LogCapture()
  for (const body of receiver.bodies) scan.write(body)
  scan.secrets.add(res.json().access_token)
  t.same(scan.leaks(), [], 'the shared token itself is not in any span')
})
