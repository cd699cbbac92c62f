import { Agent, type Dispatcher } from 'undici'
import { openSharedCache, type SharedCache } from './cache/index.js'
import type { Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'
import { LwaClient } from './lwa/index.js'
import type { AuditSink } from './observability/audit.js'
import { LogOutputs } from './observability/log-output.js'
import type { Metrics } from './observability/metrics.js'
import { createSecretStore, type SecretStore } from './secrets/index.js'
import type { ServiceDeps } from './services.js'

/**
 * Keep-alive pool for LWA and the Ads API: steady state needs a few sockets; a cold start of many credentials,
 * more.
 */
const upstreamPool = { connections: 32, keepAliveTimeout: 30_000 }

export interface Upstreams {
  secrets: SecretStore
  dispatcher: Dispatcher
  auditSink: AuditSink & { flush?(): Promise<void> }
  shared: SharedCache | undefined
  lwa: LwaClient
}

export async function openUpstreams(
  config: BrokerConfig,
  deps: ServiceDeps,
  clock: Clock,
  metrics: Metrics,
): Promise<Upstreams> {
  const { logger } = deps
  const secrets = deps.secrets ?? createSecretStore(config.secrets, {
    clock,
    logger: logger.child({ component: 'secrets' }),
    events: metrics,
  })
  const dispatcher = deps.dispatcher ?? new Agent(upstreamPool)
  const auditSink = deps.auditSink ?? new LogOutputs(config.logs).sink(config.audit.destination)
  const shared = deps.sharedCache ?? (config.cache.backend === 'redis'
    ? await openSharedCache(config.cache, { secrets, clock, logger: logger.child({ component: 'cache' }), metrics })
    : undefined)
  const lwa = new LwaClient({ timeoutMs: config.lwa.timeoutMs, clock, dispatcher })
  return { secrets, dispatcher, auditSink, shared, lwa }
}
