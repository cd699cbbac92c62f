import { BrokerError } from '../errors.js'
import { LwaError, requestBugLwaCodes, terminalLwaCodes } from '../lwa/index.js'
import { SecretError } from '../secrets/index.js'
import { TokenTooShortError } from './token-cache.js'

/**
 * Translates what went wrong while obtaining a token into the caller's error. The caller
 * learns the credential name and a coarse reason (with LWA's error code, which is not
 * secret); secret ids and upstream detail go to `logDetail` only.
 */
export function toBrokerError(credential: string, err: unknown, retryAfterSeconds: number): BrokerError {
  if (err instanceof BrokerError) return err
  if (err instanceof LwaError) {
    const logDetail = { lwaError: err.code, lwaStatus: err.status, lwaDescription: err.description }
    if (err.retryable) {
      return new BrokerError('upstream_unavailable', `LWA is unavailable for credential ${credential} (${err.code})`, { retryAfterSeconds, logDetail, cause: err })
    }
    const bug = requestBugLwaCodes.has(err.code)
    const why = terminalLwaCodes.has(err.code) || bug ? err.code : `unexpected ${err.code}`
    return new BrokerError('credential_rejected', `LWA rejected credential ${credential} (${why})`, { logDetail: { ...logDetail, requestBug: bug }, cause: err })
  }
  if (err instanceof SecretError) {
    const logDetail = { secretId: err.secretId, secretField: err.field, secretProblem: err.reason, secretMessage: err.message }
    if (err.reason === 'unavailable') {
      return new BrokerError('upstream_unavailable', `the secret store is unavailable for credential ${credential}`, { retryAfterSeconds, logDetail, cause: err })
    }
    const what = err.reason === 'missing_field' ? `its secret lacks the field "${err.field}"` : err.reason === 'not_found' ? 'its secret does not exist' : 'its secret is not a JSON object'
    return new BrokerError('credential_misconfigured', `credential ${credential} is misconfigured: ${what}`, { logDetail, cause: err })
  }
  if (err instanceof TokenTooShortError) {
    const lifetime = Math.floor(err.lifetimeMs / 1000)
    return new BrokerError('invalid_request', `min_ttl ${Math.floor(err.minTtlMs / 1000)} cannot be met: LWA grants credential ${credential} tokens of ${lifetime} s; ask for at most ${err.maxMinTtlSeconds}`, { cause: err })
  }
  return new BrokerError('internal_error', 'internal error', { cause: err })
}
