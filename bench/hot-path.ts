import { request } from 'undici'
import { alternate, pairedRatios } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { world } from './lib/fixture.js'
import { newMachine, finish, type BenchResult } from './lib/results.js'
import { baseline } from './lib/baseline.js'
import { startOtlpSink } from './lib/otlp-sink.js'
import { pinLoadGenerator, startServer, type ServerHandle } from './lib/server.js'
import { round } from './lib/stats.js'

export const connections = 50
const rounds = Number(process.env.BENCH_ROUNDS ?? 4)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)

/** One real GET /token answer: the bare route returns a constant body of exactly its size. */
export async function fetchToken(url: string, jwt: string, credential: string): Promise<{ status: number; body: string }> {
  const res = await request(`${url}/token?credential=${encodeURIComponent(credential)}`, { headers: { authorization: `Bearer ${jwt}` } })
  return { status: res.statusCode, body: await res.body.text() }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  const w = await world()
  const broker = await startServer({ kind: 'broker', config: w.config, configPath: w.configPath })
  const sink = await startOtlpSink()
  const traced = await startServer({ kind: 'broker', config: w.config, configPath: w.configPath, tracing: { endpoint: sink.url } })
  const before = baseline()
  const previous = before ? await startServer({ kind: 'broker', config: w.config, configPath: w.configPath }, before.dir) : undefined
  let bare: ServerHandle | undefined
  try {
    await broker.warm()
    await traced.warm()
    await previous?.warm()
    const jwt = await w.jwt()
    const sample = await fetchToken(broker.url, jwt, 'ads-us')
    if (sample.status !== 200) throw new Error(`GET /token answered ${sample.status}: ${sample.body}`)
    const body = JSON.parse(sample.body) as unknown
    bare = await startServer({ kind: 'bare', body })
    const bareSample = await request(`${bare.url}/token?credential=ads-us`).then(async (r) => r.body.text())
    ctx.log(`  token response ${Buffer.byteLength(sample.body)} bytes; bare route body ${Buffer.byteLength(bareSample)} bytes`)
    const logBytesPerRequest = await logCost(broker, () => fetchToken(broker.url, jwt, 'ads-us'))
    const path = '/token?credential=ads-us'
    const auth = { authorization: `Bearer ${jwt}` }
    const result = await alternate([
      { name: 'bare', options: { url: bare.url, requests: [{ path }], server: bare } },
      { name: 'broker', options: { url: broker.url, requests: [{ path, headers: auth }], server: broker } },
      { name: 'traced', options: { url: traced.url, requests: [{ path, headers: auth }], server: traced } },
      ...(previous ? [{ name: 'baseline', options: { url: previous.url, requests: [{ path, headers: auth }], server: previous } }] : []),
    ], { rounds, seconds, warmupSeconds: 2, connections, log: ctx.log, profilePrefix: 'hot-path' })
    const c = result.variants.baseline
    const d = result.variants.traced
    const a = result.variants.bare
    const b = result.variants.broker
    if (!a || !b || !d) throw new Error('missing variant')
    const rpsPaired = pairedRatios(a.rounds, b.rounds, (r) => r.rps)
    const p50Paired = pairedRatios(a.rounds, b.rounds, (r) => r.p50Ms)
    const p99Paired = pairedRatios(a.rounds, b.rounds, (r) => r.p99Ms)
    const failures = a.non2xx + a.errors + b.non2xx + b.errors
    return finish({
      invalid: saturation(a.serverCpu),
      name: 'hot-path',
      title: '1. Hot path: GET /token (warm cache) vs a bare Fastify route',
      method: `autocannon in the parent process, ${connections} connections, ${rounds} rounds × ${seconds} s per side alternated bare/broker after a 2 s warm-up of each; ` +
        'each server in its own child process (pinned to the other core when taskset exists) on 127.0.0.1. (a) bare: Fastify 5, no logger, one route returning a constant JSON object ' +
        `the size of a real token response (${Buffer.byteLength(sample.body)} bytes); (b) the broker as createBroker wires it (production logger at info and audit log ` +
        'on its stdout, a pipe the parent drains as a container runtime would; real RS256 JWT verification behind the verified-token cache; policy; the per-caller rate limit (in-process without Redis) with limits that do not trip; metrics hooks); (d) the same broker with OpenTelemetry tracing on as the OTEL_* environment turns it on (@fastify/otel, ' +
        'the core\'s spans, every request sampled, OTLP/HTTP protobuf to a sink in the parent process). ' +
        'Figures are medians of the rounds; ratios are broker / bare. Latencies are measured per response with sub-millisecond resolution.',
      startedAt,
      machine,
      figures: [
        { key: 'rpsRatio', label: 'req/s ratio (b)/(a)', value: round(b.rps / a.rps, 3), unit: '×', kind: 'ratio', target: { op: '>=', value: 0.5 } },
        { key: 'stretch', label: 'stretch goal: req/s ratio 0.8 (not judged)', value: round(b.rps / a.rps / 0.8, 3), unit: '× of the way', kind: 'context' },
        { key: 'p50Ratio', label: 'p50 latency ratio (b)/(a)', value: round(b.p50Ms / a.p50Ms, 3), unit: '×', kind: 'ratio' },
        { key: 'p99Ratio', label: 'p99 latency ratio (b)/(a)', value: round(b.p99Ms / a.p99Ms, 3), unit: '×', kind: 'ratio', target: { op: '<=', value: 1.5 } },
        { key: 'cpuRatio', label: 'server CPU per request, (a)/(b) (efficiency; immune to how much core each got)', value: round((a.cpuUs ?? NaN) / (b.cpuUs ?? NaN), 3), unit: '×', kind: 'ratio' },
        { key: 'cpuUs', label: 'server CPU per request, (a) / (b)', value: a.cpuUs ?? NaN, unit: `/ ${b.cpuUs ?? '?'} µs`, kind: 'context' },
        { key: 'rpsRatioRange', label: 'req/s ratio, spread of paired rounds (min…max)', value: rpsPaired.min, unit: `…${rpsPaired.max}`, kind: 'context' },
        { key: 'failed', label: 'non-2xx answers and errors', value: failures, unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'bareRps', label: '(a) bare route req/s', value: a.rps, unit: 'req/s', kind: 'context' },
        { key: 'brokerRps', label: '(b) broker req/s', value: b.rps, unit: 'req/s', kind: 'context' },
        { key: 'bareP50', label: '(a) p50 / p99', value: a.p50Ms, unit: `/ ${a.p99Ms} ms`, kind: 'context' },
        { key: 'brokerP50', label: '(b) p50 / p99', value: b.p50Ms, unit: `/ ${b.p99Ms} ms`, kind: 'context' },
        { key: 'rss', label: 'RSS when ready, (a) / (b)', value: round(bare.startup.rss / 2 ** 20, 1), unit: `/ ${round(broker.startup.rss / 2 ** 20, 1)} MB`, kind: 'context' },
        { key: 'logBytes', label: '(b) log bytes written to its stdout pipe per request', value: logBytesPerRequest, unit: 'B', kind: 'context' },
        { key: 'serverCpu', label: 'server core busy, (a) / (b)', value: a.serverCpu ?? NaN, unit: `/ ${b.serverCpu ?? '?'}`, kind: 'context' },
        { key: 'tracedRpsRatio', label: 'req/s ratio (d)/(a), (d) the broker with OpenTelemetry tracing on (every request sampled, OTLP/HTTP to a local sink)', value: round(d.rps / a.rps, 3), unit: '×', kind: 'ratio' },
        { key: 'tracedCost', label: 'tracing\'s cost: server CPU per request (d) − (b)', value: round((d.cpuUs ?? NaN) - (b.cpuUs ?? NaN), 1), unit: `µs (${d.cpuUs ?? '?'} vs ${b.cpuUs ?? '?'}; ${Math.round(sink.bytes() / Math.max(1, d.rounds.reduce((n, r) => n + r.requests, 0)))} B exported per request)`, kind: 'context' },
        ...(c && before ? [
          { key: 'baselineRpsRatio', label: `req/s ratio (c)/(a), (c) the broker at ${before.rev}`, value: round(c.rps / a.rps, 3), unit: '×', kind: 'ratio' as const },
          { key: 'vsBaselineRps', label: `req/s (b)/(c): this checkout against ${before.rev}`, value: round(b.rps / c.rps, 3), unit: '×', kind: 'ratio' as const },
          { key: 'vsBaselineCpu', label: `server CPU per request (c)/(b): this checkout's efficiency against ${before.rev}`, value: round((c.cpuUs ?? NaN) / (b.cpuUs ?? NaN), 3), unit: '×', kind: 'ratio' as const },
        ] : []),
      ],
      notes: [
        `paired round ratios: req/s ${rpsPaired.all.join(', ')}; p50 ${p50Paired.all.join(', ')}; p99 ${p99Paired.all.join(', ')}`,
      ],
      raw: { connections, rounds, seconds, tokenResponseBytes: Buffer.byteLength(sample.body), order: result.order, bare: a, broker: b, paired: { rps: rpsPaired, p50: p50Paired, p99: p99Paired } },
    }, findings)
  } finally {
    await bare?.close()
    await broker.close()
    await traced.close()
    await sink.close()
    await previous?.close()
    await w.close()
  }
}

/** Bytes the server writes to its log pipe per request, over 200 requests (flushed by a short pause). */
async function logCost(server: ServerHandle, send: () => Promise<unknown>): Promise<number> {
  const n = 200
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300))
  await settle()
  const before = server.logBytes()
  for (let i = 0; i < n; i++) await send()
  await settle()
  return round((server.logBytes() - before) / n, 1)
}

/** Below this share of its core busy, the bare route was capped by the load generator or a neighbour: the ratios overstate the broker. */
export const saturatedCore = 0.9

export function saturation(serverCpu: number | undefined, baseline = 'the bare baseline'): string | undefined {
  if (serverCpu === undefined || serverCpu >= saturatedCore) return undefined
  return `${baseline}'s core was busy ${serverCpu} of the time (median of rounds; needs ≥ ${saturatedCore}): ` +
    'something other than the server capped it, so every ratio against it overstates the broker. Rerun on a quieter machine.'
}

export const hotPath: Benchmark = { name: 'hot-path', title: 'Hot path', run }

