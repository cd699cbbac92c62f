import Fastify, { type FastifyInstance } from 'fastify'
import type { Services } from '../services.js'
import { unencapsulated, type AppOptions } from './app.js'
import { installErrorHandling } from './error-reply.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoute } from './routes/metrics.js'
import { installServerHooks, serverOptions } from './server-options.js'

/**
 * The ops listener: /metrics, /healthz and /readyz for Prometheus and the kubelet, on its
 * own host and port. Callers never reach it (the NetworkPolicy admits only the monitoring
 * namespace), so what /metrics lists about credentials stays with operators, and a scraper
 * costs the token path nothing but the shared CPU.
 */
export async function buildOpsApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services
  const app = Fastify(serverOptions(config, services.logger))
  installServerHooks(app, config.http)
  installErrorHandling(app)
  for (const plugin of options.plugins ?? []) await app.register(unencapsulated(plugin))
  await app.register(metricsRoute(services.metrics, services.clock, config.ops.metricsCacheSeconds * 1000))
  await app.register(healthRoutes(services.readiness))
  return app
}
