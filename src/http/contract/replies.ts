import { Type, type TSchema } from 'typebox'
import type { ErrorCode } from '../../errors.js'
import { httpStatus } from '../status.js'
import {
  bearerChallengeHeader,
  noStoreHeader,
  pageSecurityHeader,
  requestIdHeader,
  retryAfterHeader,
  type HeaderSpec,
} from './headers.js'

/**
 * Route response schemas that are also the contract: Fastify serialises by them, and
 * @fastify/swagger writes them into openapi.yaml with their descriptions, headers and
 * examples. A reply's `headers` and `x-examples` are for the document only.
 */
export interface Example {
  summary?: string
  value: unknown
}

export interface ReplyOptions {
  headers?: Record<string, HeaderSpec>
  examples?: Record<string, Example>
}

/** A JSON answer: `schema` (a TypeBox object), what it means, and its headers beyond X-Request-Id. */
export function jsonReply(schema: TSchema, description: string, options: ReplyOptions = {}): Record<string, unknown> {
  return {
    ...schema,
    description,
    headers: { ...options.headers, ...requestIdHeader },
    ...(options.examples ? { 'x-examples': options.examples } : {}),
  }
}

/** An HTML page for a person (the onboarding flow). */
export function pageReply(
  description: string,
  example: string,
  headers: Record<string, HeaderSpec> = {},
): Record<string, unknown> {
  return {
    description,
    headers: { ...headers, ...pageSecurityHeader, ...noStoreHeader, ...requestIdHeader },
    content: { 'text/html': { schema: { type: 'string', examples: [example] } } },
  }
}

/** A redirect with no body. */
export function redirectReply(description: string, headers: Record<string, HeaderSpec>): Record<string, unknown> {
  return { description, type: 'null', headers: { ...headers, ...noStoreHeader, ...requestIdHeader } }
}

/** `{error, message, request_id}` with the codes a route answers under one status. */
export function errorSchema(codes: readonly ErrorCode[]): TSchema {
  return Type.Object({
    error: Type.Enum(codes, { description: 'The stable error code: branch on it, never on `message`.' }),
    message: Type.String({ description: 'For a person; may change. Never a secret, a token or another tenant\'s id.' }),
    request_id: Type.String({ description: 'The id the broker logged this request under.' }),
  }, { additionalProperties: false, title: 'ErrorResponse' })
}

export interface ErrorSpec {
  codes: readonly ErrorCode[]
  description: string
  examples?: Record<string, Example>
}

/** The error answers of a route, by status; each status's codes must be codes of that status. */
export function errorReplies(specs: readonly ErrorSpec[]): Record<number, Record<string, unknown>> {
  const byStatus: Record<number, Record<string, unknown>> = {}
  for (const spec of specs) {
    const status = httpStatus[spec.codes[0] as ErrorCode]
    if (spec.codes.some((code) => httpStatus[code] !== status)) {
      throw new TypeError(`codes of different statuses in one reply: ${spec.codes.join(', ')}`)
    }
    byStatus[status] = jsonReply(errorSchema(spec.codes), spec.description, {
      headers: errorHeaders(spec.codes),
      ...(spec.examples ? { examples: spec.examples } : {}),
    })
  }
  return byStatus
}

/** Every error answer is no-store; some add a retry time or a bearer challenge. */
function errorHeaders(codes: readonly ErrorCode[]): Record<string, HeaderSpec> {
  return {
    ...(codes.some((c) => c === 'rate_limited' || c === 'upstream_unavailable') ? retryAfterHeader : {}),
    ...(codes.includes('unauthenticated') ? bearerChallengeHeader : {}),
    ...noStoreHeader,
  }
}
