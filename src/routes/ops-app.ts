import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { BrokerConfig } from '../config/index.js'
import type { Metrics } from '../observability/metrics.js'
import type { Readiness } from '../readiness.js'
import { connectionLimits } from './connection-limits.js'
import { handleError, installErrorHandling } from './error-handler.js'
import { healthRoutes } from './health.js'
import { requestId } from './request-id.js'

export interface OpsAppDeps {
  config: BrokerConfig
  logger: Logger
  clock: Clock
  metrics: Metrics
  readiness: Readiness
}

/**
 * The ops listener: /metrics, /healthz and /readyz for Prometheus and the kubelet, on its
 * own host and port. Callers never reach it (the NetworkPolicy admits only the monitoring
 * namespace), so what /metrics lists about credentials stays with operators, and a scraper
 * costs the token path nothing but the shared CPU.
 */
export async function buildOpsApp(deps: OpsAppDeps): Promise<FastifyInstance> {
  const { config } = deps
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: requestId,
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: false,
    frameworkErrors: handleError,
    ...connectionLimits(config.http),
  })
  app.addHook('onReady', async () => {
    app.server.maxConnections = config.http.maxConnections
  })
  installErrorHandling(app)
  const scrape = cachedScrape(deps.metrics, deps.clock, config.ops.metricsCacheSeconds * 1000)
  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', deps.metrics.registry.contentType).send(await scrape())
  })
  await app.register(healthRoutes(() => deps.readiness.current()))
  return app
}

/**
 * The exposition text, rendered at most once per `cacheMs` however many scrapers ask: at
 * thousands of credentials one render costs tens of milliseconds of the event loop that
 * serves GET /token. Concurrent scrapes share one render.
 */
function cachedScrape(metrics: Metrics, clock: Clock, cacheMs: number): () => Promise<string> {
  let last: { atMs: number; text: Promise<string> } | undefined
  return () => {
    const now = clock.now()
    if (!last || now - last.atMs >= cacheMs) {
      const text = metrics.registry.metrics()
      last = { atMs: now, text }
      // A failed render is not kept: the next scrape tries again.
      text.catch(() => {
        if (last?.text === text) last = undefined
      })
    }
    return last.text
  }
}
