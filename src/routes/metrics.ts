import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../observability/metrics.js'

/**
 * GET /metrics in the Prometheus text format, and the per-request counters behind it. Not
 * behind a JWT (Prometheus scrapes without one): labels carry only config names and fixed
 * codes, never a secret or caller-supplied text.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) })
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000)
  })
  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
