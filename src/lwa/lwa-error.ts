/** LWA error codes that mean the stored secret or grant was refused: retrying will not help. */
export const terminalLwaCodes = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope'])
/** Codes that mean our request was wrong: a bug on our side, never the caller's. */
export const requestBugLwaCodes = new Set(['invalid_request', 'unsupported_grant_type'])

/**
 * What an LWA failure means for the broker, decided here once (LWA.md's table):
 * - `transient`: LWA down, slow, throttling or answering nonsense: retry with backoff;
 * - `client_rejected`: `invalid_client`, the client secret (it may have been rotated);
 * - `grant_rejected`: `invalid_grant`, the refresh token or authorization code;
 * - `rejected`: another refusal of the stored credential (`unauthorized_client`, `invalid_scope`, an unknown code);
 * - `request_bug`: our request was wrong (`invalid_request`, `unsupported_grant_type`).
 */
export type LwaFailureKind = 'transient' | 'client_rejected' | 'grant_rejected' | 'rejected' | 'request_bug'

function kindOf(code: string, retryable: boolean): LwaFailureKind {
  if (retryable) return 'transient'
  if (code === 'invalid_client') return 'client_rejected'
  if (code === 'invalid_grant') return 'grant_rejected'
  return requestBugLwaCodes.has(code) ? 'request_bug' : 'rejected'
}

/**
 * A failed token request. `code` is LWA's own error code when it sent one, otherwise one
 * of ours: `throttled`, `http_<status>`, `timeout`, `network`, `malformed_response`.
 */
export class LwaError extends Error {
  readonly code: string
  readonly kind: LwaFailureKind
  readonly status: number | undefined
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
  /** LWA's error_description, truncated; for logs only. */
  readonly description: string | undefined

  constructor(
    code: string,
    options: { status?: number; retryable: boolean; retryAfterMs?: number; description?: string; cause?: unknown },
  ) {
    super(`LWA token request failed: ${code}${options.status ? ` (HTTP ${options.status})` : ''}`, {
      cause: options.cause,
    })
    this.name = 'LwaError'
    this.code = code
    this.status = options.status
    this.retryable = options.retryable
    this.kind = kindOf(code, options.retryable)
    this.retryAfterMs = options.retryAfterMs
    this.description = options.description?.slice(0, 200)
  }
}

/** Classifies an HTTP error answer by LWA.md's table. */
export function lwaErrorFromResponse(
  status: number,
  body: unknown,
  retryAfterHeader: string | undefined,
  now: number,
): LwaError {
  const fields = body !== null && typeof body === 'object' ? body as Record<string, unknown> : {}
  const lwaCode = typeof fields.error === 'string' && /^[a-z_]{1,64}$/.test(fields.error) ? fields.error : undefined
  const code = lwaCode ?? (status === 429 ? 'throttled' : `http_${status}`)
  const retryable = status === 429 || status >= 500 || code === 'server_error' || code === 'temporarily_unavailable'
  return new LwaError(code, {
    status,
    retryable,
    retryAfterMs: parseRetryAfter(retryAfterHeader, now),
    description: typeof fields.error_description === 'string' ? fields.error_description : undefined,
  })
}

/** RFC 9110's IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`; Date.parse alone accepts almost anything. */
const imfFixdate = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  const value = header?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  if (!imfFixdate.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
