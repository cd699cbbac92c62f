import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../observability/metrics.js'

/**
 * Counts every request of the caller listener by route, method and status. The route is
 * the pattern (`/admin/credentials/:name/refresh`), never the URL a caller chose.
 */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) })
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000)
  })
}
