import type { FastifyInstance } from 'fastify'
import { mayGetCredential, type CompiledRule } from '../auth/index.js'
import type { Clock } from '../clock.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { AuditLog } from '../observability/audit.js'
import type { Metrics } from '../observability/metrics.js'
import type { TokenService } from '../tokens/index.js'
import { auditContext, requireCaller } from './caller-guard.js'
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
 * GET /token: (authenticated and rate-limited by the caller guard) -> authorise -> cached
 * token -> respond. The policy check comes before the existence check, so a caller learns
 * whether a credential exists only for names it would be allowed to use.
 */
export function registerTokenRoute(app: FastifyInstance, deps: TokenRouteDeps): void {
  // Only configured names become metric labels: the query is caller-controlled text.
  const label = (credential: string): string => (deps.tokens.has(credential) ? credential : '(unknown)')

  app.get<{ Querystring: TokenQuery }>('/token', {
    schema: {
      querystring: TokenQuery,
      response: { 200: TokenResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
    },
  }, async (request, reply) => {
    const credential = request.query.credential
    try {
      const caller = requireCaller(request)
      if (!mayGetCredential(deps.policy, caller, credential).allowed) {
        throw new BrokerError('forbidden', `caller ${caller.subject} may not use credential ${credential}`)
      }
      const token = await deps.tokens.getToken(credential, request.query.min_ttl ?? deps.defaultMinTtlSeconds)
      deps.audit.issued(auditContext(request, credential), token)
      deps.metrics.tokensIssued.inc({ credential, outcome: 'issued' })
      const body: TokenResponse = {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_in: Math.floor((token.expiresAtMs - deps.clock.now()) / 1000),
        expires_at: new Date(token.expiresAtMs).toISOString(),
        credential,
        api: token.config.api,
        region: token.config.region,
        headers: token.headers,
      }
      return reply.header('cache-control', 'no-store').send(body)
    } catch (err) {
      const code = isBrokerError(err) ? err.code : 'internal_error'
      deps.audit.denied(auditContext(request, credential), code, isBrokerError(err) && typeof err.logDetail?.reason === 'string' ? err.logDetail.reason : undefined)
      deps.metrics.tokensIssued.inc({ credential: label(credential), outcome: code })
      throw err
    }
  })
}
