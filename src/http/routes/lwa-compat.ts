import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { credentialNamePattern } from '../../config/schema.js'
import { BrokerError } from '../../errors.js'
import type { Services } from '../../services.js'
import { lwaTokenSchema } from '../contract/lwa-compat.js'
import {
  clientCredentialsGrant, refreshTokenGrant, tokenExchangeGrant as tokenExchange,
} from '../contract/lwa-compat-grants.js'
import { asBrokerError } from '../error-reply.js'
import { compatTokenRequest, fieldsOf, nonEmpty, sendLwaError, type CompatGrant } from './compat-grant.js'
import type { TokenRequest } from '../../exchange.js'
import { grantlessGrant } from './compat-grantless.js'
import { tokenExchangeGrant } from './compat-token-exchange.js'
import { secondsLeft } from './token.js'

export const lwaTokenPath = '/auth/o2/token'
const credentialName = new RegExp(credentialNamePattern)

/**
 * POST /auth/o2/token: LWA's own endpoint shape, so an unmodified SDK uses the broker by
 * changing one URL; also RFC 8693's token exchange, for generic STS clients. Each grant is a
 * module; every one issues through the same exchange as GET /token, and answers errors in
 * LWA's (RFC 6749's) words.
 */
export function lwaCompatRoutes(services: Services): FastifyPluginAsync {
  // A Map: grant_type is caller text, and must never find an object's inherited keys.
  const grants = new Map<string, CompatGrant>([
    [refreshTokenGrant, refreshGrant(services)],
    [clientCredentialsGrant, grantlessGrant(services)],
    [tokenExchange, tokenExchangeGrant(services)],
  ])
  return async (app) => {
    await app.register(formbody, { bodyLimit: 16 * 1024 })
    app.setErrorHandler((err: FastifyError, request, reply) => sendLwaError(request, reply, asBrokerError(err)))
    const typed = app.withTypeProvider<TypeBoxTypeProvider>()
    typed.post(lwaTokenPath, { schema: lwaTokenSchema }, async (request, reply) => {
      const grant = grants.get(request.body.grant_type)
      if (!grant) {
        throw new BrokerError('invalid_request', 'grant_type is not one the broker serves', {
          logDetail: { reason: 'unsupported_grant_type' },
        })
      }
      const ask = (credential: string): TokenRequest => compatTokenRequest(services, request, reply, credential)
      const answer = await grant(request, request.body, ask)
      return reply.header('cache-control', 'no-store').send(answer)
    })
  }
}

/** `refresh_token` names a broker credential; the answer echoes it, never a real refresh token. */
function refreshGrant(services: Services): CompatGrant {
  return async (_request, body, ask) => {
    const credential = body.refresh_token
    if (!credential || !credentialName.test(credential)) {
      throw new BrokerError('invalid_request', 'refresh_token must name a broker credential')
    }
    const token = await services.exchange.issue(ask(credential))
    return {
      access_token: token.accessToken,
      refresh_token: credential,
      token_type: token.tokenType,
      expires_in: secondsLeft(services.clock, token.expiresAtMs),
    }
  }
}

/**
 * Where the caller's JWT is. A token exchange's is its `subject_token`, and only that: the
 * JWT is the subject being exchanged. The LWA grants authenticate with `client_secret`, so
 * there it is the JWT; a Bearer header takes precedence; any other Authorization scheme (an
 * SDK's Basic client authentication) is not a JWT and does not hide the body's.
 */
export function compatCredential(request: FastifyRequest): string | undefined {
  const body = fieldsOf(request.body)
  if (body.grant_type === tokenExchange) {
    return nonEmpty(body.subject_token) ? `Bearer ${body.subject_token}` : undefined
  }
  const header = request.headers.authorization
  if (header !== undefined && /^Bearer /i.test(header)) return header
  return nonEmpty(body.client_secret) ? `Bearer ${body.client_secret}` : header
}
