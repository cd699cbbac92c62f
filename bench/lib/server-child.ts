/**
 * A benchmark server in its own process (the load generator keeps the other core): either a
 * bare Fastify 5 route or the real broker as `createBroker` wires it. Driven over IPC by
 * bench/lib/server.ts; listens on 127.0.0.1 on a free port.
 */
// First, as src/main.ts has it: the broker's modules load after the IPC has ticked and GCs have run.
import '../../src/http/tick-shape.js'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { writeHeapSnapshot } from 'node:v8'
import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Broker } from '../../src/http/broker.js'
import type { Ablation, ChildReply, ChildRequest, ServerSpec, StartupTimings, Usage } from './server-protocol.js'

// The broker's modules are imported only by the children that run it, so the bare route's
// process holds Fastify and nothing else (its memory is a baseline too).
const brokerModules = async () => {
  const [{ createBroker }, { parseConfig }, { processLogs }, { buildApp }, { systemClock }, { Metrics }, { createSecretStore }, { Agent }] = await Promise.all([
    import('../../src/http/broker.js'), import('../../src/config/index.js'), import('../../src/observability/logger.js'), import('../../src/http/app.js'),
    import('../../src/clock.js'), import('../../src/observability/metrics.js'), import('../../src/secrets/index.js'), import('undici'),
  ])
  return { createBroker, parseConfig, processLogs, buildApp, systemClock, Metrics, createSecretStore, Agent }
}

const loadedAt = performance.now()

let app: FastifyInstance | undefined
let broker: Broker | undefined
let profiler: Session | undefined
let referenceWarm: (() => Promise<void>) | undefined
let opsUrl: Promise<string> | undefined

function usage(): Usage {
  const cpu = process.cpuUsage()
  const mem = process.memoryUsage()
  return { cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers, uptimeMs: performance.now() }
}

async function start(spec: ServerSpec): Promise<{ port: number; timings: StartupTimings }> {
  const t0 = performance.now()
  let readyMs: number | undefined
  if (spec.kind === 'bare') {
    app = Fastify({ logger: false })
    const body = spec.body
    app.get('/token', async (_request, reply) => reply.header('cache-control', 'no-store').send(body))
  } else if (spec.kind === 'reference') {
    const m = await brokerModules()
    const { referenceServer } = await import('./reference-server.js')
    const reference = await referenceServer(m.parseConfig(spec.config, spec.configPath))
    app = reference.app
    referenceWarm = reference.warm
  } else {
    const m = await brokerModules()
    const config = m.parseConfig(withLogs(spec.config, spec.ablate), spec.configPath)
    // The loggers as main.ts makes them: the operational log and the audit log on stdout, a pipe
    // the parent drains (bench/lib/server.ts), as a container's.
    const tracing = spec.tracing ? await startTracing(spec.tracing.endpoint) : undefined
    const { logger, auditSink } = m.processLogs(config, tracing?.spans)
    broker = await m.createBroker(config, {
      logger,
      auditSink: spec.ablate?.audit === 'off' ? { write: () => true } : auditSink,
      ...(tracing ? { spans: tracing.spans } : {}),
    }, tracing ? { requestTracing: tracing.requestTracing } : {})
    app = broker.app
  }
  const built = performance.now()
  await app.listen({ host: '127.0.0.1', port: 0 })
  const listening = performance.now()
  if (broker && spec.kind === 'broker' && spec.primeWith !== undefined) await broker.services.tokens.getToken(spec.primeWith, 0)
  // With a catalogue, listings run on their interval as in production (readiness waits for the first).
  broker?.services.discovery?.start()
  if (broker) {
    // What /readyz answers: every secret read, every issuer's keys loaded.
    const checks = await broker.services.readiness.current()
    if (Object.values(checks).some((c) => c !== 'ok')) throw new Error(`not ready: ${JSON.stringify(checks)}`)
    readyMs = performance.now()
  }
  ;(globalThis as { gc?: () => void }).gc?.()
  const rss = process.memoryUsage().rss
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    timings: { processToModulesLoadedMs: loadedAt, buildMs: built - t0, listenMs: listening - built, readinessMs: readyMs === undefined ? 0 : readyMs - listening, processToReadyMs: readyMs ?? listening, rss },
  }
}

/** Tracing as main.ts starts it, with the standard environment pointing at `endpoint`. */
async function startTracing(endpoint: string) {
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'lwa-broker-bench' })
  const [{ startTracing: start }, { requestTracing }] = await Promise.all([
    import('../../src/observability/tracing.js'), import('../../src/http/request-tracing.js'),
  ])
  const tracing = await start()
  if (!tracing) throw new Error('tracing did not start')
  return { spans: tracing.spans, requestTracing: await requestTracing() }
}

/** An ablation's log mode, as the config file would set it. */
function withLogs(config: unknown, ablate: Ablation | undefined): unknown {
  return ablate ? { ...(config as object), logs: { mode: ablate.logs } } : config
}

async function handle(request: ChildRequest): Promise<unknown> {
  switch (request.type) {
    case 'start':
      return start(request.spec)
    case 'usage':
      return usage()
    case 'gc-usage':
      (globalThis as { gc?: () => void }).gc?.()
      return usage()
    case 'ops-url':
      if (!broker) throw new Error('ops-url: not a broker')
      // The ops listener opens when first asked for: only the benchmarks that scrape pay for it.
      opsUrl ??= broker.ops.listen({ host: '127.0.0.1', port: 0 })
      return opsUrl
    case 'warm': {
      if (referenceWarm) {
        const t0 = performance.now()
        await referenceWarm()
        return { warmMs: performance.now() - t0, credentials: 0, withToken: 0 }
      }
      if (!broker) throw new Error('warm: not a broker')
      const t0 = performance.now()
      await broker.services.refresher.prewarm()
      await broker.services.tokens.settled()
      const status = broker.services.status.list()
      return { warmMs: performance.now() - t0, credentials: status.length, withToken: status.filter((s) => s.tokenExpiresAtMs !== undefined).length }
    }
    case 'profile-start':
      profiler ??= new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      // Sampling more often than every ~0.5 ms on the pinned core skews native frames (the sampler
      // thread preempts the server on its own core); BENCH_CPU_PROF_INTERVAL (µs) to change.
      await profiler.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL ?? 1000) })
      await profiler.post('Profiler.start')
      return null
    case 'profile-stop': {
      if (!profiler) throw new Error('profile-stop: not profiling')
      const { profile } = await profiler.post('Profiler.stop')
      profiler.disconnect()
      writeFileSync(request.file, JSON.stringify(profile))
      return request.file
    }
    case 'heap-snapshot':
      return writeHeapSnapshot(request.file)
    case 'exit':
      await app?.close()
      setImmediate(() => process.exit(0))
      return null
  }
}

process.on('message', (message: ChildRequest & { id: number }) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies ChildReply),
    (err: unknown) => process.send?.({ id: message.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies ChildReply),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ id: 0, ok: true, result: 'loaded' } satisfies ChildReply)
