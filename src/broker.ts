import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Agent } from 'undici'
import { buildApp } from './app.js'
import { buildOpsApp } from './routes/ops-app.js'
import { openSharedCache } from './cache/index.js'
import { systemClock, type Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'
import { createAuditLogger } from './observability/logger.js'
import { Metrics } from './observability/metrics.js'
import { createSecretStore, type SecretStore } from './secrets/index.js'

export interface Broker {
  app: FastifyInstance
  /** The ops listener (/metrics, /healthz, /readyz). */
  ops: FastifyInstance
  /**
   * Graceful stop: readiness goes false and stays so for `shutdown.drainSeconds` (Kubernetes
   * stops routing here), then the server stops accepting and in-flight requests get
   * `shutdown.graceSeconds` to finish, then pools and the secret store close.
   */
  close(): Promise<void>
}

/** Keep-alive pool for LWA: steady state needs a few sockets; a cold start of many credentials, more. */
const lwaPool = { connections: 32, keepAliveTimeout: 30_000 }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Wires the production dependencies (secret backend from config, keep-alive pool for LWA,
 * system clock, audit logger) into buildApp. Shared by main.ts and the demo.
 */
export interface BrokerOptions {
  clock?: Clock
  /** Where audit events go instead of `config.audit.destination` (benchmarks measure loggers this way). */
  auditLogger?: Logger
}

export async function createBroker(config: BrokerConfig, logger: Logger, options: BrokerOptions = {}): Promise<Broker> {
  const clock = options.clock ?? systemClock
  const metrics = new Metrics()
  const secrets: SecretStore = createSecretStore(config.secrets, { clock, logger: logger.child({ component: 'secrets' }), events: metrics })
  if (config.secrets.backend === 'file') {
    logger.warn({ path: config.secrets.path },
      'SECRETS BACKEND "file" IS FOR LOCAL USE ONLY: secrets sit in a plain file on disk. Use backend "aws" in production.')
  }
  if (config.allowInsecureEndpoints) {
    logger.warn('INSECURE ENDPOINTS ALLOWED (allowInsecureEndpoints: true): plain http:// to non-loopback hosts may carry tokens, secrets and keys in clear. Never in production.')
  }
  const lwaDispatcher = new Agent(lwaPool)
  const auditLogger = options.auditLogger ?? createAuditLogger(config.audit.destination)
  const shared = config.cache.backend === 'redis' ? await openSharedCache(config.cache, { secrets, clock, logger: logger.child({ component: 'cache' }), metrics }) : undefined
  const app = await buildApp({ config, logger, clock, secrets, lwaDispatcher, auditLogger, metrics, ...(shared ? { sharedTokens: shared.store, rateLimitRedis: shared.rateLimitRedis, sharedReplay: shared.store } : {}) })
  if (config.tokens.prewarm) app.addHook('onListen', async () => void app.tokens.prewarm())
  // On its timer from now on; a process that only builds the app (tests) evaluates at the first probe.
  app.readiness.start()
  const ops = await buildOpsApp({ config, logger, clock, metrics, readiness: app.readiness })
  return {
    app,
    ops,
    async close() {
      app.readiness.drain()
      await sleep(config.shutdown.drainSeconds * 1000)
      await closeWithin(app, config.shutdown.graceSeconds * 1000, logger)
      await ops.close()
      await Promise.all([lwaDispatcher.close(), secrets.close(), shared?.close(), new Promise((resolve) => auditLogger.flush(resolve))])
    },
  }
}

/** app.close() waits for every in-flight request; past the grace period the stragglers' connections are cut. */
async function closeWithin(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const closing = app.close()
  const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => resolve('expired'), graceMs) })
  if (await Promise.race([closing, expired]) === 'expired') {
    logger.warn({ graceMs }, 'grace period over: closing the connections still open')
    app.server.closeAllConnections()
    await closing
  }
  clearTimeout(timer)
}
