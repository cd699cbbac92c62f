import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { Authenticator, compilePolicy, type CompiledRule } from './auth/index.js'
import { ReplayGuard } from './auth/replay-guard.js'
import type { RedisClient, SharedCache } from './cache/index.js'
import { systemClock, type Clock } from './clock.js'
import { secretIdsOf, type BrokerConfig } from './config/index.js'
import { Exchange } from './exchange.js'
import { AuditLog, type AuditSink } from './observability/audit.js'
import { Metrics } from './observability/metrics.js'
import type { Spans } from './observability/spans.js'
import { Onboarding } from './onboarding/onboarding.js'
import { Readiness } from './readiness.js'
import type { SecretStore } from './secrets/index.js'
import { SecretSweep } from './secrets/secret-sweep.js'
import { CredentialStatusView, LocalTokenShare, Refresher, TokenService, TokenSource } from './tokens/index.js'
import { tracedShare } from './tokens/traced-share.js'
import { openUpstreams, type Upstreams } from './upstreams.js'

/** Secrets read at once by the background sweep (start-up of many credentials). */
const sweepConcurrency = 16

/** What the core runs on, each replaceable by a test (a fake clock, a store that misbehaves, a shared Redis). */
export interface ServiceDeps {
  logger: Logger
  clock?: Clock
  /** Jitter for refresh points and backoff (tests pin it). */
  random?: () => number
  /** Instead of the backend `config.secrets` chooses. */
  secrets?: SecretStore
  /** For LWA and the Ads API; default: a keep-alive pool. */
  dispatcher?: Dispatcher
  /** Where audit events go instead of `config.audit.destination` (main.ts passes the process's shared writer). */
  auditSink?: AuditSink
  metrics?: Metrics
  /** Instead of the Redis `config.cache` opens (replicas in one test process share one). */
  sharedCache?: SharedCache
  /** Trace spans of the core's work (src/observability/tracing.ts); none when tracing is off. */
  spans?: Spans
}

/** The broker's core: plain TypeScript, no HTTP. The HTTP shell (src/http) is built on it. */
export interface Services {
  config: BrokerConfig
  logger: Logger
  clock: Clock
  metrics: Metrics
  secrets: SecretStore
  tokens: TokenService
  status: CredentialStatusView
  refresher: Refresher
  readiness: Readiness
  authenticator: Authenticator
  policy: readonly CompiledRule[]
  audit: AuditLog
  exchange: Exchange
  /** Present when onboarding is configured. */
  onboarding: Onboarding | undefined
  /** The client @fastify/rate-limit counts through when replicas share Redis. */
  rateLimitRedis: RedisClient | undefined
  /** The timers: readiness, the background refresher, and the prewarm if configured. */
  start(): void
  /** Stops the timers and closes what was opened here (never an injected dependency). */
  close(): Promise<void>
}

/** The one composition root: main.ts, the demo, the benchmarks and the tests all build the broker here. */
export async function createServices(config: BrokerConfig, deps: ServiceDeps): Promise<Services> {
  const { logger } = deps
  const clock = deps.clock ?? systemClock
  const metrics = deps.metrics ?? new Metrics()
  warnAboutUnsafeSettings(config, logger)
  const upstreams = await openUpstreams(config, deps, clock, metrics)
  const { secrets, dispatcher, auditSink, shared, lwa } = upstreams
  const { tokens, sweep, status } = createTokenCore(config, deps, clock, metrics, upstreams)
  const { authenticator, policy } = createAuth(config, clock, shared)
  const readiness = new Readiness({ sweep, authenticator, logger, intervalMs: config.readiness.intervalSeconds * 1000 })
  const audit = new AuditLog(auditSink, {
    rateLimitWindowMs: config.rateLimit.timeWindowSeconds * 1000,
    now: () => clock.now(),
    ...(deps.spans ? { traceIds: deps.spans.ids } : {}),
  })
  const onboarding = config.onboarding
    && new Onboarding({ config, secrets, lwa, clock, tokens, adsDispatcher: dispatcher }, config.onboarding)
  const refresher = new Refresher(tokens, config)
  return {
    config, logger, clock, metrics, secrets, tokens, status, refresher, readiness, authenticator, policy, audit,
    onboarding,
    exchange: new Exchange({ policy, tokens, audit, metrics, ...traced(deps) }),
    rateLimitRedis: shared?.rateLimitRedis,
    ...lifecycle(config, deps, upstreams, { readiness, refresher, tokens, audit }),
  }
}

