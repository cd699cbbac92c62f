import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BrokerError } from '../../errors.js'
import type { TokenRequest } from '../../exchange.js'
import type { Services } from '../../services.js'
import { lwaErrors, type CompatRequest } from '../contract/lwa-compat.js'
import {
  badSubjectToken, grantAnswers, missingSubjectToken, requestCheckAnswers, tokenExchangeGrant, type LwaAnswer,
} from '../contract/lwa-compat-grants.js'
import { errorHeaders, logError } from '../error-reply.js'
import { tokenRequest } from './token.js'

/**
 * One grant of POST /auth/o2/token: the request, its validated body and `ask` (the exchange's request for a
 * credential, with this endpoint's floor and deadline) in, the answer's JSON out (errors thrown).
 */
export type CompatGrant = (request: FastifyRequest, body: CompatRequest, ask: (credential: string) => TokenRequest) =>
  Promise<Record<string, unknown>>

/**
 * The exchange's request for `credential`, waited for until the endpoint's deadline (counted from arrival). LWA's
 * own grants are what SDKs send, and some cache a token for a fixed time: for them the caller's `min_ttl` (or the
 * default) is raised to the endpoint's floor and refreshed ahead of it. A token exchange's client reads
 * `expires_in`, as GET /token's does, and gets what it asked for.
 */
export function compatTokenRequest(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  credential: string,
): TokenRequest {
  const { tokens, lwaCompat } = services.config
  const body = request.body as CompatRequest
  const floor = body.grant_type === tokenExchangeGrant ? 0 : lwaCompat.minRemainingSeconds
  return {
    ...tokenRequest(request, credential, Math.max(body.min_ttl ?? tokens.defaultMinTtlSeconds, floor)),
    deadlineMs: compatTimeLeft(services, reply),
    refreshBelowSeconds: floor > 0 ? floor + lwaCompat.refreshAheadSeconds : 0,
  }
}

/** What is left of `lwaCompat.deadlineMs` for this request, counted from its arrival. */
export const compatTimeLeft = (services: Services, reply: FastifyReply): number =>
  Math.max(1, services.config.lwaCompat.deadlineMs - reply.elapsedTime)

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
  if (grant === tokenExchangeGrant && err.code === 'unauthenticated') {
    return nonEmpty(body.subject_token) ? badSubjectToken : missingSubjectToken
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
