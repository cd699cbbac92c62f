import type { Clock } from '../clock.js'
import { lifetimeOf, loadSlackMs, TokenTooShortError } from './token-lifetime.js'

export { loadSlackMs, TokenTooShortError } from './token-lifetime.js'

/** What the cache needs to know about any token it holds. */
export interface Expiring {
  obtainedAtMs: number
  expiresAtMs: number
}

export interface TokenCacheOptions<T> {
  clock: Clock
  /** Refresh in the background once less than this fraction of the lifetime is left. */
  refreshAheadRatio: number
  /** Each token's refresh point moves by up to ± half this fraction of its lifetime. */
  refreshJitterRatio: number
  random: () => number
  /** After the n-th consecutive failed load, neither callers nor the background retry for this long. */
  retryDelayMs: (error: unknown, consecutiveFailures: number) => number
  onBackgroundError: (key: string, error: unknown) => void
  /**
   * A fresh token for `key` with at least `minLeftMs` left (`force`: an operator asked). One for
   * every key: a closure per key was an object, a context and a map entry per credential.
   */
  load: (key: string, minLeftMs: number, force: boolean) => Promise<T>
  /** Each lookup: served from the cache (`hit`, with the token served) or waited for a load (`miss`). */
  onLookup?: (key: string, result: 'hit' | 'miss', served?: T) => void
}

export interface Failure {
  error: unknown
  atMs: number
  /** When the run of consecutive failures began. */
  sinceMs: number
  retryAtMs: number
  consecutive: number
}

interface Entry<T> {
  token: T | undefined
  refreshAtMs: number
  inflight: Promise<T> | undefined
  failure: Failure | undefined
  lastUsedMs: number
}

export interface CacheState<T> {
  token: T | undefined
  failure: Failure | undefined
  lastUsedMs: number | undefined
}

/**
 * Per-key token cache with single-flight loads and refresh-ahead. It knows nothing of LWA
 * or HTTP: its `load` option is whatever produces a fresh token for a key.
 *
 * - Concurrent misses share one `load` call.
 * - Past a token's (jittered) refresh point, callers get it at once while one background
 *   load replaces it; `refreshDue` does the same for keys nobody asked for lately.
 * - A token with less than `minTtlMs` left is never returned; the caller waits for a load.
 * - A failed load is remembered until its retry time, which grows with consecutive failures
 *   (a per-key circuit): callers without a usable token get the same error at once, and the
 *   first caller (or background tick) after the retry time is the single probe.
 */
export class TokenCache<T extends Expiring> {
  private readonly entries = new Map<string, Entry<T>>()
  private readonly options: TokenCacheOptions<T>

  constructor(options: TokenCacheOptions<T>) {
    this.options = options
  }

  /**
   * The cached token if it can be served now (starting the refresh-ahead if it is due, or once
   * less than `refreshBelowMs` is left), with no waiting and no promise: the hot path. A key never
   * loaded has nothing to serve; `get` makes its entry.
   */
  hit(key: string, minTtlMs: number, refreshBelowMs = 0): T | undefined {
    const entry = this.entries.get(key)
    return entry && this.serve(key, entry, minTtlMs, refreshBelowMs)
  }

  async get(key: string, minTtlMs: number): Promise<T> {
    const entry = this.entry(key)
    const cached = this.serve(key, entry, minTtlMs, 0)
    if (cached) return cached
    const now = this.options.clock.now()
    this.options.onLookup?.(key, 'miss')
    // Tokens this key gets live too short for this min_ttl: a load would not help, and a load
    // per request would be an LWA call per request.
    if (entry.token && minTtlMs > lifetimeOf(entry.token) - loadSlackMs) {
      throw new TokenTooShortError(lifetimeOf(entry.token), minTtlMs)
    }
    if (!entry.inflight && !this.mayLoad(entry, now)) throw entry.failure?.error
    let fresh = await (entry.inflight ?? this.load(key, entry, minTtlMs))
    // A load begun for callers who needed less (or another replica's older token) can fall short of this
    // caller's min_ttl when a token of its own would not: one load that needs what this caller needs.
    if (this.short(fresh, minTtlMs) && minTtlMs <= lifetimeOf(fresh) - loadSlackMs) {
      fresh = await (entry.inflight ?? this.load(key, entry, minTtlMs))
    }
    if (this.short(fresh, minTtlMs)) throw new TokenTooShortError(lifetimeOf(fresh), minTtlMs)
    return fresh
  }

  private serve(key: string, entry: Entry<T>, minTtlMs: number, refreshBelowMs: number): T | undefined {
    const now = this.options.clock.now()
    entry.lastUsedMs = now
    const token = entry.token
    if (!token || token.expiresAtMs - now < minTtlMs) return undefined
    if (now >= entry.refreshAtMs || token.expiresAtMs - now < refreshBelowMs) {
      this.refreshInBackground(key, entry, now, refreshBelowMs)
    }
    this.options.onLookup?.(key, 'hit', token)
    return token
  }

