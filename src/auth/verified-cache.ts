import type { Principal } from './principal.js'

/**
 * Remembers verified JWTs (keyed by a hash of the token, never the token) so a caller that
 * reuses its JWT skips the signature check. Bounded: least recently used entries go first.
 * An entry never outlives the token's expiry, its maximum age, or `maxAgeMs` (which bounds
 * how long a key removed from the issuer's JWKS keeps working for tokens already seen).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { principal: Principal; untilMs: number }>()

  constructor(private readonly maxEntries: number) {}

  get(key: string, nowMs: number): Principal | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.entries.delete(key)
    if (nowMs >= entry.untilMs) return undefined
    this.entries.set(key, entry)
    return entry.principal
  }

  set(key: string, principal: Principal, untilMs: number): void {
    if (this.maxEntries === 0) return
    this.entries.delete(key)
    this.entries.set(key, { principal, untilMs })
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
  }

  get size(): number {
    return this.entries.size
  }
}
