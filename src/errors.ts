/**
 * The closed set of errors a caller can see, each a stable code (the HTTP shell maps codes
 * to statuses: src/http/status.ts). The message is safe to show (no secret, no token, no
 * foreign ARN). Detail for operators goes in `logDetail`, which only ever reaches the log.
 */
export const errorCodes = [
  'invalid_request', 'unauthenticated', 'forbidden', 'unknown_credential', 'not_found', 'request_timeout',
  'rate_limited', 'internal_error', 'credential_rejected', 'credential_misconfigured', 'upstream_unavailable',
  'profile_unknown', 'resource_invalid', 'resource_forbidden',
] as const

export type ErrorCode = (typeof errorCodes)[number]

export interface BrokerErrorOptions {
  /** Seconds the caller should wait before retrying (sets `Retry-After`). */
  retryAfterSeconds?: number
  /** Operator-facing detail for the log line; never sent to the caller. */
  logDetail?: Record<string, unknown>
  cause?: unknown
}

export class BrokerError extends Error {
  readonly code: ErrorCode
  readonly retryAfterSeconds: number | undefined
  readonly logDetail: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'BrokerError'
    this.code = code
    this.retryAfterSeconds = options.retryAfterSeconds
    this.logDetail = options.logDetail
  }
}

export const isBrokerError = (err: unknown): err is BrokerError => err instanceof BrokerError
