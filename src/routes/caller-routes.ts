import type { FastifyPluginAsync } from 'fastify'
import { registerAdminRoutes, type AdminRouteDeps } from './admin.js'
import { guardCallers, type CallerGuardDeps } from './caller-guard.js'
import { registerTokenRoute, type TokenRouteDeps } from './token.js'

export type CallerRouteDeps = CallerGuardDeps & TokenRouteDeps & AdminRouteDeps

/** Every route that needs a verified caller, in one scope behind the caller guard. */
export function callerRoutes(deps: CallerRouteDeps): FastifyPluginAsync {
  return async (app) => {
    await guardCallers(app, deps)
    registerTokenRoute(app, deps)
    registerAdminRoutes(app, deps)
  }
}
