import { BrokerError } from './errors.js'
import { LwaError, requestBugLwaCodes, terminalLwaCodes } from './lwa/index.js'
import { SecretError } from './secrets/index.js'
import { TokenTooShortError } from './tokens/token-cache.js'

/**
 * The one place a failure of the core becomes what a caller is told. The caller learns the
 * credential name and a coarse reason (LWA's error code is not secret); secret ids and
 * upstream detail go to `logDetail`, which only reaches the log.
 */
export function toBrokerError(credential: string, err: unknown, retryAfterSeconds: number): BrokerError {
  if (err instanceof BrokerError) return err
  if (err instanceof LwaError) return fromLwa(credential, err, retryAfterSeconds)
  if (err instanceof SecretError) return fromSecret(credential, err, retryAfterSeconds)
  if (err instanceof TokenTooShortError) {
    const lifetime = Math.floor(err.lifetimeMs / 1000)
    return new BrokerError(
      'invalid_request',
      `min_ttl ${Math.floor(err.minTtlMs / 1000)} cannot be met: LWA grants credential ${credential} tokens of `
        + `${lifetime} s; ask for at most ${err.maxMinTtlSeconds}`,
      // Logged and audited: an SDK on /auth/o2/token sees only LWA's words, and its floor is an operator's setting.
      { cause: err, logDetail: { reason: 'min_ttl_over_lifetime', lifetimeSeconds: lifetime } },
    )
  }
  return new BrokerError('internal_error', 'internal error', { cause: err })
}

function fromLwa(credential: string, err: LwaError, retryAfterSeconds: number): BrokerError {
  const logDetail = { lwaError: err.code, lwaStatus: err.status, lwaDescription: err.description }
  if (err.kind === 'transient') {
    return new BrokerError('upstream_unavailable', `LWA is unavailable for credential ${credential} (${err.code})`, {
      retryAfterSeconds,
      logDetail,
      cause: err,
    })
  }
  const why = terminalLwaCodes.has(err.code) || requestBugLwaCodes.has(err.code) ? err.code : `unexpected ${err.code}`
  return new BrokerError('credential_rejected', `LWA rejected credential ${credential} (${why})`, {
    logDetail: { ...logDetail, requestBug: err.kind === 'request_bug' },
    cause: err,
  })
}

function fromSecret(credential: string, err: SecretError, retryAfterSeconds: number): BrokerError {
  const logDetail = {
    secretId: err.secretId,
    secretField: err.field,
    secretProblem: err.code,
    secretMessage: err.message,
  }
  if (err.code === 'unavailable') {
    return new BrokerError('upstream_unavailable', `the secret store is unavailable for credential ${credential}`, {
      retryAfterSeconds,
      logDetail,
      cause: err,
    })
  }
  const what = err.code === 'missing_field'
    ? `its secret lacks the field "${err.field}"`
    : err.code === 'not_found' ? 'its secret does not exist' : 'its secret is not a JSON object'
  return new BrokerError('credential_misconfigured', `credential ${credential} is misconfigured: ${what}`, {
    logDetail,
    cause: err,
  })
}

/** LWA refused the credential or its secret is unusable: retrying soon will not help. */
export function isTerminal(err: unknown): boolean {
  return (err instanceof LwaError && err.kind !== 'transient')
    || (err instanceof SecretError && err.code !== 'unavailable')
}
