import type { FastifyPluginAsync } from 'fastify'
import { mayGetCredential, type Authenticator, type CompiledRule, type Principal } from '../auth/index.js'
import type { Clock } from '../clock.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { AuditLog } from '../observability/audit.js'
import type { TokenService } from '../tokens/index.js'
import { ErrorResponse, TokenQuery, TokenResponse } from './schemas.js'

export interface TokenRouteDeps {
  authenticator: Authenticator
  policy: readonly CompiledRule[]
  tokens: TokenService
  audit: AuditLog
  clock: Clock
  defaultMinTtlSeconds: number
}

/**
 * GET /token: authenticate -> authorise -> cached token -> respond. The policy check comes
 * before the existence check, so a caller learns whether a credential exists only for
 * names it would be allowed to use.
 */
export function tokenRoutes(deps: TokenRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: TokenQuery }>('/token', {
      schema: {
        querystring: TokenQuery,
        response: { 200: TokenResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    }, async (request, reply) => {
      const credential = request.query.credential
      const ctx: { requestId: string; principal: Principal | undefined; credential: string } = { requestId: request.id, principal: undefined, credential }
      try {
        ctx.principal = await deps.authenticator.authenticate(request.headers.authorization)
        if (!mayGetCredential(deps.policy, ctx.principal, credential).allowed) {
          throw new BrokerError('forbidden', `caller ${ctx.principal.subject} may not use credential ${credential}`)
        }
        const token = await deps.tokens.getToken(credential, request.query.min_ttl ?? deps.defaultMinTtlSeconds)
        deps.audit.issued(ctx, token)
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
        if (isBrokerError(err)) deps.audit.denied(ctx, err.code, typeof err.logDetail?.reason === 'string' ? err.logDetail.reason : undefined)
        throw err
      }
    })
  }
}
