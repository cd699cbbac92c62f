import { alternate } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { world } from './lib/fixture.js'
import { finish, newMachine, type BenchResult, type Figure } from './lib/results.js'
import type { Ablation } from './lib/server-protocol.js'
import { pinLoadGenerator, startServer, type ServerHandle } from './lib/server.js'
import { round } from './lib/stats.js'
import { connections, fetchToken } from './hot-path.js'

const rounds = Number(process.env.BENCH_ROUNDS_ABLATION ?? 2)
const seconds = Number(process.env.BENCH_SECONDS_ABLATION ?? 4)

/** Each variant changes only how log lines are written, or the V8 flags; everything else is createBroker's wiring. */
const variants: Array<{ name: string; label: string; ablate: Ablation | undefined }> = [
  { name: 'broker', label: 'broker as shipped (logs.mode buffered)', ablate: undefined },
  { name: 'sync-logs', label: 'logs.mode sync: a write per line on the request path', ablate: { logs: 'sync', audit: 'on' } },
  { name: 'no-audit-output', label: 'audit lines built but not written (floor: everything but log output)', ablate: { logs: 'buffered', audit: 'off' } },
  { name: 'v8-defaults', label: 'V8 defaults: without the image\'s --max-semi-space-size=4 (a bigger young generation)', ablate: { logs: 'buffered', audit: 'on', v8: 'defaults' } },
]

/**
 * Not part of the default suite (`npm run bench -- ablation`, about a minute): what each part
 * of the hot path's logging costs, measured as benchmark 1 measures, against the bare route.
 */
async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  const w = await world()
  const servers: ServerHandle[] = []
  try {
    const handles: Record<string, ServerHandle> = {}
    for (const v of variants) {
      const s = await startServer({ kind: 'broker', config: w.config, configPath: w.configPath, ...(v.ablate ? { ablate: v.ablate } : {}) })
      servers.push(s)
      handles[v.name] = s
      await s.warm()
    }
    const jwt = await w.jwt()
    const sample = await fetchToken(handles.broker?.url as string, jwt, 'ads-us')
    const bare = await startServer({ kind: 'bare', body: JSON.parse(sample.body) as unknown })
    servers.push(bare)
    const reference = await startServer({ kind: 'reference', config: w.config, configPath: w.configPath })
    servers.push(reference)
    await reference.warm()
    const refSample = await fetchToken(reference.url, jwt, 'ads-us')
    if (refSample.status !== 200) throw new Error(`reference server answered ${refSample.status}: ${refSample.body}`)
    const path = '/token?credential=ads-us'
    const result = await alternate([
      { name: 'bare', options: { url: bare.url, requests: [{ path }], server: bare } },
      ...variants.map((v) => ({ name: v.name, options: { url: (handles[v.name] as ServerHandle).url, requests: [{ path, headers: { authorization: `Bearer ${jwt}` } }], server: handles[v.name] as ServerHandle } })),
      { name: 'reference', options: { url: reference.url, requests: [{ path, headers: { authorization: `Bearer ${jwt}` } }], server: reference } },
    ], { rounds, seconds, warmupSeconds: 2, connections, log: ctx.log, profilePrefix: 'ablation' })
    const a = result.variants.bare
    const shipped = result.variants.broker
    if (!a || !shipped) throw new Error('missing variant')
    const figures: Figure[] = []
    for (const v of [...variants, { name: 'reference', label: 'REFERENCE: same work, suggested fixes applied (bench/lib/reference-server.ts; an estimate, not the broker)' }]) {
      const s = result.variants[v.name]
      if (!s) continue
      figures.push({
        key: `${v.name}.cpuUs`, label: v.label, value: s.cpuUs ?? NaN, kind: 'ratio',
        unit: `µs/request (−${round((shipped.cpuUs ?? NaN) - (s.cpuUs ?? NaN), 1)} µs vs shipped); req/s ×${round(s.rps / shipped.rps, 2)} vs shipped, ${round(s.rps / a.rps, 3)} of bare; ` +
          `CPU/request bare/this ${round((a.cpuUs ?? NaN) / (s.cpuUs ?? NaN), 3)}; p99 ${round(s.p99Ms / a.p99Ms, 2)}× bare`,
      })
    }
    figures.push({ key: 'bareRps', label: 'bare route req/s (server core busy)', value: a.rps, unit: `(${a.serverCpu})`, kind: 'context' })
    figures.push({ key: 'bareCpuUs', label: 'bare route: server CPU per request', value: a.cpuUs ?? NaN, unit: 'µs', kind: 'context' })
    return finish({
      name: 'ablation',
      title: 'Ablation (supporting benchmark 1): what writing the hot path\'s log lines costs',
      method: `As benchmark 1 (${connections} connections, alternated, ${rounds} rounds × ${seconds} s, medians), with brokers that differ only in their loggers ` +
        '(createBroker, logs on the stdout pipe the parent drains). Not in the default suite: `npm run bench -- ablation`.',
      startedAt,
      machine,
      figures,
      // The figures: server CPU per request of each variant (robust to noise), what it saves against the broker as shipped, and its req/s and p99 against the bare route.
      notes: variants.map((v) => `${v.name}: ${v.label}; server core busy ${result.variants[v.name]?.serverCpu}`),
      raw: { variants: result.variants, order: result.order },
    }, findings)
  } finally {
    for (const s of servers) await s.close()
    await w.close()
  }
}

export const ablation: Benchmark = { name: 'ablation', title: 'Ablation', run }
