import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Agent } from 'undici'
import { buildApp } from './app.js'
import { systemClock, type Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'
import { createAuditLogger } from './observability/logger.js'
import { createSecretStore, type SecretStore } from './secrets/index.js'

export interface Broker {
  app: FastifyInstance
  /** Stops accepting, finishes in-flight requests, then closes the pools and the secret store. */
  close(): Promise<void>
}

/** Keep-alive pool settings for LWA: a handful of sockets is plenty for a token endpoint. */
const lwaPool = { connections: 8, keepAliveTimeout: 30_000 }

/**
 * Wires the production dependencies (secret backend from config, keep-alive pool for LWA,
 * system clock) into buildApp. Shared by main.ts and the demo.
 */
export async function createBroker(config: BrokerConfig, logger: Logger, clock: Clock = systemClock): Promise<Broker> {
  const secrets: SecretStore = createSecretStore(config.secrets, { clock, logger: logger.child({ component: 'secrets' }) })
  if (config.secrets.backend === 'file') {
    logger.warn({ path: config.secrets.path },
      'SECRETS BACKEND "file" IS FOR LOCAL USE ONLY: secrets sit in a plain file on disk. Use backend "aws" in production.')
  }
  const lwaDispatcher = new Agent(lwaPool)
  const auditLogger = createAuditLogger(config.audit.destination)
  const app = await buildApp({ config, logger, clock, secrets, lwaDispatcher, auditLogger })
  return {
    app,
    async close() {
      await app.close()
      await Promise.all([lwaDispatcher.close(), secrets.close(), new Promise((resolve) => auditLogger.flush(resolve))])
    },
  }
}
