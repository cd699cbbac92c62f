import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BrokerError } from '../../errors.js'
import type { TokenRequest } from '../../exchange.js'
import type { Services } from '../../services.js'
import { lwaErrors, type CompatRequest } from '../contract/lwa-compat.js'
import {
  badSubjectToken, grantAnswers, requestCheckAnswers, tokenExchangeGrant, type LwaAnswer,
} from '../contract/lwa-compat-grants.js'
import { errorHeaders, logError } from '../error-reply.js'
import { tokenRequest } from './token.js'

/** One grant of POST /auth/o2/token: the request and its validated body in, the answer's JSON out (errors thrown). */
export type CompatGrant = (request: FastifyRequest, body: CompatRequest) => Promise<Record<string, unknown>>

/** The exchange's request for `credential`, with the caller's `min_ttl` or the configured default. */
export function compatTokenRequest(
  services: Services,
  request: FastifyRequest,
  body: CompatRequest,
  credential: string,
): TokenRequest {
  return tokenRequest(request, credential, body.min_ttl ?? services.config.tokens.defaultMinTtlSeconds)
}

/**
 * The broker's error in the words of the grant asked for: a request check's own answer, then
 * the grant's (see grantAnswers), then the refresh_token grant's table.
 */
export function lwaAnswerOf(request: FastifyRequest, err: BrokerError): LwaAnswer {
  const body = fieldsOf(request.body)
  const reason = err.logDetail?.reason
  const checked = typeof reason === 'string' ? requestCheckAnswers.get(reason) : undefined
  if (err.code === 'invalid_request' && checked) return checked
  const grant = typeof body.grant_type === 'string' ? body.grant_type : ''
  if (grant === tokenExchangeGrant && err.code === 'unauthenticated' && nonEmpty(body.subject_token)) {
    return badSubjectToken
  }
  return grantAnswers.get(grant)?.[err.code] ?? lwaErrors[err.code]
}

/** The broker's error in LWA's (RFC 6749's) shape; the broker's own code goes to the log under the request id. */
export function sendLwaError(request: FastifyRequest, reply: FastifyReply, err: BrokerError): FastifyReply {
  const answer = lwaAnswerOf(request, err)
  logError(request, err)
  return errorHeaders(request, reply, err).code(answer.status)
    .send({ error: answer.error, error_description: answer.description })
}

/** A parsed body's fields, before validation (the caller guard and error handler see it so). */
export function fieldsOf(body: unknown): Record<string, unknown> {
  return body !== null && typeof body === 'object' ? body as Record<string, unknown> : {}
}

export const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0
