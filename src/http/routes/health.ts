import type { FastifyPluginAsync } from 'fastify'
import type { Readiness } from '../../readiness.js'
import { healthzSchema, readyzSchema } from '../contract/health.js'

/** `/healthz`: the process answers. `/readyz`: it can do its job (Kubernetes routes traffic by it). */
export function healthRoutes(readiness: Readiness): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' as const }))
    app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
      const checks = await readiness.current()
      const ready = Object.values(checks).every((c) => c === 'ok')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
    })
  }
}
