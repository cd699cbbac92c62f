import type { Principal } from './principal.js'

interface Entry {
  principal: Principal
  untilMs: number
  /** Used since eviction last passed over it: it gets a second chance. */
  used: boolean
}

/**
 * Remembers verified JWTs (keyed by a hash of the token, never the token) so a caller that
 * reuses its JWT skips the signature check. Bounded: least recently used entries go first, near
 * enough (a second chance, or "clock"): an entry used since eviction last passed over it is moved
 * to the young end instead. A hit only marks its entry, where moving it in a 10,000-entry map on
 * every request was a delete, an insert and, every few thousand, a copy of the whole table.
 * An entry never outlives the token's expiry, its maximum age, or `maxAgeMs` (which bounds
 * how long a key removed from the issuer's JWKS keeps working for tokens already seen).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly maxEntries: number) {}

  get(key: string, nowMs: number): Principal | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (nowMs >= entry.untilMs) {
      this.entries.delete(key)
      return undefined
    }
    if (!entry.used) entry.used = true
    return entry.principal
  }

  set(key: string, principal: Principal, untilMs: number): void {
    if (this.maxEntries === 0) return
    this.entries.delete(key)
    this.entries.set(key, { principal, untilMs, used: false })
    if (this.entries.size > this.maxEntries) this.evictOne()
  }

  /** The oldest entry not used since it was last here goes; the used ones on the way move to the young end. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key)
      if (!entry.used) return
      entry.used = false
      this.entries.set(key, entry)
    }
  }

  get size(): number {
    return this.entries.size
  }
}
