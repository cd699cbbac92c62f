import { randomUUID } from 'node:crypto'
import type { RawRequestDefaultExpression } from 'fastify'

/** A caller-supplied request id is kept only if it is short and plain (it lands in logs). */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/

/** Fastify's genReqId: the caller's X-Request-Id when acceptable, else a fresh UUID. */
export function requestId(req: RawRequestDefaultExpression): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID()
}
