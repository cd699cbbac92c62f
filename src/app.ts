import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { Authenticator, compilePolicy } from './auth/index.js'
import type { Clock } from './clock.js'
import { BrokerError } from './errors.js'
import type { BrokerConfig } from './config/index.js'
import { LwaClient } from './lwa/index.js'
import { AuditLog } from './observability/audit.js'
import { handleError, installErrorHandling } from './routes/error-handler.js'
import { healthRoutes, type ReadinessCheck } from './routes/health.js'
import { tokenRoutes } from './routes/token.js'
import type { SecretStore } from './secrets/index.js'
import { TokenService } from './tokens/index.js'

export interface AppDeps {
  config: BrokerConfig
  logger: Logger
  clock: Clock
  secrets: SecretStore
  /** undici dispatcher for LWA calls (a keep-alive pool in production). */
  lwaDispatcher?: Dispatcher
  /** Audit events go here; defaults to a child of `logger`. */
  auditLogger?: Logger
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService
  }
}

/** A caller-supplied request id is kept only if it is short and plain (it lands in logs). */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * Builds the broker from its dependencies. Never listens: main.ts does, tests inject.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, clock } = deps
  const app = Fastify({
    // pino's Logger is richer than FastifyBaseLogger; fastify only needs the latter.
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID()
    },
    bodyLimit: 64 * 1024,
    // A misspelt query parameter (min-ttl) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // While draining, requests already on an open connection are served, not refused:
    // readiness goes false first so no new traffic is routed here anyway.
    return503OnClosing: false,
    // HEAD /token would obtain and audit a token only to drop it.
    exposeHeadRoutes: false,
    frameworkErrors: handleError,
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  installErrorHandling(app)

  const lwa = new LwaClient({ timeoutMs: config.lwa.timeoutMs, clock, ...(deps.lwaDispatcher ? { dispatcher: deps.lwaDispatcher } : {}) })
  const tokens = new TokenService({ config, secrets: deps.secrets, lwa, clock, logger: deps.logger.child({ component: 'tokens' }) })
  app.decorate('tokens', tokens)
  app.addHook('onClose', async () => tokens.settled())

  const authenticator = new Authenticator(config.issuers, {
    clock,
    cache: { maxEntries: config.auth.verifiedTokenCache.maxEntries, maxAgeMs: config.auth.verifiedTokenCache.maxAgeSeconds * 1000 },
  })
  if (config.mode === 'sidecar') app.addHook('onRequest', refuseProxiedRequests)
  await app.register(healthRoutes(readinessOf(config, deps.secrets, authenticator)))
  await app.register(tokenRoutes({
    authenticator,
    policy: compilePolicy(config.policy),
    rateLimit: config.rateLimit,
    tokens,
    audit: new AuditLog(deps.auditLogger ?? deps.logger.child({ log: 'audit' })),
    clock,
    defaultMinTtlSeconds: config.tokens.defaultMinTtlSeconds,
  }))
  return app
}

/**
 * Ready once every secret a credential names has been read and every issuer's keys have
 * been loaded (config is checked before the app exists). It latches: an upstream that fails
 * later is ridden out on cached secrets and keys, and taking every replica out of the
 * Service then would turn a Secrets Manager blip into an outage.
 */
function readinessOf(config: BrokerConfig, secrets: SecretStore, authenticator: Authenticator): ReadinessCheck {
  const secretIds = [...new Set(Object.values(config.credentials).flatMap((c) => [c.app, c.secret].filter((id): id is string => id !== undefined)))]
  const loaded = { secrets: false, issuers: false }
  return async () => {
    if (!loaded.secrets) loaded.secrets = (await Promise.allSettled(secretIds.map((id) => secrets.get(id)))).every((r) => r.status === 'fulfilled')
    if (!loaded.issuers) loaded.issuers = await authenticator.warm().then(() => true, () => false)
    return { config: 'ok', issuers: loaded.issuers ? 'ok' : 'failing', secrets: loaded.secrets ? 'ok' : 'failing' }
  }
}

/** Headers a proxy adds. A sidecar serves only its own pod, directly over loopback. */
const proxyHeaders = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-real-ip', 'via']

/**
 * Sidecar mode: refuse anything that did not come straight from the pod over loopback, so
 * the broker cannot be used as a confused deputy through a proxy or an SSRF in the app
 * (the AWS Secrets Manager Agent guards its sidecar the same way).
 */
async function refuseProxiedRequests(request: FastifyRequest): Promise<void> {
  const proxied = proxyHeaders.find((h) => request.headers[h] !== undefined)
  const remote = request.socket.remoteAddress ?? ''
  const loopback = remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.')
  if (proxied || !loopback) {
    throw new BrokerError('forbidden', 'sidecar mode serves only direct loopback requests', { logDetail: { reason: proxied ? `proxy header ${proxied}` : 'not loopback' } })
  }
}
