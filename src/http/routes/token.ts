import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../../clock.js'
import type { TokenRequest } from '../../exchange.js'
import type { Services } from '../../services.js'
import type { IssuedToken } from '../../tokens/index.js'
import { getTokenSchema } from '../contract/token.js'
import { callerKey } from '../guards/caller-guard.js'
import { tokenAnswer } from '../token-answer.js'

/** The exchange's request, from what the caller guard learnt of this HTTP request. */
export function tokenRequest(
  request: FastifyRequest,
  credential: string,
  minTtlSeconds: number,
  profile?: string,
): TokenRequest {
  return {
    requestId: request.id,
    caller: request.principal,
    callerError: request.authError,
    callerKey: callerKey(request),
    credential,
    minTtlSeconds,
    profile,
  }
}

export const secondsLeft = (clock: Clock, expiresAtMs: number): number => Math.floor((expiresAtMs - clock.now()) / 1000)

/** GET /token: the broker's own shape, with the headers the target API wants. */
export function registerTokenRoute(app: FastifyInstance, services: Services): void {
  const { exchange, clock, config } = services
  const answer = (reply: FastifyReply, token: IssuedToken, profile: string | undefined): FastifyReply => reply
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(tokenAnswer(token, secondsLeft(clock, token.expiresAtMs), profile))
  app.withTypeProvider<TypeBoxTypeProvider>().get('/token', { schema: getTokenSchema }, (request, reply) => {
    const { credential, min_ttl: minTtl, profile } = request.query
    const exchangeRequest = tokenRequest(request, credential, minTtl ?? config.tokens.defaultMinTtlSeconds, profile)
    // A cached token is answered in this turn: no promise between the guard and the reply.
    const cached = exchange.issueCached(exchangeRequest)
    if (cached) {
      answer(reply, cached, profile)
      return
    }
    return exchange.issue(exchangeRequest).then((token) => answer(reply, token, profile))
  })
}
