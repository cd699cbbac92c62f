/** Response headers, as @fastify/swagger takes them (a JSON Schema per header, with its description). */
export interface HeaderSpec {
  type: 'string' | 'integer'
  description: string
  const?: string
  minimum?: number
  pattern?: string
  format?: string
}

export const requestIdHeader: Record<string, HeaderSpec> = {
  'X-Request-Id': {
    type: 'string',
    description: 'The id the broker logged this request under (the caller\'s `X-Request-Id` if it was acceptable, '
      + 'otherwise a UUID).',
  },
}

export const noStoreHeader: Record<string, HeaderSpec> = {
  'Cache-Control': {
    type: 'string',
    const: 'no-store',
    description: 'Always `no-store`: tokens and errors must not be cached by intermediaries.',
  },
}

export const retryAfterHeader: Record<string, HeaderSpec> = {
  'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again.' },
}

export const bearerChallengeHeader: Record<string, HeaderSpec> = {
  'WWW-Authenticate': {
    type: 'string',
    description: 'The bearer challenge (RFC 6750): `Bearer realm="lwa-broker", error="invalid_token"`.',
  },
}

export const pageSecurityHeader: Record<string, HeaderSpec> = {
  'Content-Security-Policy': {
    type: 'string', const: "default-src 'none'; frame-ancestors 'none'",
    description: 'The onboarding pages load nothing, run no script and are never framed.',
  },
}
