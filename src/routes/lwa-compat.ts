import formbody from '@fastify/formbody'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import { credentialNamePattern } from '../config/schema.js'
import { BrokerError, type ErrorCode } from '../errors.js'
import { asBrokerError, logError } from './error-handler.js'
import { issueToken, secondsLeft, type TokenRouteDeps } from './token.js'

/** The LWA token request as SDKs send it (form or JSON); `refresh_token` names a broker credential. */
const CompatRequest = Type.Object({
  grant_type: Type.String(),
  refresh_token: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  client_secret: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
})
type CompatRequest = Static<typeof CompatRequest>

const CompatToken = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.String(),
  expires_in: Type.Integer(),
})

const LwaErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() })

/**
 * Our errors in LWA's words (LWA.md). A caller that may not use a credential learns the
 * same as one naming a credential that does not exist: `invalid_grant`.
 */
const lwaErrors: Record<ErrorCode, { status: number; error: string; description: string }> = {
  invalid_request: { status: 400, error: 'invalid_request', description: 'The request is missing a required parameter or is otherwise malformed' },
  unauthenticated: { status: 401, error: 'invalid_client', description: 'Client authentication failed' },
  forbidden: { status: 400, error: 'invalid_grant', description: 'The request has an invalid grant parameter : refresh_token' },
  unknown_credential: { status: 400, error: 'invalid_grant', description: 'The request has an invalid grant parameter : refresh_token' },
  credential_rejected: { status: 400, error: 'invalid_grant', description: 'The credential was refused by Login with Amazon' },
  not_found: { status: 404, error: 'invalid_request', description: 'Not found' },
  request_timeout: { status: 408, error: 'invalid_request', description: 'The request did not arrive in time' },
  rate_limited: { status: 429, error: 'temporarily_unavailable', description: 'Too many requests' },
  upstream_unavailable: { status: 503, error: 'temporarily_unavailable', description: 'Login with Amazon is unavailable; retry later' },
  credential_misconfigured: { status: 500, error: 'server_error', description: 'The credential is misconfigured in the broker' },
  internal_error: { status: 500, error: 'server_error', description: 'Internal error' },
}

/**
 * POST /auth/o2/token: LWA's own endpoint shape, so an unmodified SDK uses the broker by
 * changing one URL. The caller's JWT is its `client_secret` (or a Bearer header); its
 * `refresh_token` is the name of a broker credential. The answer is LWA's, with the cached
 * token. Same guard, policy, cache, audit and metrics as GET /token.
 */
export function lwaCompatRoutes(deps: TokenRouteDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(formbody, { bodyLimit: 16 * 1024 })
    app.setErrorHandler((err: FastifyError, request, reply) => sendLwaError(request, reply, asBrokerError(err)))
    app.post<{ Body: CompatRequest }>(lwaTokenPath, {
      schema: { body: CompatRequest, response: { 200: CompatToken, '4xx': LwaErrorBody, '5xx': LwaErrorBody } },
    }, async (request, reply) => {
      const { grant_type: grantType, refresh_token: credential } = request.body
      if (grantType !== 'refresh_token') {
        return sendLwaError(request, reply, new BrokerError('invalid_request', 'only grant_type=refresh_token is served'), { error: 'unsupported_grant_type', description: 'The authorization grant type is not supported: the broker serves refresh_token' })
      }
      if (!credential || !new RegExp(credentialNamePattern).test(credential)) {
        throw new BrokerError('invalid_request', 'refresh_token must name a broker credential')
      }
      const token = await issueToken(deps, request, credential, deps.defaultMinTtlSeconds)
      return reply.header('cache-control', 'no-store').send({
        access_token: token.accessToken,
        refresh_token: credential,
        token_type: token.tokenType,
        expires_in: secondsLeft(deps.clock, token.expiresAtMs),
      })
    })
  }
}

export const lwaTokenPath = '/auth/o2/token'

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

function sendLwaError(request: FastifyRequest, reply: FastifyReply, err: BrokerError, override?: { error: string; description: string }): FastifyReply {
  const shape = lwaErrors[err.code]
  logError(request, err)
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
  return reply.code(shape.status).header('cache-control', 'no-store').header('x-request-id', request.id)
    .send({ error: override?.error ?? shape.error, error_description: override?.description ?? shape.description })
}
