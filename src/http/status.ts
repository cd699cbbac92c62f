import type { ErrorCode } from '../errors.js'
import type { OnboardingFailure } from '../onboarding/failures.js'

/** The one table from a code the core raises to an HTTP status, for the JSON routes and the onboarding pages alike. */
export const httpStatus: Readonly<Record<ErrorCode | OnboardingFailure, number>> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  unknown_credential: 404,
  not_found: 404,
  profile_unknown: 404,
  // A restricted resource the Tokens API refused: malformed (400), or not one the app may reach (403).
  resource_invalid: 400,
  resource_forbidden: 403,
  request_timeout: 408,
  rate_limited: 429,
  internal_error: 500,
  credential_rejected: 502,
  credential_misconfigured: 502,
  upstream_unavailable: 503,
  // The onboarding pages' own outcomes.
  link_invalid: 410,
  state_invalid: 400, state_expired: 400, state_reused: 400, other_browser: 400,
  declined: 400, code_missing: 400, code_rejected: 400, account_unknown: 400,
  account_mismatch: 403, region_mismatch: 403, seller_unknown: 403, callback_forbidden: 400,
  secret_missing: 409, already_connected: 409, name_unusable: 409,
  too_many_requests: 429,
  lwa_unavailable: 503, secret_unavailable: 503, account_unavailable: 503, store_unavailable: 503,
}
