import { createHash } from 'node:crypto'

/** Where `jti`s are remembered across replicas (Redis); absent, each replica remembers alone. */
export interface SharedReplayStore {
  /** True if `key` was not claimed before; it stays claimed for `ttlMs`. May reject (store away). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>
}

/** The replay cache is full of unexpired `jti`s: refusing is safer than forgetting one. */
export class ReplayCacheFullError extends Error {
  constructor() {
    super('the jti replay cache is full')
    this.name = 'ReplayCacheFullError'
  }
}

/**
 * Accepts each (issuer, jti) once until its token expires, for issuers configured with
 * `requireJti`. Kept in this process, bounded, and in Redis too when replicas share it, so
 * a token replayed on another replica is refused as well. Keys are hashed: a `jti` is the
 * caller's text.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>()

  constructor(private readonly maxEntries: number, private readonly shared?: SharedReplayStore) {}

  /** True the first time; false for a replay. Throws ReplayCacheFullError when it cannot remember more. */
  async firstUse(issuer: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    const key = createHash('sha256').update(`${issuer}\0${jti}`).digest('base64url')
    const until = this.seen.get(key)
    if (until !== undefined && until > nowMs) return false
    this.remember(key, expiresAtMs, nowMs)
    if (!this.shared) return true
    // Redis away: this replica's memory still refuses replays it has seen.
    return this.shared.claimOnce(`jti:${key}`, Math.max(1, expiresAtMs - nowMs)).catch(() => true)
  }

  private remember(key: string, untilMs: number, nowMs: number): void {
    if (this.seen.size >= this.maxEntries) {
      for (const [k, until] of this.seen) if (until <= nowMs) this.seen.delete(k)
      if (this.seen.size >= this.maxEntries) throw new ReplayCacheFullError()
    }
    this.seen.set(key, untilMs)
  }
}
