import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { aggregateLimitOf, rateLimitOf, type Principal } from '../../auth/index.js'
import type { Services } from '../../services.js'
import { BrokerError, isBrokerError } from '../../errors.js'
import { flat } from '../../strings.js'
import { withinDeadline } from '../../tokens/deadline.js'
import { FixedWindows } from './fixed-windows.js'
import { guardedRedisStore } from './rate-limit-store.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, once the guard has run. */
    principal: Principal | undefined
    /** Why the caller could not be authenticated; raised by the route after rate limiting. */
    authError: BrokerError | undefined
  }
}

/** What the guard takes from the core. */
export type CallerGuardDeps = Pick<
  Services,
  'authenticator' | 'policy' | 'audit' | 'metrics' | 'clock' | 'config' | 'rateLimitRedis'
>

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
  /**
   * How long a JWT not verified before may take (fetching its issuer's keys included), from now; then the request
   * has `upstream_unavailable` as its authError, while the fetch goes on for the next one. Undefined: no limit here.
   */
  deadlineMs?: (request: FastifyRequest, reply: FastifyReply) => number | undefined
}

const headerCredentials: GuardOptions = { hook: 'onRequest', authorization: (request) => request.headers.authorization }

export async function guardCallers(
  app: FastifyInstance,
  deps: CallerGuardDeps,
  options: GuardOptions = headerCredentials,
): Promise<void> {
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authError', undefined)
  const windowMs = deps.config.rateLimit.timeWindowSeconds * 1000
  authenticateCallers(app, deps, options, windowMs)
  await limitCallers(app, deps, windowMs)
  limitRules(app, deps, windowMs)
}

function authenticateCallers(
  app: FastifyInstance,
  deps: CallerGuardDeps,
  options: GuardOptions,
  windowMs: number,
): void {
  const limits = deps.config.rateLimit
  const verifications = new FixedWindows(windowMs, limits.trackedCallers, () => deps.clock.now())
  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // A token not verified before costs a signature check: the address pays for it first.
    const beforeVerify = (): void => {
      const { ok, retryAfterMs } = verifications.take(addressKey(request), limits.verificationsPerAddress)
      if (!ok) throw rateLimited(Math.ceil(retryAfterMs / 1000), 'verifications_per_address')
    }
    try {
      const verifying = deps.authenticator.authenticate(options.authorization(request), beforeVerify)
      const ms = options.deadlineMs?.(request, reply)
      request.principal = await (ms === undefined ? verifying : withinDeadline(verifying, ms, () => new BrokerError(
        'upstream_unavailable', `the caller's JWT could not be verified within ${ms} ms: its issuer's keys are slow`,
        { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) },
      )))
    } catch (err) {
      if (!isBrokerError(err)) throw err
      request.authError = err
      if (err.code === 'unauthenticated') deps.metrics.jwtFailure(String(err.logDetail?.reason ?? 'unknown'))
    }
  }
  // A callback hook: a caller whose JWT was verified before is known without a promise.
  app.addHook(options.hook, (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const known = deps.authenticator.known(options.authorization(request))
    if (known) {
      request.principal = known
      done()
      return
    }
    authenticate(request, reply).then(() => done(), done)
  })
}

/** A caller's requests per window. Read per request: a config reload may change the limits (not the window). */
const callerMax = (deps: CallerGuardDeps, request: FastifyRequest): number => (request.principal
  ? rateLimitOf(deps.policy, request.principal) ?? deps.config.rateLimit.max
  : deps.config.rateLimit.unauthenticatedMax)

/**
 * Counts each caller's requests. With Redis the count holds across replicas: @fastify/rate-limit over the guarded
 * store, and if Redis fails, requests pass rather than fail. Without it the count is this replica's own, answered in
 * the request's turn: the plugin's hook awaits the key, the limit and the store on every request, which a warm
 * GET /token felt (see BENCHMARKS.md). The plugin is registered either way, for the rules' shared limits.
 */
