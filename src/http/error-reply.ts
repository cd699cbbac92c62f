import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BrokerError, isBrokerError } from '../errors.js'
import { httpStatus } from './status.js'

/**
 * Every error of the JSON routes leaves as `{error, message, request_id}` with a stable code.
 * Fastify's own client errors (validation, bad content type, too large) become
 * `invalid_request`; anything else is a bug: logged in full, answered as a bare `internal_error`.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]?.slice(0, 200) ?? ''
    sendError(request, reply, new BrokerError('not_found', `no route ${request.method} ${path}`))
  })
}

/** Also Fastify's `frameworkErrors` hook: a bad URL is rejected before routing, outside setErrorHandler. */
export function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, asBrokerError(err))
}

/**
 * Any error as one of ours: BrokerErrors as they are, Fastify's client errors as
 * `invalid_request`, anything else a bug (`internal_error`, the original kept as the cause
 * for the log). Every route's error answer, whatever its wire shape, starts from this.
 */
export function asBrokerError(err: unknown): BrokerError {
  if (isBrokerError(err)) return err
  const fastifyError = err as FastifyError
  if (fastifyError.validation) {
    const first = fastifyError.validation[0]
    const context = fastifyError.validationContext ?? 'request'
    const message = `${context} ${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`
    return new BrokerError('invalid_request', message.replace(/\s+/g, ' '))
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new BrokerError(
      'invalid_request',
      fastifyError.code ? `request rejected (${fastifyError.code})` : 'request rejected',
    )
  }
  return new BrokerError('internal_error', 'internal error', { cause: err })
}

/**
 * A bug is an error with its cause (the stack stays in the log), upstream trouble a warning, a caller's mistake with
 * detail info.
 */
export function logError(request: FastifyRequest, err: BrokerError): void {
  if (err.code === 'internal_error') {
    request.log.error({ err: err.cause ?? err }, 'unhandled error')
  } else if (httpStatus[err.code] >= 500) {
    request.log.warn({ error: err.code, ...err.logDetail }, err.message)
  } else if (err.logDetail) {
    request.log.info({ error: err.code, ...err.logDetail }, err.message)
  }
}

/** The headers every error answer carries, whatever its body's shape. */
export function errorHeaders(request: FastifyRequest, reply: FastifyReply, err: BrokerError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
  // Set here too: errors from before routing (frameworkErrors) skip the onSend hook.
  return reply.header('cache-control', 'no-store').header('x-request-id', request.id)
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: BrokerError): FastifyReply {
  logError(request, err)
  errorHeaders(request, reply, err)
  if (err.code === 'unauthenticated') {
    reply.header('www-authenticate', 'Bearer realm="lwa-broker", error="invalid_token"')
  }
  return reply.code(httpStatus[err.code]).send({ error: err.code, message: err.message, request_id: request.id })
}
