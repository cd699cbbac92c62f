import { createBroker, type Broker } from '../src/http/broker.js'
import { createSharedCache, type SharedCache } from '../src/cache/index.js'
import { parseConfig } from '../src/config/index.js'
import { createLogger } from '../src/observability/logger.js'
import { FileSecretStore } from '../src/secrets/index.js'
import { FakeClock } from '../test/support/fake-clock.js'
import { RedisServer } from '../test/support/redis-server.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addOwnClientCredentials, world, type World } from './lib/fixture.js'
import { finish, newMachine, type BenchResult, type Figure } from './lib/results.js'
import { round } from './lib/stats.js'

/** Simulated time (a fake clock): every caller asks every minute for this many hours. */
const hours = 6
const tickMs = 60_000
const credentialCount = 10
const tokenLifetimeSeconds = 3600
const encryptionKey = Buffer.alloc(32, 1)

interface Scenario {
  replicas: number
  redis: boolean
}

interface Outcome extends Scenario {
  lwaCalls: number
  perCredentialPerHour: number
  requests: number
  failed: number
}

/** A small seeded generator, so each replica's refresh jitter differs but runs repeat. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * One deployment on a fake clock: `replicas` brokers (buildApp as createBroker wires it,
 * jitter of their own), each asked for every credential once a simulated minute, for
 * `hours`. Refreshes happen as in production: refresh-ahead on a request past the refresh point.
 */
async function simulate(w: World, names: string[], redis: RedisServer, scenario: Scenario, n: number): Promise<Outcome> {
  const clock = new FakeClock()
  const config = parseConfig({ ...w.config, tokens: { backgroundRefreshSeconds: 0 } }, w.configPath)
  const logger = createLogger('silent')
  const clientIds = new Set(names.map((_, i) => `amzn1.application-oa2-client.bench${String(i).padStart(5, '0')}`))
  const lwaCalls = (): number => w.lwa.calls.filter((c) => clientIds.has(c.clientId ?? '')).length
  const before = lwaCalls()
  const apps: Broker[] = []
  const shared: SharedCache[] = []
  try {
    for (let r = 0; r < scenario.replicas; r++) {
      const cache = scenario.redis ? createSharedCache({ connection: redis.connection, keyPrefix: `bench-${n}:`, key: encryptionKey, clock, logger }) : undefined
      if (cache) {
        shared.push(cache)
        await cache.ready(5000)
      }
      const broker = await createBroker(config, { logger, clock, secrets: new FileSecretStore(w.secretsPath), random: seeded(n * 10 + r + 1), ...(cache ? { sharedCache: cache } : {}) })
      await broker.app.ready()
      apps.push(broker)
    }
    const jwt = await w.jwt({ nowMs: clock.now(), lifetimeSeconds: hours * 3600 + 3600, claims: { sub: 'system:serviceaccount:ads:bench' } })
    let requests = 0
    let failed = 0
    for (let elapsed = 0; elapsed < hours * 3_600_000; elapsed += tickMs) {
      const answers = await Promise.all(apps.flatMap(({ app }) => names.map((credential) => app.inject({ method: 'GET', url: `/token?credential=${credential}`, headers: { authorization: `Bearer ${jwt}` } }))))
      requests += answers.length
      failed += answers.filter((a) => a.statusCode !== 200).length
      await Promise.all(apps.map(({ services }) => services.tokens.settled()))
      clock.advance(tickMs)
    }
    const calls = lwaCalls() - before
    return { ...scenario, lwaCalls: calls, perCredentialPerHour: round(calls / names.length / hours, 2), requests, failed }
  } finally {
    for (const { app, services } of apps) {
      await app.close()
      await services.close()
    }
    for (const cache of shared) await cache.close()
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  const redis = await RedisServer.start()
  const w = await world({ expiresInSeconds: tokenLifetimeSeconds })
  try {
    const { names } = addOwnClientCredentials(w, credentialCount)
    const scenarios: Scenario[] = [{ replicas: 1, redis: false }, { replicas: 3, redis: false }, { replicas: 1, redis: true }, { replicas: 3, redis: true }]
    const outcomes: Outcome[] = []
    for (const [i, scenario] of scenarios.entries()) {
      const outcome = await simulate(w, names, redis, scenario, i)
      outcomes.push(outcome)
      ctx.log(`  ${scenario.replicas} replica(s), ${scenario.redis ? 'Redis' : 'in-process only'}: ${outcome.perCredentialPerHour} LWA calls per credential per hour (${outcome.lwaCalls} calls, ${outcome.requests} requests, ${outcome.failed} failed)`)
    }
    const [oneLocal, threeLocal, oneRedis, threeRedis] = outcomes as [Outcome, Outcome, Outcome, Outcome]
    const label = (o: Outcome): string => `${o.replicas} replica${o.replicas > 1 ? 's' : ''}, ${o.redis ? 'Redis' : 'in-process only'}: LWA calls per credential per hour`
    return finish({
      name: 'redis-replicas',
      title: 'Replicas with and without Redis: LWA calls per credential per hour',
      method: `${credentialCount} credentials with ${tokenLifetimeSeconds / 3600}-hour tokens; each replica (buildApp as createBroker wires it, refresh-ahead at half-life with ` +
        `its own ±5% jitter) is asked for every credential once a simulated minute for ${hours} simulated hours on a fake clock, so refreshes happen exactly as in production ` +
        '(refresh-ahead on a request past the refresh point). LWA is the emulator; Redis is a real redis-server on loopback. The count includes each credential\'s first token. ' +
        'With Redis, 3 replicas cost slightly more than 1 because each cycle the replica whose jittered refresh point comes first refreshes for all (the earliest of three ' +
        'jittered points is a little before half-life); without Redis every replica refreshes on its own.',
      startedAt,
      machine,
      figures: outcomes.map((o): Figure => ({ key: `replicas${o.replicas}${o.redis ? 'Redis' : 'Local'}`, label: label(o), value: o.perCredentialPerHour, unit: '/h', kind: 'count' }))
        .concat([
          { key: 'threeRedisVsOneLocal', label: '3 replicas with Redis / 1 replica alone (LWA calls)', value: round(threeRedis.lwaCalls / oneLocal.lwaCalls, 2), unit: '×', kind: 'ratio', target: { op: '<=', value: 1.25 } },
          { key: 'threeLocalVsOneLocal', label: '3 replicas without Redis / 1 replica alone (LWA calls)', value: round(threeLocal.lwaCalls / oneLocal.lwaCalls, 2), unit: '×', kind: 'ratio' },
          { key: 'oneRedisVsOneLocal', label: '1 replica with Redis / without (LWA calls)', value: round(oneRedis.lwaCalls / oneLocal.lwaCalls, 2), unit: '×', kind: 'ratio' },
          { key: 'failed', label: 'failed requests', value: outcomes.reduce((sum, o) => sum + o.failed, 0), unit: '', kind: 'count', target: { op: '==', value: 0 } },
        ]),
      raw: { hours, tickMs, credentialCount, tokenLifetimeSeconds, outcomes },
    }, findings)
  } finally {
    await w.close()
    await redis.stop()
  }
}

export const redisReplicas: Benchmark = { name: 'redis-replicas', title: 'Replicas with and without Redis', run }