function createTokenCore(
  config: BrokerConfig,
  deps: ServiceDeps,
  clock: Clock,
  metrics: Metrics,
  upstreams: Upstreams,
): { tokens: TokenService; sweep: SecretSweep; status: CredentialStatusView } {
  const { secrets, shared, lwa } = upstreams
  const share = shared ? (deps.spans ? tracedShare(shared.store, deps.spans) : shared.store) : new LocalTokenShare()
  const tokenLogger = deps.logger.child({ component: 'tokens' })
  const optional = { ...(deps.random ? { random: deps.random } : {}), ...traced(deps) }
  const source = new TokenSource({ config, secrets, lwa, clock, logger: tokenLogger, events: metrics, ...optional })
  const tokens = new TokenService({
    config, secrets, source, share, clock, logger: tokenLogger, events: metrics, ...optional,
  })
  const sweep = new SecretSweep({
    secrets, ids: () => secretIdsOf(config), clock,
    retryMs: config.secrets.refreshSeconds * 1000, concurrency: sweepConcurrency,
  })
  const status = new CredentialStatusView({
    config, tokens, stageOf: (name) => source.stageOf(name), secretProblem: (id) => sweep.problem(id),
  })
  metrics.observe({ now: () => clock.now(), credentials: () => status.list(), secrets: () => secrets.status?.() ?? [] })
  return { tokens, sweep, status }
}

const traced = (deps: ServiceDeps): { spans?: Spans } => (deps.spans ? { spans: deps.spans } : {})

function createAuth(
  config: BrokerConfig,
  clock: Clock,
  shared: SharedCache | undefined,
): { authenticator: Authenticator; policy: readonly CompiledRule[] } {
  const authenticator = new Authenticator(config.issuers, {
    clock,
    allowInsecureEndpoints: config.allowInsecureEndpoints,
    replay: new ReplayGuard(config.auth.replayCache.maxEntries, shared?.store),
    cache: {
      maxEntries: config.auth.verifiedTokenCache.maxEntries,
      maxAgeMs: config.auth.verifiedTokenCache.maxAgeSeconds * 1000,
    },
  })
  return { authenticator, policy: compilePolicy(config.policy) }
}

function lifecycle(
  config: BrokerConfig,
  deps: ServiceDeps,
  upstreams: Upstreams,
  parts: { readiness: Readiness; refresher: Refresher; tokens: TokenService; audit: AuditLog },
): Pick<Services, 'start' | 'close'> {
  const { secrets, dispatcher, auditSink, shared } = upstreams
  const { readiness, refresher, tokens, audit } = parts
  return {
    start() {
      readiness.start()
      refresher.start()
      if (config.tokens.prewarm) void refresher.prewarm()
    },
    async close() {
      readiness.stop()
      refresher.stop()
      await tokens.settled()
      audit.flush()
      await auditSink.flush?.()
      await Promise.all([
        deps.dispatcher ? undefined : dispatcher.close(),
        deps.secrets ? undefined : secrets.close(),
        deps.sharedCache ? undefined : shared?.close(),
      ])
    },
  }
}

function warnAboutUnsafeSettings(config: BrokerConfig, logger: Logger): void {
  if (config.secrets.backend === 'file') {
    logger.warn({ path: config.secrets.path },
      'SECRETS BACKEND "file" IS FOR LOCAL USE ONLY: secrets sit in a plain file on disk. Use backend "aws" in '
        + 'production.')
  }
  if (config.allowInsecureEndpoints) {
    logger.warn('INSECURE ENDPOINTS ALLOWED (allowInsecureEndpoints: true): plain http:// to non-loopback hosts may '
      + 'carry tokens, secrets and keys in clear. Never in production.')
  }
}
