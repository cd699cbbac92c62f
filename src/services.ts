import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { ProfileBook } from './ads/profile-book.js'
import type { Authenticator, CompiledRule } from './auth/index.js'
import type { RedisClient, SharedCache } from './cache/index.js'
import { Catalogue } from './catalogue/catalogue.js'
import type { SecretLister } from './catalogue/aws-lister.js'
import type { Discovery } from './catalogue/discovery.js'
import { systemClock, type Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'
import { Exchange } from './exchange.js'
import { Apps } from './apps/apps.js'
import { createLifecycle } from './lifecycle/create-lifecycle.js'
import type { Lifecycle } from './lifecycle/lifecycle.js'
import { AuditLog, type AuditSink } from './observability/audit.js'
import { composeEvents } from './observability/events.js'
import { Metrics } from './observability/metrics.js'
import type { Spans } from './observability/spans.js'
import { Onboarding } from './onboarding/onboarding.js'
import { RedisOnboardingStore } from './onboarding/redis-store.js'
import { onboardingState } from './onboarding/shared-state.js'
import { MemoryOnboardingStore } from './onboarding/store.js'
import { createRestrictedDataTokens } from './rdt/index.js'
import { Readiness } from './readiness.js'
import { createGeneration, type Live } from './reload.js'
import { createReloader, type ReloadOutcome } from './reloader.js'
import { startDiscovery } from './catalogue/start-discovery.js'
import type { SecretStore } from './secrets/index.js'
import { CredentialStatusView, Refresher, TokenService } from './tokens/index.js'
import { createTokenCore } from './token-core.js'
import { openUpstreams, type Upstreams } from './upstreams.js'

/** At shutdown, queued lifecycle webhooks get this long: the audit log keeps every event anyway. */
const webhookFlushMs = 2000

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
  /** Instead of the ListSecrets client `config.catalogue` makes (tests count and fail its calls). */
  secretLister?: SecretLister
  /** For the app-secret notification queue instead of the SDK's default chain (tests' fixed keys). */
  sqsCredentials?: { accessKeyId: string; secretAccessKey: string }
}

/** The broker's core: plain TypeScript, no HTTP. The HTTP shell (src/http) is built on it. */
export interface Services {
  /** The current generation's config (a reload swaps it): read it where it is used, not once. */
  readonly config: BrokerConfig
  logger: Logger
  clock: Clock
  metrics: Metrics
  secrets: SecretStore
  tokens: TokenService
  /** The profiles each Ads credential reaches. */
  profiles: ProfileBook
  status: CredentialStatusView
  refresher: Refresher
  readiness: Readiness
  readonly authenticator: Authenticator
  readonly policy: readonly CompiledRule[]
  /** What a config reload swaps: config, policy, authenticator. */
  live: Live
  /** Every credential that exists now: the config file's and the discovered ones. */
  catalogue: Catalogue
  /** Present when `catalogue` is configured. */
  discovery: Discovery | undefined
  /** Loads and applies a new config (SIGHUP, a changed file); refused with the reason, the old one serving on. */
  reload(load: () => BrokerConfig): ReloadOutcome
  audit: AuditLog
  exchange: Exchange
  /** Present when onboarding is configured. */
  onboarding: Onboarding | undefined
  /** Credential lifecycle events (revoked, removed, expiring, and onboarding's connected, …). */
  lifecycle: Lifecycle
  /** The apps' client secrets: expiry, new ones from SP-API's notifications, rotation. */
  apps: Apps
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
  const catalogue = createCatalogue(config, logger)
  const audit = createAudit(config, deps, clock, auditSink)
  const credentialEvents = await createLifecycle(config, {
    logger, clock, registry: metrics.registry, audit, catalogue, secrets, dispatcher, random: deps.random, shared,
  })
  const { tokens, profiles, sweep, status, share } = createTokenCore(config, deps, clock, metrics, {
    ...upstreams, catalogue, events: composeEvents(metrics, credentialEvents) })
  const live = { current: createGeneration(config, clock, shared) }
  const discovery = startDiscovery(config, { deps, catalogue, share, metrics })
  const readiness = new Readiness({
    sweep, authenticator: () => live.current.authenticator, logger, intervalMs: config.readiness.intervalSeconds * 1000,
    ...(discovery ? { catalogueListed: () => discovery.listedOnce() } : {}),
  })
  const onboarding = config.onboarding && new Onboarding({
    config, catalogue, secrets, lwa, clock, tokens, profiles, adsDispatcher: dispatcher, lifecycle: credentialEvents,
    discovered: discovery && (() => discovery.refresh('onboarding')), ...onboardingState(shared, logger),
  }, config.onboarding)
  const refresher = new Refresher(tokens, catalogue, config)
  const apps = createApps(config, deps, { ...upstreams, catalogue, clock, metrics, tokens })
  return {
    get config() { return live.current.config },
    get policy() { return live.current.policy },
    get authenticator() { return live.current.authenticator },
    live, catalogue, discovery, logger, clock, metrics, secrets, tokens, profiles, status, refresher, readiness, audit,
    onboarding, lifecycle: credentialEvents, apps,
    reload: createReloader({ live, catalogue, clock, shared, logger, metrics: metrics.catalogue }),
    exchange: new Exchange({ live, catalogue, tokens, profiles, audit, metrics, ...traced(deps),
      rdt: createRestrictedDataTokens(live, { catalogue, tokens, share, clock, dispatcher, metrics, shared }) }),
    rateLimitRedis: shared?.rateLimitRedis,
    ...lifecycle(config, deps, upstreams, { readiness, refresher, profiles, tokens, audit, discovery, credentialEvents,
      apps }),
  }
}