  private short(token: T, minTtlMs: number): boolean {
    return token.expiresAtMs - this.options.clock.now() < minTtlMs
  }

  /**
   * Background refresh of every key used within `idleMs` whose token is past its refresh
   * point (or gone): keeps tokens fresh for callers that ask rarely. Returns how many started.
   */
  refreshDue(idleMs: number): number {
    const now = this.options.clock.now()
    let started = 0
    for (const [key, entry] of this.entries) {
      const due = !entry.token || now >= entry.refreshAtMs
      if (due && now - entry.lastUsedMs < idleMs && this.refreshInBackground(key, entry, now)) started++
    }
    return started
  }

  peek(key: string): CacheState<T> {
    const entry = this.entries.get(key)
    return { token: entry?.token, failure: entry?.failure, lastUsedMs: entry?.lastUsedMs }
  }

  /**
   * Loads a fresh token now, whatever the refresh point or backoff says (an operator asked).
   * The current token stays in use until the new one is there, and stays if the load fails.
   */
  refreshNow(key: string): Promise<T> {
    const entry = this.entry(key)
    return entry.inflight ?? this.load(key, entry, 0, true)
  }

  /** The next request may try at once (a secret reload); the failure stays on record until a load succeeds. */
  retryNow(key: string): void {
    const failure = this.entries.get(key)?.failure
    if (failure) failure.retryAtMs = this.options.clock.now()
  }

  /**
   * Forgets a key's token, failure and schedule (its credential now belongs to another
   * account). A load already in flight completes into the forgotten entry, not this one.
   */
  forget(key: string): void {
    this.entries.delete(key)
  }

  /** Resolves when no load is in flight: for tests and shutdown. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.entries.values()].flatMap((e) => (e.inflight ? [e.inflight] : []))
      if (pending.length === 0) return
      await Promise.allSettled(pending)
    }
  }

  private entry(key: string): Entry<T> {
    let entry = this.entries.get(key)
    if (!entry) {
      entry = { token: undefined, refreshAtMs: 0, inflight: undefined, failure: undefined, lastUsedMs: 0 }
      this.entries.set(key, entry)
    }
    return entry
  }

  private refreshInBackground(key: string, entry: Entry<T>, now: number, minLeftMs = 0): boolean {
    if (!this.mayLoad(entry, now)) return false
    this.load(key, entry, minLeftMs).catch((err: unknown) => this.options.onBackgroundError(key, err))
    return true
  }

  /** Takes a token obtained elsewhere (another replica) if it is newer than the one held. */
  offer(key: string, token: T): void {
    const entry = this.entries.get(key)
    if (!entry || (entry.token && entry.token.obtainedAtMs >= token.obtainedAtMs)) return
    entry.token = token
    entry.refreshAtMs = this.refreshAtMs(token)
    entry.failure = undefined
  }

  /** When a token (this replica's or another's) is due for refresh, without jitter. */
  refreshPointOf(token: Expiring): number {
    return token.expiresAtMs - (token.expiresAtMs - token.obtainedAtMs) * this.options.refreshAheadRatio
  }

  private refreshAtMs(token: T): number {
    const { refreshAheadRatio, refreshJitterRatio, random } = this.options
    const lifetime = token.expiresAtMs - token.obtainedAtMs
    const jitter = (random() - 0.5) * refreshJitterRatio
    return token.expiresAtMs - lifetime * Math.min(0.95, Math.max(0.05, refreshAheadRatio + jitter))
  }

  private mayLoad(entry: Entry<T>, now: number): boolean {
    return !entry.inflight && (!entry.failure || now >= entry.failure.retryAtMs)
  }

  private load(key: string, entry: Entry<T>, minLeftMs = 0, force = false): Promise<T> {
    const inflight = this.options.load(key, minLeftMs, force).then(
      (token) => {
        entry.token = token
        entry.refreshAtMs = this.refreshAtMs(token)
        entry.failure = undefined
        return token
      },
      (error: unknown) => {
        const now = this.options.clock.now()
        const consecutive = (entry.failure?.consecutive ?? 0) + 1
        entry.failure = {
          error,
          atMs: now,
          sinceMs: entry.failure?.sinceMs ?? now,
          retryAtMs: now + this.options.retryDelayMs(error, consecutive),
          consecutive,
        }
        throw error
      },
    ).finally(() => {
      if (entry.inflight === inflight) entry.inflight = undefined
    })
    entry.inflight = inflight
    return inflight
  }
}
