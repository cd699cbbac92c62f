import { randomUUID } from 'node:crypto'
import type { ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { BrokerConfig } from '../config/index.js'
import type { ErrorResponse } from './contract/common.js'

/**
 * How often Node looks for requests past their timeout. Its default (30 s) would let a
 * stalled body live up to twice `requestTimeoutSeconds`; a pass over the open connections
 * each second costs next to nothing.
 */
const timeoutCheckIntervalMs = 1000

export interface ConnectionLimits {
  requestTimeout: number
  keepAliveTimeout: number
  http: ServerOptions
  clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => void
}

/**
 * Fastify options that bound every connection of a listener. Fastify's defaults switch off
 * even Node's own 300 s request timeout, so one client sending headers and then nothing
 * would hold a socket (and a file descriptor) forever.
 */
export function connectionLimits(http: BrokerConfig['http']): ConnectionLimits {
  return {
    requestTimeout: http.requestTimeoutSeconds * 1000,
    keepAliveTimeout: http.keepAliveTimeoutSeconds * 1000,
    http: { headersTimeout: http.headersTimeoutSeconds * 1000, connectionsCheckingInterval: timeoutCheckIntervalMs },
    clientErrorHandler: answerClientError,
  }
}

/** A timed-out or unparsable request, answered before routing: in the broker's error shape, then closed. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
  const body: ErrorResponse = timedOut
    ? { error: 'request_timeout', message: 'the request did not arrive in time', request_id: randomUUID() }
    : { error: 'invalid_request', message: 'the request is not valid HTTP', request_id: randomUUID() }
  const text = JSON.stringify(body)
  const status = timedOut ? '408 Request Timeout' : '400 Bad Request'
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n`
      + `X-Request-Id: ${body.request_id}\r\nConnection: close\r\n`
      + `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
  }
  socket.destroy()
}
