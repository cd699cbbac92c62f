import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { Authenticator, compilePolicy } from './auth/index.js'
import { ReplayGuard, type SharedReplayStore } from './auth/replay-guard.js'
import type { Clock } from './clock.js'
import { secretIdsOf, type BrokerConfig } from './config/index.js'
import { LwaClient } from './lwa/index.js'
import { AuditLog } from './observability/audit.js'
import { connectionLimits } from './routes/connection-limits.js'
import { handleError, installErrorHandling } from './routes/error-handler.js'
import { requestId } from './routes/request-id.js'
import { SecretSweep } from './secrets/secret-sweep.js'
import { healthRoutes } from './routes/health.js'
import { refuseProxiedRequests } from './routes/sidecar-guard.js'
import { Readiness } from './readiness.js'
import { callerRoutes } from './routes/caller-routes.js'
import { onboardingPages } from './routes/onboarding-pages.js'
import { Onboarding } from './onboarding/onboarding.js'
import { countRequests } from './routes/metrics.js'
import { Metrics } from './observability/metrics.js'
import type { SecretStore } from './secrets/index.js'
import { TokenService, type SharedTokenStore } from './tokens/index.js'

export interface AppDeps {
  config: BrokerConfig
  logger: Logger
  clock: Clock
  secrets: SecretStore
  /** undici dispatcher for LWA calls (a keep-alive pool in production). */
  lwaDispatcher?: Dispatcher
  /** Audit events go here; defaults to a child of `logger`. */
  auditLogger?: Logger
  /** Jitter source for refresh points and backoff (tests pin it). */
  random?: () => number
  /** Shared with the secret store, which reports its calls here; one is made if absent. */
  metrics?: Metrics
  /** Tokens, refresh locks and peer events shared with other replicas (cache.backend redis). */
  sharedTokens?: SharedTokenStore
  /** A store for @fastify/rate-limit shared with other replicas (its `redis` option: an ioredis client). */
  rateLimitRedis?: unknown
  /** Single-use `jti`s remembered across replicas (cache.backend redis). */
  sharedReplay?: SharedReplayStore
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService
    readiness: Readiness
    metrics: Metrics
  }
}

/** Secrets read at once by the background sweep (start-up of many credentials). */
const sweepConcurrency = 16

/**
 * Builds the broker from its dependencies. Never listens: main.ts does, tests inject.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, clock } = deps
  const app = Fastify({
    // pino's Logger is richer than FastifyBaseLogger; fastify only needs the latter.
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: requestId,
    ...connectionLimits(config.http),
    // As long as the longest credential name, so every name works as a route parameter.
    routerOptions: { maxParamLength: 128 },
    // No per-request access lines: they cost more CPU than the whole token path. Issuances and
    // denials are audit events, errors are logged with their detail, traffic is in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A misspelt query parameter (min-ttl) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // While draining, requests already on an open connection are served, not refused:
    // readiness goes false first so no new traffic is routed here anyway.
    return503OnClosing: false,
    // HEAD /token would obtain and audit a token only to drop it.
    exposeHeadRoutes: false,
    frameworkErrors: handleError,
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  installErrorHandling(app)

  app.addHook('onReady', async () => {
    app.server.maxConnections = config.http.maxConnections
  })
  const metrics = deps.metrics ?? new Metrics()
  app.decorate('metrics', metrics)
  countRequests(app, metrics)

  const lwa = new LwaClient({ timeoutMs: config.lwa.timeoutMs, clock, ...(deps.lwaDispatcher ? { dispatcher: deps.lwaDispatcher } : {}) })
  const sweep = new SecretSweep({
    secrets: deps.secrets, ids: () => secretIdsOf(config), clock, retryMs: config.secrets.refreshSeconds * 1000, concurrency: sweepConcurrency,
  })
  const tokens = new TokenService({
    config, secrets: deps.secrets, lwa, clock, events: metrics, secretProblem: (id) => sweep.problem(id),
    logger: deps.logger.child({ component: 'tokens' }),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.sharedTokens ? { shared: deps.sharedTokens } : {}),
  })
  app.decorate('tokens', tokens)
  metrics.observe({ now: () => clock.now(), credentials: () => tokens.status(), secrets: () => deps.secrets.status?.() ?? [] })
  app.addHook('onReady', async () => tokens.start())
  app.addHook('onClose', async () => {
    tokens.stop()
    await tokens.settled()
  })

  const authenticator = new Authenticator(config.issuers, {
    clock,
    allowInsecureEndpoints: config.allowInsecureEndpoints,
    replay: new ReplayGuard(config.auth.replayCache.maxEntries, deps.sharedReplay),
    cache: { maxEntries: config.auth.verifiedTokenCache.maxEntries, maxAgeMs: config.auth.verifiedTokenCache.maxAgeSeconds * 1000 },
  })
  const readiness = new Readiness({ sweep, authenticator, logger: deps.logger, intervalMs: config.readiness.intervalSeconds * 1000 })
  app.decorate('readiness', readiness)
  app.addHook('onClose', async () => readiness.stop())
  if (config.mode === 'sidecar') app.addHook('onRequest', refuseProxiedRequests)
  await app.register(healthRoutes(() => readiness.current()))
  const audit = new AuditLog(deps.auditLogger ?? deps.logger.child({ log: 'audit' }), {
    rateLimitWindowMs: config.rateLimit.timeWindowSeconds * 1000, now: () => clock.now(),
  })
  app.addHook('onClose', async () => audit.flush())
  const onboarding = config.onboarding
    ? new Onboarding({ config, secrets: deps.secrets, lwa, clock, tokens, ...(deps.lwaDispatcher ? { adsDispatcher: deps.lwaDispatcher } : {}) }, config.onboarding)
    : undefined
  if (onboarding && config.onboarding) {
    await app.register(onboardingPages(onboarding, audit, {
      publicUrl: config.onboarding.publicUrl,
      rateLimit: { max: config.rateLimit.onboardingMax, timeWindowSeconds: config.rateLimit.timeWindowSeconds },
    }))
  }
  await app.register(callerRoutes({
    authenticator,
    policy: compilePolicy(config.policy),
    rateLimit: config.rateLimit,
    rateLimitRedis: deps.rateLimitRedis,
    tokens,
    audit,
    onboarding,
    events: metrics,
    metrics,
    clock,
    defaultMinTtlSeconds: config.tokens.defaultMinTtlSeconds,
  }))
  return app
}