async function limitCallers(app: FastifyInstance, deps: CallerGuardDeps, windowMs: number): Promise<void> {
  const shared = deps.rateLimitRedis
  await app.register(rateLimit, {
    global: shared !== undefined,
    hook: 'preHandler',
    ...(shared ? { store: guardedRedisStore(shared), skipOnError: true } : {}),
    timeWindow: windowMs,
    keyGenerator: callerKey,
    max: (request) => callerMax(deps, request),
    errorResponseBuilder: (request, context) => refuse(deps, request, context.ttl),
  })
  if (shared) return
  const windows = new FixedWindows(windowMs, deps.config.rateLimit.trackedCallers, () => deps.clock.now())
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const max = callerMax(deps, request)
    const { ok, remaining, retryAfterMs } = windows.take(callerKey(request), max, request.principal?.memo)
    // The plugin's headers: a caller sees the same answers with Redis or without.
    reply.header('x-ratelimit-limit', max)
      .header('x-ratelimit-remaining', remaining)
      .header('x-ratelimit-reset', Math.ceil(retryAfterMs / 1000))
    done(ok ? undefined : refuse(deps, request, retryAfterMs))
  })
}

/** A caller over its limit: audited, and answered `rate_limited` with when to come back. */
function refuse(deps: CallerGuardDeps, request: FastifyRequest, retryAfterMs: number): BrokerError {
  deps.audit.rateLimited(auditContext(request), callerKey(request))
  return rateLimited(Math.max(1, Math.ceil(retryAfterMs / 1000)))
}

/**
 * A rule's `aggregateMax`: every caller the rule admits shares one budget, so minting new
 * subjects under a glob buys no new requests.
 */
function limitRules(app: FastifyInstance, deps: CallerGuardDeps, windowMs: number): void {
  if (!deps.policy.some((r) => r.aggregateMax !== undefined)) return
  const ruleKey = (request: FastifyRequest): string =>
    `rule:${request.principal && aggregateLimitOf(deps.policy, request.principal)?.rule}`
  const limit = app.createRateLimit({
    timeWindow: windowMs,
    keyGenerator: ruleKey,
    max: (request) =>
      (request.principal && aggregateLimitOf(deps.policy, request.principal)?.max) || Number.MAX_SAFE_INTEGER,
  })
  app.addHook('preHandler', async (request) => {
    if (!request.principal || !aggregateLimitOf(deps.policy, request.principal)) return
    const result = await limit(request)
    if (!result.isAllowed && result.isExceeded) {
      deps.audit.rateLimited(auditContext(request), ruleKey(request))
      throw rateLimited(Math.max(1, result.ttlInSeconds), 'rule_aggregate')
    }
  })
}

/** In a verified caller's memo, made once: the limiter's cache then hashes the same string on every request. */
const limitKey = Symbol('rate-limit key')

/** Whom a limit counts: the verified caller, else the address (an IPv6 /64 as one, as the plugin groups them). */
export function callerKey(request: FastifyRequest): string {
  const principal = request.principal
  if (!principal) return `addr:${normalizeIP(request.ip)}`
  let key = principal.memo[limitKey] as string | undefined
  if (key === undefined) principal.memo[limitKey] = key = flat(['caller:', principal.issuer, ' ', principal.subject])
  return key
}

const addressKey = (request: FastifyRequest): string => normalizeIP(request.ip)

function rateLimited(retryAfterSeconds: number, reason?: string): BrokerError {
  return new BrokerError('rate_limited', `too many requests; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    ...(reason ? { logDetail: { reason } } : {}),
  })
}

/** The verified caller, or the reason there is none. */
export function requireCaller(request: FastifyRequest): Principal {
  if (request.principal) return request.principal
  throw request.authError ?? new BrokerError('unauthenticated', 'missing or invalid bearer token')
}

export function auditContext(
  request: FastifyRequest,
  credential?: string,
): { requestId: string; principal: Principal | undefined; credential: string | undefined } {
  const query = request.query as { credential?: unknown } | undefined
  return {
    requestId: request.id,
    principal: request.principal,
    credential: credential ?? (typeof query?.credential === 'string' ? query.credential : undefined),
  }
}
