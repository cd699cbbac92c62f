import type { Principal } from './principal.js'

interface Entry { principal: Principal; untilMs: number; /** When it was last put at the young end. */ seq: number }

/**
 * Remembers verified JWTs (keyed by a hash of the token, never the token) so a caller that
 * reuses its JWT skips the signature check. Bounded: least recently used entries go first,
 * near enough: an entry used within the last `maxEntries / 2` insertions is never the one.
 * An entry never outlives the token's expiry, its maximum age, or `maxAgeMs` (which bounds
 * how long a key removed from the issuer's JWKS keeps working for tokens already seen).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>()
  /** Counts moves to the young end: how far an entry has drifted towards eviction. */
  private seq = 0

  constructor(private readonly maxEntries: number) {}

  get(key: string, nowMs: number): Principal | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (nowMs >= entry.untilMs) {
      this.entries.delete(key)
      return undefined
    }
    // Moved to the young end only once it is in the older half: eviction stays least recently
    // used, without a delete and an insert into a 10,000-entry map on every hit.
    if (this.seq - entry.seq >= this.maxEntries / 2) this.toYoungEnd(key, entry)
    return entry.principal
  }

  set(key: string, principal: Principal, untilMs: number): void {
    if (this.maxEntries === 0) return
    this.toYoungEnd(key, { principal, untilMs, seq: 0 })
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
  }

  private toYoungEnd(key: string, entry: Entry): void {
    this.entries.delete(key)
    entry.seq = ++this.seq
    this.entries.set(key, entry)
  }

  get size(): number {
    return this.entries.size
  }
}
