import t from 'tap'
import { requestTracing } from '../../src/http/request-tracing.js'
import { startTracing, tracingRequested, type Tracing } from '../../src/observability/tracing.js'
import { build, fixtures } from '../helper.js'
import { LogCapture } from '../support/log-capture.js'
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js'

t.test('tracing is off unless the standard OTEL_* environment asks for it', async (t) => {
  t.equal(tracingRequested({}), false, 'nothing set: off')
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true)
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true)
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), false)
  t.equal(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), false)
  t.equal(await startTracing({}), undefined, 'and nothing is started')
  t.equal((globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')], undefined,
    'not even the OpenTelemetry API is loaded')
})

/** The chain of span names from a span up to its root, within one export. */
function ancestry(spans: ReceivedSpan[], span: ReceivedSpan): string[] {
  const chain: string[] = []
  for (let s: ReceivedSpan | undefined = span; s; s = spans.find((p) => p.spanId === s?.parentSpanId)) chain.push(s.name)
  return chain
}

t.test('with OTLP configured: a span tree per token request, exported to a collector, no secret in it', async (t) => {
  const receiver = await OtlpReceiver.start()
  t.teardown(() => receiver.close())
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'lwa-broker-test',
    OTEL_BSP_SCHEDULE_DELAY: '20',
  })
  const tracing = await startTracing() as Tracing
  t.teardown(() => tracing.shutdown())
  t.ok(tracing, 'started')
  const h = await build(t, { tracing: { spans: tracing.spans, requestTracing: await requestTracing() } })
  const jwt = await h.jwt({ claims: { sub: 'system:serviceaccount:ads:reporter' } })
  const first = await h.getToken('ads-us', jwt)
  const second = await h.getToken('ads-us', jwt)
  const denied = await h.getToken('sp-acme-eu', jwt)
  t.same([first.statusCode, second.statusCode, denied.statusCode], [200, 200, 403])
  await tracing.flush()
  const spans = receiver.spans()

  const requests = spans.filter((s) => s.name === 'request')
  t.equal(requests.length, 3, 'one request span per HTTP request (@fastify/otel)')
  t.same(requests.map((s) => s.attributes['url.path']), ['/token', '/token', '/token'], 'the path without its query')
  t.equal(requests[0]?.resource['service.name'], 'lwa-broker-test', 'the service named by OTEL_SERVICE_NAME')
  const issues = spans.filter((s) => s.name === 'lwa_broker.token')
  t.equal(issues.length, 3)
  for (const issue of issues) t.equal(ancestry(spans, issue).at(-1), 'request', 'each inside its request\'s trace')
  t.match(issues[0]?.attributes, { 'lwa_broker.credential': 'ads-us', 'lwa_broker.outcome': 'issued' })
  t.match(issues[2], { statusCode: 2, attributes: { 'lwa_broker.credential': 'sp-acme-eu', 'lwa_broker.error': 'forbidden' } })

  const lookups = spans.filter((s) => s.name === 'lwa_broker.cache')
  t.same(lookups.map((s) => s.attributes['lwa_broker.cache.result']), ['miss', 'hit'], 'the first waits for LWA, the second is served')
  const read = spans.find((s) => s.name === 'lwa_broker.secrets.read') as ReceivedSpan
  const lwa = spans.find((s) => s.name === 'lwa_broker.lwa.token') as ReceivedSpan
  t.match(ancestry(spans, read), ['lwa_broker.secrets.read', 'lwa_broker.cache', 'lwa_broker.token'])
  t.match(lwa.attributes, { 'lwa_broker.credential': 'ads-us', 'lwa_broker.lwa.grant': 'refresh_token', 'lwa_broker.outcome': 'ok' })
  t.match(ancestry(spans, lwa), ['lwa_broker.lwa.token', 'lwa_broker.cache', 'lwa_broker.token'])
  const http = spans.find((s) => s.parentSpanId === lwa.spanId)
  t.match(http, { kind: 3, attributes: { 'http.request.method': 'POST', 'url.full': h.lwa.tokenUrl } },
    'undici\'s instrumentation: the HTTP call to LWA inside it')

  const audit = h.logs.records().find((r) => r.event === 'token.issued')
  t.equal(audit?.trace_id, issues[0]?.traceId, 'the audit line names the trace beside the request id')
  t.ok(audit?.requestId)
  const obtained = h.logs.records().find((r) => r.msg === 'obtained LWA access token')
  t.match(obtained, { trace_id: issues[0]?.traceId, span_id: /^[0-9a-f]{16}$/ }, 'operational lines name the active span too')

  const scan = new LogCapture()
  for (const body of receiver.bodies) scan.write(body)
  for (const secret of [jwt, fixtures.adsClient.clientSecret, fixtures.adsRefreshToken, first.json().access_token]) {
    scan.secrets.add(secret)
  }
  t.same(scan.leaks(), [], 'no token, refresh token, client secret or JWT in anything exported')
})
