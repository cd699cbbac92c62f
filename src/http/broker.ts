// First: the tick object is kept before any other module's start-up can take a full GC.
import './tick-shape.js'
import type { FastifyInstance } from 'fastify'
import type { BrokerConfig } from '../config/index.js'
import { buildApp, type AppOptions } from './app.js'
import { buildOpsApp } from './ops-app.js'
import { createServices, type ServiceDeps, type Services } from '../services.js'

export interface Broker {
  services: Services
  /** The caller listener (tokens, admin, onboarding). */
  app: FastifyInstance
  /** The ops listener (/metrics, /healthz, /readyz). */
  ops: FastifyInstance
  /** Listens on both addresses, then starts the core's timers. Answers the two base URLs. */
  listen(): Promise<{ app: string; ops: string }>
  /**
   * Graceful stop: readiness goes false and stays so for `shutdown.drainSeconds` (Kubernetes
   * stops routing here), then the server stops accepting and in-flight requests get
   * `shutdown.graceSeconds` to finish, then the core closes.
   */
  close(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The whole broker, core and both HTTP shells, as main.ts, the demo, the benchmarks and the tests run it. */
export async function createBroker(config: BrokerConfig, deps: ServiceDeps, options: AppOptions = {}): Promise<Broker> {
  const services = await createServices(config, deps)
  const app = await buildApp(services, options)
  const ops = await buildOpsApp(services, options)
  const { logger } = services
  return {
    services, app, ops,
    async listen() {
      const addresses = {
        app: await app.listen({ host: config.listen.host, port: config.listen.port }),
        ops: await ops.listen({ host: config.ops.host, port: config.ops.port }),
      }
      services.start()
      return addresses
    },
    async close() {
      services.readiness.drain()
      await sleep(config.shutdown.drainSeconds * 1000)
      await closeWithin(app, config.shutdown.graceSeconds * 1000, logger)
      await ops.close()
      await services.close()
    },
  }
}

/** app.close() waits for every in-flight request; past the grace period the stragglers' connections are cut. */
async function closeWithin(app: FastifyInstance, graceMs: number, logger: Services['logger']): Promise<void> {
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
