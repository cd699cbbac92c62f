import type { Expiring } from './token-cache.js'

/**
 * A load delivers at most a token's lifetime minus the time it takes: a min_ttl within this
 * much of the lifetime is refused rather than met by a load every few seconds.
 */
export const loadSlackMs = 5_000

export const lifetimeOf = (token: Expiring): number => token.expiresAtMs - token.obtainedAtMs

/** The tokens a key gets (`lifetimeMs` each) are too short-lived for the caller's min_ttl. */
export class TokenTooShortError extends Error {
  constructor(readonly lifetimeMs: number, readonly minTtlMs: number) {
    super(`tokens live ${Math.floor(lifetimeMs / 1000)} s, too short for min_ttl ${Math.floor(minTtlMs / 1000)} s`)
    this.name = 'TokenTooShortError'
  }

  /** The largest min_ttl that these tokens can meet. */
  get maxMinTtlSeconds(): number {
    return Math.max(0, Math.floor((this.lifetimeMs - loadSlackMs) / 1000))
  }
}
