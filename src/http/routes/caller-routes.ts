import type { FastifyPluginAsync } from 'fastify'
import type { Services } from '../../services.js'
import { guardCallers } from '../guards/caller-guard.js'
import { registerAdminRoutes } from './admin.js'
import { compatTimeLeft } from './compat-grant.js'
import { compatCredential, lwaCompatRoutes, lwaTokenPath } from './lwa-compat.js'
import { registerRdtRoute } from './rdt.js'
import { registerTokenRoute } from './token.js'

/**
 * Every route that needs a verified caller, in one scope behind one caller guard, so a
 * caller has one rate-limit budget whichever route it uses. Authentication waits for body
 * parsing (preValidation) because LWA-style clients put the JWT in `client_secret`; only
 * that route takes it from the body, every other one from the Authorization header alone.
 */
export function callerRoutes(services: Services): FastifyPluginAsync {
  return async (app) => {
    await guardCallers(app, services, {
      hook: 'preValidation',
      authorization: (request) => (request.routeOptions.url === lwaTokenPath
        ? compatCredential(request)
        : request.headers.authorization),
      // An SDK's token timeout covers fetching the caller's JWT keys too.
      deadlineMs: (request, reply) => (request.routeOptions.url === lwaTokenPath
        ? compatTimeLeft(services, reply)
        : undefined),
    })
    registerTokenRoute(app, services)
    registerRdtRoute(app, services)
    registerAdminRoutes(app, services)
    await app.register(lwaCompatRoutes(services))
  }
}
