import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Dispatcher } from 'undici'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig } from '../config/index.js'
import type { AuditLog } from '../observability/audit.js'
import type { SecretStore } from '../secrets/index.js'
import type { SharedCache } from '../cache/index.js'
import { authorizationsOf } from '../onboarding/authorizations.js'
import { RedisOnboardingStore } from '../onboarding/redis-store.js'
import { Lifecycle } from './lifecycle.js'
import { loadWebhookKey } from './webhook-key.js'

export interface LifecycleParts {
  logger: Logger
  clock: Clock
  registry: Registry
  audit: AuditLog
  catalogue: Catalogue
  secrets: SecretStore
  /** The upstream pool; deliveries share its keep-alive connections. */
  dispatcher: Dispatcher
  random?: (() => number) | undefined
  /** With Redis, one replica reports each event: the one that claims its id first. */
  shared?: SharedCache | undefined
}

/** Lifecycle events as the broker runs them: always audited and counted, and sent when `lifecycle.webhook` is set. */
export async function createLifecycle(config: BrokerConfig, parts: LifecycleParts): Promise<Lifecycle> {
  const { logger, clock, registry, audit, catalogue, secrets, dispatcher, random, shared } = parts
  const claims = shared && new RedisOnboardingStore(shared.rateLimitRedis)
  const { expiryWarningDays, webhook } = config.lifecycle
  const key = webhook && await loadWebhookKey(webhook, secrets)
  const lifecycle = new Lifecycle({
    audit, registry, clock, catalogue, expiryWarningDays, logger: logger.child({ component: 'lifecycle' }),
    ...(claims ? { once: (id: string, untilMs: number) => claims.once('event', id, untilMs, clock.now()) } : {}),
    ...(webhook && key ? {
      webhook: {
        url: webhook.url, key, timeoutMs: webhook.timeoutMs, maxQueue: webhook.maxQueue,
        maxAttempts: webhook.maxAttempts, dispatcher, ...(random ? { random } : {}),
      },
    } : {}),
  })
  lifecycle.trackAuthorizations(() => authorizationsOf(catalogue, secrets))
  return lifecycle
}
