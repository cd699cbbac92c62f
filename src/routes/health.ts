import type { FastifyPluginAsync } from 'fastify'
import { HealthResponse, ReadyResponse } from './schemas.js'

export type ReadinessCheck = () => Promise<ReadyResponse['checks']>

/** `/healthz`: the process answers. `/readyz`: it can do its job (Kubernetes routes traffic by it). */
export function healthRoutes(readiness: ReadinessCheck): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: { response: { 200: HealthResponse } } }, async () => ({ status: 'ok' as const }))

    app.get('/readyz', { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_request, reply) => {
      const checks = await readiness()
      const ready = Object.values(checks).every((c) => c === 'ok')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
    })
  }
}
