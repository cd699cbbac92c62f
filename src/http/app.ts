import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback } from 'fastify'
import type { Services } from '../services.js'
import { installErrorHandling } from './error-reply.js'
import { refuseProxiedRequests } from './guards/sidecar-guard.js'
import { callerRoutes } from './routes/caller-routes.js'
import { healthRoutes } from './routes/health.js'
import { countRequests } from './routes/metrics.js'
import { onboardingPages } from './routes/onboarding-pages.js'
import { installServerHooks, serverOptions } from './server-options.js'

export interface AppOptions {
  /**
   * Registered before every route, unencapsulated: what tests and the contract generator add (a response
   * check, @fastify/swagger).
   */
  plugins?: readonly FastifyPluginAsync[]
  /** The caller listener's request spans (src/http/request-tracing.ts), registered before anything else. */
  requestTracing?: FastifyPluginCallback
}

/** What fastify-plugin does: the plugin's hooks and decorators apply to the whole app, not a child scope. */
export function unencapsulated(plugin: FastifyPluginAsync): FastifyPluginAsync {
  return Object.assign(
    async (app: FastifyInstance, options: Record<string, never>) => plugin(app, options),
    { [Symbol.for('skip-override')]: true },
  )
}

/**
 * The caller listener: plugins and routes over the core, nothing else. Never listens:
 * src/broker.ts does, tests inject.
 */
export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services
  const app = Fastify(serverOptions(config, services.logger))
  if (options.requestTracing) await app.register(options.requestTracing)
  installServerHooks(app, config.http)
  installErrorHandling(app)
  for (const plugin of options.plugins ?? []) await app.register(unencapsulated(plugin))
  countRequests(app, services.metrics)
  if (config.mode === 'sidecar') app.addHook('onRequest', refuseProxiedRequests)
  await app.register(healthRoutes(services.readiness))
  if (services.onboarding && config.onboarding) {
    await app.register(onboardingPages(services.onboarding, services.audit, {
      publicUrl: config.onboarding.publicUrl,
      rateLimit: { max: config.rateLimit.onboardingMax, timeWindowSeconds: config.rateLimit.timeWindowSeconds },
    }))
  }
  await app.register(callerRoutes(services))
  return app
}
