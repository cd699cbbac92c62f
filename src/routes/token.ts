import type { FastifyInstance, FastifyRequest } from 'fastify'
import { mayGetCredential, type CompiledRule } from '../auth/index.js'
import type { Clock } from '../clock.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { AuditLog } from '../observability/audit.js'
import type { Metrics } from '../observability/metrics.js'
import type { IssuedToken, TokenService } from '../tokens/index.js'
import { auditContext, callerKey, requireCaller } from './caller-guard.js'
import { ErrorResponse, TokenQuery, TokenResponse } from './schemas.js'

export interface TokenRouteDeps {
  policy: readonly CompiledRule[]
  tokens: TokenService
  audit: AuditLog
  metrics: Metrics
  clock: Clock
  defaultMinTtlSeconds: number
}

/**
 * The one way a token is handed out, whatever the route's wire shape: the caller (already
 * authenticated and rate-limited by the guard) must be allowed the credential by policy,
 * then the cache answers; every outcome is audited and counted. The policy check comes
 * before the existence check, so a caller learns whether a credential exists only for
 * names it would be allowed to use.
 */
export async function issueToken(deps: TokenRouteDeps, request: FastifyRequest, credential: string, minTtlSeconds: number): Promise<IssuedToken> {
  let allowed = false
  try {
    const caller = requireCaller(request)
    allowed = mayGetCredential(deps.policy, caller, credential).allowed
    if (!allowed) throw new BrokerError('forbidden', `caller ${caller.subject} may not use credential ${credential}`)
    const token = await deps.tokens.getToken(credential, minTtlSeconds)
    deps.audit.issued(auditContext(request, credential), token)
    deps.metrics.tokensIssued.inc({ credential, outcome: 'issued' })
    return token
  } catch (err) {
    const code = isBrokerError(err) ? err.code : 'internal_error'
    const ctx = auditContext(request, credential)
    if (code === 'rate_limited') deps.audit.rateLimited(ctx, callerKey(request))
    else deps.audit.denied(ctx, code, isBrokerError(err) && typeof err.logDetail?.reason === 'string' ? err.logDetail.reason : undefined)
    // A label is a configured name the caller may use: never text the caller chose, and never
    // a name it was denied (a metric must not tell anyone which names exist).
    const label = !allowed ? '(denied)' : deps.tokens.has(credential) ? credential : '(unknown)'
    deps.metrics.tokensIssued.inc({ credential: label, outcome: code })
    throw err
  }
}

/** GET /token: the broker's own shape, with the headers the target API wants. */
export function registerTokenRoute(app: FastifyInstance, deps: TokenRouteDeps): void {
  app.get<{ Querystring: TokenQuery }>('/token', {
    schema: {
      querystring: TokenQuery,
      response: { 200: TokenResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
    },
  }, async (request, reply) => {
    const { credential, min_ttl: minTtl } = request.query
    const token = await issueToken(deps, request, credential, minTtl ?? deps.defaultMinTtlSeconds)
    const body: TokenResponse = {
      access_token: token.accessToken,
      token_type: token.tokenType,
      expires_in: secondsLeft(deps.clock, token.expiresAtMs),
      expires_at: new Date(token.expiresAtMs).toISOString(),
      credential,
      api: token.config.api,
      region: token.config.region,
      headers: token.headers,
    }
    return reply.header('cache-control', 'no-store').send(body)
  })
}

export const secondsLeft = (clock: Clock, expiresAtMs: number): number => Math.floor((expiresAtMs - clock.now()) / 1000)
