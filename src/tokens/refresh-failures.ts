import type { BrokerConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { isTerminal, toBrokerError } from '../failures.js'
import { LwaError } from '../lwa/index.js'
import { backoffDelayMs } from './backoff.js'
import { healthOf } from './credential-status.js'
import { TokenCache, type Failure, type TokenCacheOptions } from './token-cache.js'
import type { IssuedToken } from './issued-token.js'
import type { TokenServiceDeps } from './token-service.js'

/**
 * After a failed refresh: a rejected credential waits a fixed time, anything else backs off (at least LWA's
 * Retry-After).
 */
export function retryDelayMs(
  retry: BrokerConfig['tokens']['retry'],
  err: unknown,
  failures: number,
  random: () => number,
): number {
  if (isTerminal(err)) return retry.rejectedRetrySeconds * 1000
  const retryAfterMs = err instanceof LwaError ? err.retryAfterMs ?? 0 : 0
  return backoffDelayMs(retry, failures, random, Math.max(retry.baseMs, retryAfterMs))
}

/** The caller's error, saying since when the credential is failing. */
export function callerErrorFor(name: string, err: unknown, failure: Failure | undefined, nowMs: number): BrokerError {
  const retryAfterSeconds = Math.max(1, Math.ceil(((failure?.retryAtMs ?? 0) - nowMs) / 1000))
  const error = toBrokerError(name, err, retryAfterSeconds)
  if (!failure || ['internal_error', 'unknown_credential', 'invalid_request'].includes(error.code)) return error
  const since = new Date(failure.sinceMs).toISOString()
  return new BrokerError(error.code, `${error.message}; credential ${healthOf(failure.error)} since ${since}`, {
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(error.logDetail ? { logDetail: error.logDetail } : {}),
    cause: err,
  })
}

/** The token cache as the token service runs it: the config's refresh points, jitter and backoff. */
export function tokenCacheFor(
  deps: Pick<TokenServiceDeps, 'config' | 'clock' | 'random' | 'events'>,
  load: TokenCacheOptions<IssuedToken>['load'],
  onBackgroundError: (credential: string, err: unknown) => void,
): TokenCache<IssuedToken> {
  const random = deps.random ?? Math.random
  const { tokens } = deps.config
  return new TokenCache<IssuedToken>({
    clock: deps.clock,
    refreshAheadRatio: tokens.refreshAheadRatio,
    refreshJitterRatio: tokens.refreshJitterRatio,
    random,
    retryDelayMs: (err, failures) => retryDelayMs(tokens.retry, err, failures, random),
    onBackgroundError,
    load,
    ...(deps.events ? { onLookup: deps.events.cacheLookup.bind(deps.events) } : {}),
  })
}