function createApps(
  config: BrokerConfig,
  deps: ServiceDeps,
  parts: Upstreams & { catalogue: Catalogue; clock: Clock; metrics: Metrics; tokens: TokenService },
): Apps {
  const { catalogue, secrets, lwa, clock, dispatcher, metrics, shared, tokens } = parts
  return new Apps(config, {
    catalogue, secrets, lwa, clock, dispatcher, registry: metrics.registry,
    logger: deps.logger.child({ component: 'apps' }),
    // Rotation claims: in Redis, exactly one replica asks Amazon.
    claims: shared ? new RedisOnboardingStore(shared.rateLimitRedis) : new MemoryOnboardingStore(),
    reloadEverywhere: () => tokens.reloadSecrets(),
    ...(deps.sqsCredentials ? { sqsCredentials: deps.sqsCredentials } : {}),
  })
}

function createCatalogue(config: BrokerConfig, logger: Logger): Catalogue {
  return new Catalogue(config.credentials, {
    nameClash: (name) => logger.warn({ credential: name }, 'a tagged secret declares a credential the config file '
      + 'also declares; the config file\'s credential serves'),
  })
}

function createAudit(config: BrokerConfig, deps: ServiceDeps, clock: Clock, sink: AuditSink): AuditLog {
  return new AuditLog(sink, {
    rateLimitWindowMs: config.rateLimit.timeWindowSeconds * 1000,
    now: () => clock.now(),
    ...(deps.spans ? { traceIds: deps.spans.ids } : {}),
  })
}

const traced = (deps: ServiceDeps): { spans?: Spans } => (deps.spans ? { spans: deps.spans } : {})

function lifecycle(
  config: BrokerConfig,
  deps: ServiceDeps,
  upstreams: Upstreams,
  parts: {
    readiness: Readiness; refresher: Refresher; profiles: ProfileBook; tokens: TokenService; audit: AuditLog
    discovery: Discovery | undefined; credentialEvents: Lifecycle; apps: Apps
  },
): Pick<Services, 'start' | 'close'> {
  const { secrets, dispatcher, auditSink, shared } = upstreams
  const { readiness, refresher, profiles, tokens, audit, discovery, credentialEvents, apps } = parts
  return {
    start() {
      credentialEvents.start()
      discovery?.start()
      readiness.start()
      refresher.start()
      profiles.start()
      apps.start()
      if (config.tokens.prewarm) void refresher.prewarm()
    },
    async close() {
      discovery?.close()
      readiness.stop()
      refresher.stop()
      profiles.stop()
      await apps.close()
      await tokens.settled()
      // Before the pool closes: the deliveries use it. After the tokens: a last refresh may revoke.
      await credentialEvents.close(webhookFlushMs)
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
