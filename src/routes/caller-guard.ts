import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { rateLimitOf, type Authenticator, type CompiledRule, type Principal } from '../auth/index.js'
import type { BrokerConfig } from '../config/index.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { AuditLog } from '../observability/audit.js'
import type { BrokerEvents } from '../observability/events.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, once the guard has run. */
    principal: Principal | undefined
    /** Why the caller could not be authenticated; raised by the route after rate limiting. */
    authError: BrokerError | undefined
  }
}

export interface CallerGuardDeps {
  authenticator: Authenticator
  policy: readonly CompiledRule[]
  rateLimit: BrokerConfig['rateLimit']
  /** Counters shared by all replicas (an ioredis client); absent: per replica. */
  rateLimitRedis?: unknown
  audit: AuditLog
  events: BrokerEvents
}

/**
 * Authenticates the caller of every route in this scope, then rate-limits it: by caller
 * (issuer + subject) once authenticated, by address when not, so a flood of bad tokens is
 * throttled too. Authentication errors are held until after the limit, then raised by
 * `requireCaller`.
 */
export interface GuardOptions {
  /** When to authenticate: at once for header credentials, after body parsing for body ones. */
  hook: 'onRequest' | 'preValidation'
  /** The request's credential in Authorization-header form (`Bearer <JWT>`). */
  authorization: (request: FastifyRequest) => string | undefined
}

const headerCredentials: GuardOptions = { hook: 'onRequest', authorization: (request) => request.headers.authorization }

export async function guardCallers(app: FastifyInstance, deps: CallerGuardDeps, options: GuardOptions = headerCredentials): Promise<void> {
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authError', undefined)
  app.addHook(options.hook, async (request: FastifyRequest) => {
    try {
      request.principal = await deps.authenticator.authenticate(options.authorization(request))
    } catch (err) {
      if (!isBrokerError(err)) throw err
      request.authError = err
      if (err.code === 'unauthenticated') deps.events.jwtFailure(String(err.logDetail?.reason ?? 'unknown'))
    }
  })
  const limits = deps.rateLimit
  await app.register(rateLimit, {
    hook: 'preHandler',
    // The plugin's default of 5,000 keys would evict busy callers' counts at scale.
    cache: limits.trackedCallers,
    // With Redis the limit holds across replicas; if Redis fails, requests pass rather than fail.
    ...(deps.rateLimitRedis ? { redis: deps.rateLimitRedis, skipOnError: true } : {}),
    timeWindow: limits.timeWindowSeconds * 1000,
    keyGenerator: (request) => (request.principal ? `caller:${request.principal.issuer} ${request.principal.subject}` : `addr:${request.ip}`),
    max: (request) => (request.principal ? rateLimitOf(deps.policy, request.principal) ?? limits.max : limits.unauthenticatedMax),
    errorResponseBuilder: (request, context) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000))
      deps.audit.denied(auditContext(request), 'rate_limited')
      return new BrokerError('rate_limited', `too many requests; retry in ${retryAfterSeconds} s`, { retryAfterSeconds })
    },
  })
}

/** The verified caller, or the reason there is none. */
export function requireCaller(request: FastifyRequest): Principal {
  if (request.principal) return request.principal
  throw request.authError ?? new BrokerError('unauthenticated', 'missing or invalid bearer token')
}

export function auditContext(request: FastifyRequest, credential?: string): { requestId: string; principal: Principal | undefined; credential: string | undefined } {
  const query = request.query as { credential?: unknown } | undefined
  return { requestId: request.id, principal: request.principal, credential: credential ?? (typeof query?.credential === 'string' ? query.credential : undefined) }
}
