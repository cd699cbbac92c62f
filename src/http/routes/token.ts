import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Clock } from '../../clock.js'
import type { TokenRequest } from '../../exchange.js'
import type { Services } from '../../services.js'
import type { IssuedToken } from '../../tokens/index.js'
import { getTokenSchema, type TokenResponse } from '../contract/token.js'
import { callerKey } from '../guards/caller-guard.js'

/** The exchange's request, from what the caller guard learnt of this HTTP request. */
export function tokenRequest(request: FastifyRequest, credential: string, minTtlSeconds: number): TokenRequest {
  return {
    requestId: request.id,
    caller: request.principal,
    callerError: request.authError,
    callerKey: callerKey(request),
    credential,
    minTtlSeconds,
  }
}

export const secondsLeft = (clock: Clock, expiresAtMs: number): number => Math.floor((expiresAtMs - clock.now()) / 1000)

/**
 * A token's answer differs between requests only in `expires_in`, so the JSON around it is made
 * once per token (JSON.stringify escapes it) rather than serialised on every request.
 */
const answers = new WeakMap<IssuedToken, { head: string; tail: string }>()

function answerOf(token: IssuedToken): { head: string; tail: string } {
  let answer = answers.get(token)
  if (!answer) {
    const head: Pick<TokenResponse, 'access_token' | 'token_type'> = {
      access_token: token.accessToken,
      token_type: token.tokenType,
    }
    const tail: Omit<TokenResponse, 'access_token' | 'token_type' | 'expires_in'> = {
      expires_at: token.expiresAt,
      credential: token.credential,
      api: token.config.api,
      region: token.config.region,
      headers: token.headers,
    }
    answer = { head: `${JSON.stringify(head).slice(0, -1)},"expires_in":`, tail: `,${JSON.stringify(tail).slice(1)}` }
    answers.set(token, answer)
  }
  return answer
}

/** GET /token: the broker's own shape, with the headers the target API wants. */
export function registerTokenRoute(app: FastifyInstance, services: Services): void {
  const { exchange, clock, config } = services
  app.withTypeProvider<TypeBoxTypeProvider>().get('/token', { schema: getTokenSchema }, async (request, reply) => {
    const { credential, min_ttl: minTtl } = request.query
    const token = await exchange.issue(tokenRequest(request, credential, minTtl ?? config.tokens.defaultMinTtlSeconds))
    const { head, tail } = answerOf(token)
    return reply
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(head + secondsLeft(clock, token.expiresAtMs) + tail)
  })
}
