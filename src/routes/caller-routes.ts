import type { FastifyPluginAsync } from 'fastify'
import { registerAdminRoutes, type AdminRouteDeps } from './admin.js'
import { guardCallers, type CallerGuardDeps } from './caller-guard.js'
import { compatCredential, lwaCompatRoutes, lwaTokenPath } from './lwa-compat.js'
import { registerTokenRoute, type TokenRouteDeps } from './token.js'

export type CallerRouteDeps = CallerGuardDeps & TokenRouteDeps & AdminRouteDeps

/**
 * Every route that needs a verified caller, in one scope behind one caller guard, so a
 * caller has one rate-limit budget whichever route it uses. Authentication waits for body
 * parsing (preValidation) because LWA-style clients put the JWT in `client_secret`; only
 * that route takes it from the body, every other one from the Authorization header alone.
 */
export function callerRoutes(deps: CallerRouteDeps): FastifyPluginAsync {
  return async (app) => {
    await guardCallers(app, deps, {
      hook: 'preValidation',
      authorization: (request) => (request.routeOptions.url === lwaTokenPath ? compatCredential(request) : request.headers.authorization),
    })
    registerTokenRoute(app, deps)
    registerAdminRoutes(app, deps)
    await app.register(lwaCompatRoutes(deps))
  }
}
