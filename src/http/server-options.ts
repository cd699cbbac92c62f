import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { BrokerConfig } from '../config/index.js'
import { connectionLimits } from './connection-limits.js'
import { handleError } from './error-reply.js'
import { lazyRequestLogger } from './request-logger.js'
import { requestId } from './request-id.js'

/** The longest credential name (config `credentialNamePattern`): every name works as a route parameter. */
const maxParamLength = 128

/** The Fastify options both listeners share. */
export function serverOptions(config: BrokerConfig, logger: Logger): FastifyServerOptions & Record<string, unknown> {
  return {
    // pino's Logger is richer than FastifyBaseLogger; fastify only needs the latter.
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: requestId,
    childLoggerFactory: lazyRequestLogger,
    ...connectionLimits(config.http),
    routerOptions: { maxParamLength },
    // No per-request access lines: they cost more CPU than the whole token path. Issuances and
    // denials are audit events, errors are logged with their detail, traffic is in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A misspelt query parameter (min-ttl) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // While draining, requests already on an open connection are served, not refused:
    // readiness goes false first so no new traffic is routed here anyway.
    return503OnClosing: false,
    // HEAD /token would obtain and audit a token only to drop it.
    exposeHeadRoutes: false,
    frameworkErrors: handleError,
  }
}

/** Every listener: open connections capped once the server exists, and every answer names its request id. */
export function installServerHooks(app: FastifyInstance, http: BrokerConfig['http']): void {
  app.addHook('onReady', async () => {
    app.server.maxConnections = http.maxConnections
  })
  // Callback hooks on the per-request path: an async hook costs a promise and a microtask turn.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    done(null, payload)
  })
}
