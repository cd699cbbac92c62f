import { errors as joseErrors } from 'jose'
import { BrokerError } from '../errors.js'

/** Real JWTs are well under this; a bigger header is an attack or a mistake, refused before parsing. */
const maxJwtBytes = 8 * 1024

/** The JWT of an Authorization header, or the caller's 401 with why. */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw unauthenticated('missing_token')
  // The form every client sends, without running a regular expression over a 1 KB header.
  const jwt = authorization.startsWith('Bearer ') && authorization.indexOf(' ', 7) === -1
    ? authorization.slice(7)
    : /^Bearer +([^ ]+) *$/i.exec(authorization)?.[1]
  if (!jwt) throw unauthenticated('not_bearer')
  if (jwt.length > maxJwtBytes) throw unauthenticated('oversized_token')
  return jwt
}

/** jose's error codes name the failed check; claim failures also name the claim. */
export function joseReason(err: unknown): string {
  // JWTExpired carries the claim too: `exp`, or `iat` when the token is older than maxTokenAge.
  if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired) {
    return `${err.code}:${err.claim}:${err.reason}`
  }
  if (err instanceof joseErrors.JOSEError) return err.code
  return 'verification_failed'
}

export function unauthenticated(reason: string, detail: Record<string, unknown> = {}): BrokerError {
  return new BrokerError('unauthenticated', 'missing or invalid bearer token', { logDetail: { reason, ...detail } })
}
