/**
 * The closed set of errors a caller can see. Every one has a stable code and an HTTP
 * status; the message is safe to show (no secret, no token, no foreign ARN). Detail for
 * operators goes in `logDetail`, which only ever reaches the log.
 */
export const errorStatus = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  unknown_credential: 404,
  not_found: 404,
  request_timeout: 408,
  rate_limited: 429,
  internal_error: 500,
  credential_rejected: 502,
  credential_misconfigured: 502,
  upstream_unavailable: 503,
} as const

export type ErrorCode = keyof typeof errorStatus

export interface BrokerErrorOptions {
  /** Seconds the caller should wait before retrying (sets `Retry-After`). */
  retryAfterSeconds?: number
  /** Operator-facing detail for the log line; never sent to the caller. */
  logDetail?: Record<string, unknown>
  cause?: unknown
}

export class BrokerError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly retryAfterSeconds: number | undefined
  readonly logDetail: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'BrokerError'
    this.code = code
    this.status = errorStatus[code]
    this.retryAfterSeconds = options.retryAfterSeconds
    this.logDetail = options.logDetail
  }
}

export const isBrokerError = (err: unknown): err is BrokerError => err instanceof BrokerError
