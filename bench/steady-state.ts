import { performance } from 'node:perf_hooks'
import { pino } from 'pino'
import { Agent } from 'undici'
import { awsStore } from '../test/helper.js'
import { FakeClock } from '../test/support/fake-clock.js'
import { SecretsManagerEmulator } from '../test/support/secrets-manager-emulator.js'
import { createBroker } from '../src/http/broker.js'
import { parseConfig } from '../src/config/index.js'
import { createLogger } from '../src/observability/logger.js'
import { Metrics } from '../src/observability/metrics.js'
import { CachingSecretStore } from '../src/secrets/index.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addOwnClientCredentials, world } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { mean, round } from './lib/stats.js'

const credentials = 100
const simulatedHours = 24
const tickSeconds = 5
/** Each credential is asked for once per this many simulated seconds, all day long, staggered. */
const demandEverySeconds = Number(process.env.BENCH_DEMAND_SECONDS ?? 180)
/** Callers' JWTs are re-minted this often (a kubelet rotates projected tokens well within their hour). */
const jwtRotateSeconds = 600
const lifetimeSeconds = 3600
const secretsRefreshSeconds = 300

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  const w = await world({ expiresInSeconds: lifetimeSeconds })
  const { names } = addOwnClientCredentials(w, credentials)
  // Only the generated credentials: each has its own secret and its own LWA client, so calls count per credential.
  w.config.credentials = Object.fromEntries(Object.entries(w.config.credentials as Record<string, unknown>).filter(([name]) => names.includes(name)))
  const sm = await SecretsManagerEmulator.start()
  for (const name of names) sm.putSecret(`bench/${name}`, w.secrets[`bench/${name}`] as object)
  w.config.secrets = { backend: 'aws', region: 'us-east-1', endpoint: sm.url, refreshSeconds: secretsRefreshSeconds }
  // The background refresher as production runs it, driven by hand on the fake clock.
  w.config.tokens = { backgroundRefreshSeconds: tickSeconds }
  const config = parseConfig(w.config, w.configPath)
  const clock = new FakeClock()
  const logger = createLogger('info', pino.destination({ dest: '/dev/null', sync: false }))
  const metrics = new Metrics()
  // As test/helper.ts wires the aws backend: the real SDK client against the emulator, behind the caching store (production jitter).
  const secretStore = new CachingSecretStore(awsStore(sm, metrics), { clock, refreshMs: config.secrets.refreshSeconds * 1000, logger })
  const dispatcher = new Agent({ connections: 8 })
  const { app, services } = await createBroker(config, { logger, clock, secrets: secretStore, dispatcher, metrics })
  await app.ready()
  try {
    const refreshTimes = new Map<string, number[]>(names.map((n) => [n, []]))
    const lastRefresh = new Map<string, number | undefined>()
    const observe = (): void => {
      for (const s of services.status.list()) {
        if (s.lastRefreshAtMs !== undefined && s.lastRefreshAtMs !== lastRefresh.get(s.credential)) {
          lastRefresh.set(s.credential, s.lastRefreshAtMs)
          refreshTimes.get(s.credential)?.push(s.lastRefreshAtMs)
        }
      }
    }
    let jwt = await w.jwt({ nowMs: clock.now(), claims: { sub: 'system:serviceaccount:platform:all' } })
    let jwtAt = clock.now()
    let requests = 0
    let failed = 0
    const ask = async (credential: string): Promise<void> => {
      const res = await app.inject({ method: 'GET', url: `/token?credential=${credential}`, headers: { authorization: `Bearer ${jwt}` } })
      requests++
      if (res.statusCode !== 200) failed++
    }
    const t0 = performance.now()
    const startMs = clock.now()
    const ticks = (simulatedHours * 3600) / tickSeconds
    const perTick = (credentials * tickSeconds) / demandEverySeconds
    let owed = 0
    let cursor = 0
    let backgroundStarted = 0
    for (let tick = 0; tick <= ticks; tick++) {
      if (clock.now() - jwtAt >= jwtRotateSeconds * 1000) {
        jwt = await w.jwt({ nowMs: clock.now(), claims: { sub: 'system:serviceaccount:platform:all' } })
        jwtAt = clock.now()
      }
      owed += tick === 0 ? credentials : perTick
      const batch: Promise<void>[] = []
      while (owed >= 1) {
        batch.push(ask(names[cursor % credentials] as string))
        cursor++
        owed--
      }
      await Promise.all(batch)
      backgroundStarted += services.refresher.refreshDue()
      await services.tokens.settled()
      await secretStore.settled()
      observe()
      clock.advance(tickSeconds * 1000)
    }
    const elapsedMs = performance.now() - t0
    const simulatedMs = clock.now() - startMs - tickSeconds * 1000

    const lwaPerCredential = names.map((n) => w.lwa.callCount({ clientId: (w.secrets[`bench/${n}`] as { client_id: string }).client_id }))
    const getPerSecret = names.map((n) => sm.callCount({ operation: 'GetSecretValue', secretId: `bench/${n}` }))
    const describePerSecret = names.map((n) => sm.callCount({ operation: 'DescribeSecret', secretId: `bench/${n}` }))
    // The schedule: a token obtained at t (lifetime L) is replaced at its jittered refresh point,
    // L × (1 − ratio ± jitter/2) later, give or take one background tick (and LWA's answer time).
    const ratio = config.tokens.refreshAheadRatio
    const jitter = config.tokens.refreshJitterRatio
    const earliestMs = lifetimeSeconds * 1000 * Math.max(0.05, 1 - Math.min(0.95, ratio + jitter / 2))
    const latestMs = lifetimeSeconds * 1000 * (1 - Math.max(0.05, ratio - jitter / 2)) + tickSeconds * 1000
    let offSchedule = 0
    const intervals: number[] = []
    for (const times of refreshTimes.values()) {
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] as number) - (times[i - 1] as number)
        intervals.push(gap)
        if (gap < earliestMs || gap > latestMs) offSchedule++
      }
    }
    const observedRefreshes = [...refreshTimes.values()].reduce((a, t) => a + t.length, 0)
    const totalLwa = lwaPerCredential.reduce((a, b) => a + b, 0)
    // Expected: the first token, then one per mean refresh interval (lifetime × (1 − ratio)).
    const expectedPerCredential = 1 + simulatedMs / (lifetimeSeconds * 1000 * (1 - ratio))
    const meanLwa = mean(lwaPerCredential)
    ctx.log(`  ${simulatedHours} h simulated in ${round(elapsedMs / 1000, 1)} s: ${requests} requests (${failed} failed), LWA calls per credential ${Math.min(...lwaPerCredential)}…${Math.max(...lwaPerCredential)} (mean ${round(meanLwa, 2)}, expected ${round(expectedPerCredential, 2)}), off schedule ${offSchedule}`)
    ctx.log(`  Secrets Manager per secret: GetSecretValue ${Math.min(...getPerSecret)}…${Math.max(...getPerSecret)}, DescribeSecret ${Math.min(...describePerSecret)}…${Math.max(...describePerSecret)}`)
    const hours = simulatedMs / 3_600_000
    return finish({
      name: 'steady-state',
      title: '6. Steady state: 24 simulated hours of demand on 100 credentials',
      method: `buildApp on a fake clock with ${credentials} Ads credentials, each with its own LWA client and its own secret in the Secrets Manager emulator (the aws backend: ` +
        `CachingSecretStore over AwsSecretStore, the real SDK, refreshSeconds ${secretsRefreshSeconds}, production jitter). Tokens live ${lifetimeSeconds} s; refresh-ahead ratio ${ratio}, ` +
        `jitter ${jitter} (production random). The clock advances in ${tickSeconds} s ticks for ${simulatedHours} h; at each tick the background refresher runs ` +
        `(app.tokens.refreshDue()) and each credential is asked for once every ${demandEverySeconds} simulated seconds through the whole GET /token route (caller JWT re-minted every ${jwtRotateSeconds} s). ` +
        'LWA calls are counted by the emulator per client id; Secrets Manager calls by the emulator per secret.',
      startedAt,
      machine,
      figures: [
        { key: 'lwaPerCredentialPerHour', label: 'LWA calls per credential per hour (mean, after the first token)', value: round((totalLwa - credentials) / credentials / hours, 3), unit: '/h', kind: 'ratio' },
        { key: 'lwaVsSchedule', label: 'LWA calls / the refresh-ahead schedule (mean per credential)', value: round(meanLwa / expectedPerCredential, 3), unit: '×', kind: 'ratio', target: { op: '<=', value: 1.02 } },
        { key: 'offSchedule', label: 'refreshes early or late against their jittered refresh point', value: offSchedule, unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'unobserved', label: 'LWA calls that replaced no token (wasted)', value: totalLwa - observedRefreshes, unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'lwaPerCredential', label: 'LWA calls per credential in 24 h: min / mean / max', value: Math.min(...lwaPerCredential), unit: `/ ${round(meanLwa, 2)} / ${Math.max(...lwaPerCredential)} (schedule: ${round(expectedPerCredential, 1)})`, kind: 'context' },
        { key: 'getSecretValuePerSecret', label: 'GetSecretValue per secret in 24 h (max)', value: Math.max(...getPerSecret), unit: '', kind: 'count', target: { op: '==', value: 1 } },
        { key: 'describeSecretPerSecret', label: 'DescribeSecret per secret in 24 h: max', value: Math.max(...describePerSecret), unit: `(mean ${round(mean(describePerSecret), 1)}; at most one per ${secretsRefreshSeconds} s = ${Math.floor(simulatedMs / 1000 / secretsRefreshSeconds)})`, kind: 'count', target: { op: '<=', value: Math.floor(simulatedMs / 1000 / secretsRefreshSeconds) } },
        { key: 'failed', label: 'failed requests', value: failed, unit: `of ${requests}`, kind: 'count', target: { op: '==', value: 0 } },
        { key: 'elapsed', label: 'wall time for the simulated day', value: round(elapsedMs / 1000, 1), unit: 's', kind: 'context' },
      ],
      notes: [
        `refresh intervals: min ${round(Math.min(...intervals) / 1000, 0)} s, mean ${round(mean(intervals) / 1000, 0)} s, max ${round(Math.max(...intervals) / 1000, 0)} s; schedule band ${round(earliestMs / 1000, 0)}…${round(latestMs / 1000, 0)} s`,
        `background refreshes started by the refresher: ${backgroundStarted}; the rest were started by requests past a refresh point`,
      ],
      raw: { credentials, simulatedHours, tickSeconds, demandEverySeconds, requests, failed, lwaPerCredential, getPerSecret, describePerSecret, expectedPerCredential, offSchedule, backgroundStarted, bandMs: [earliestMs, latestMs] },
    }, findings)
  } finally {
    await app.close()
    await services.close()
    await secretStore.close()
    await dispatcher.close()
    await sm.close()
    await w.close()
  }
}

export const steadyState: Benchmark = { name: 'steady-state', title: 'Steady state', run }

