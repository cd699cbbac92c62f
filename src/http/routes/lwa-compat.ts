import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { credentialNamePattern } from '../../config/schema.js'
import { BrokerError } from '../../errors.js'
import type { Services } from '../../services.js'
import { lwaErrors, lwaTokenSchema, unsupportedGrant } from '../contract/lwa-compat.js'
import { asBrokerError, errorHeaders, logError } from '../error-reply.js'
import { secondsLeft, tokenRequest } from './token.js'

export const lwaTokenPath = '/auth/o2/token'
const credentialName = new RegExp(credentialNamePattern)

/**
 * POST /auth/o2/token: LWA's own endpoint shape, so an unmodified SDK uses the broker by
 * changing one URL. The caller's JWT is its `client_secret` (or a Bearer header); its
 * `refresh_token` is the name of a broker credential. The answer is LWA's, with the cached
 * token. The same exchange as GET /token.
 */
export function lwaCompatRoutes(services: Services): FastifyPluginAsync {
  const { exchange, clock, config } = services
  return async (app) => {
    await app.register(formbody, { bodyLimit: 16 * 1024 })
    app.setErrorHandler((err: FastifyError, request, reply) => sendLwaError(request, reply, asBrokerError(err)))
    const typed = app.withTypeProvider<TypeBoxTypeProvider>()
    typed.post(lwaTokenPath, { schema: lwaTokenSchema }, async (request, reply) => {
      const { grant_type: grantType, refresh_token: credential } = request.body
      if (grantType !== 'refresh_token') {
        const unsupported = new BrokerError('invalid_request', 'only grant_type=refresh_token is served')
        return sendLwaError(request, reply, unsupported, unsupportedGrant)
      }
      if (!credential || !credentialName.test(credential)) {
        throw new BrokerError('invalid_request', 'refresh_token must name a broker credential')
      }
      const token = await exchange.issue(tokenRequest(request, credential, config.tokens.defaultMinTtlSeconds))
      return reply.header('cache-control', 'no-store').send({
        access_token: token.accessToken,
        refresh_token: credential,
        token_type: token.tokenType,
        expires_in: secondsLeft(clock, token.expiresAtMs),
      })
    })
  }
}

/**
 * LWA clients authenticate with client_secret in the body: here that is the caller's JWT. A
 * Bearer header takes precedence; any other Authorization scheme (an SDK's Basic client
 * authentication) is not a JWT and does not hide the body's.
 */
export function compatCredential(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined && /^Bearer /i.test(header)) return header
  const body = request.body
  const secret = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).client_secret : undefined
  return typeof secret === 'string' && secret.length > 0 ? `Bearer ${secret}` : header
}

/** The broker's error in LWA's words; the broker's own code goes to the log under the request id. */
function sendLwaError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: BrokerError,
  override?: { error: string; description: string },
): FastifyReply {
  const shape = lwaErrors[err.code]
  logError(request, err)
  return errorHeaders(request, reply, err).code(shape.status)
    .send({ error: override?.error ?? shape.error, error_description: override?.description ?? shape.description })
}
