import type { Clock } from '../clock.js'

/** What the cache needs to know about any token it holds. */
export interface Expiring {
  obtainedAtMs: number
  expiresAtMs: number
}

export interface TokenCacheOptions {
  clock: Clock
  /** Refresh in the background once less than this fraction of the lifetime is left. */
  refreshAheadRatio: number
  /** After a failed load, neither callers nor the background retry before this many ms (or the error's own). */
  retryDelayMs: (error: unknown) => number
  onBackgroundError: (key: string, error: unknown) => void
}

interface Entry<T> {
  token: T | undefined
  inflight: Promise<T> | undefined
  failure: { error: unknown; retryAtMs: number } | undefined
}

/**
 * Per-key token cache with single-flight loads and refresh-ahead. It knows nothing of LWA
 * or HTTP: `load` is whatever produces a fresh token for the key.
 *
 * - Concurrent misses share one `load` call.
 * - Past the refresh-ahead point, callers get the current token at once while one
 *   background load replaces it.
 * - A token with less than `minTtlMs` left is never returned; the caller waits for a load.
 * - A failed load is remembered until its retry time, so a dead upstream is not hammered:
 *   callers without a usable token get the same error at once.
 */
export class TokenCache<T extends Expiring> {
  private readonly entries = new Map<string, Entry<T>>()
  private readonly options: TokenCacheOptions

  constructor(options: TokenCacheOptions) {
    this.options = options
  }

  async get(key: string, minTtlMs: number, load: () => Promise<T>): Promise<T> {
    const entry = this.entry(key)
    const now = this.options.clock.now()
    const token = entry.token
    if (token && token.expiresAtMs - now >= minTtlMs) {
      if (now >= this.refreshAtMs(token) && this.mayLoad(entry, now)) {
        this.load(entry, load).catch((err: unknown) => this.options.onBackgroundError(key, err))
      }
      return token
    }
    if (!entry.inflight && !this.mayLoad(entry, now)) throw entry.failure?.error
    const fresh = await (entry.inflight ?? this.load(entry, load))
    if (fresh.expiresAtMs - this.options.clock.now() < minTtlMs) throw new TokenTooShortError(fresh.expiresAtMs - this.options.clock.now(), minTtlMs)
    return fresh
  }

  /** The cached token and the last failure, if any, without loading. */
  peek(key: string): { token: T | undefined; failure: { error: unknown; retryAtMs: number } | undefined } {
    const entry = this.entries.get(key)
    return { token: entry?.token, failure: entry?.failure }
  }

  /** Forget a key's token and failure (a forced refresh or a secret reload). */
  invalidate(key: string): void {
    const entry = this.entries.get(key)
    if (entry) {
      entry.token = undefined
      entry.failure = undefined
    }
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
      entry = { token: undefined, inflight: undefined, failure: undefined }
      this.entries.set(key, entry)
    }
    return entry
  }

  private refreshAtMs(token: T): number {
    const lifetime = token.expiresAtMs - token.obtainedAtMs
    return token.expiresAtMs - lifetime * this.options.refreshAheadRatio
  }

  private mayLoad(entry: Entry<T>, now: number): boolean {
    return !entry.inflight && (!entry.failure || now >= entry.failure.retryAtMs)
  }

  private load(entry: Entry<T>, load: () => Promise<T>): Promise<T> {
    const inflight = load().then(
      (token) => {
        entry.token = token
        entry.failure = undefined
        return token
      },
      (error: unknown) => {
        entry.failure = { error, retryAtMs: this.options.clock.now() + this.options.retryDelayMs(error) }
        throw error
      },
    ).finally(() => {
      if (entry.inflight === inflight) entry.inflight = undefined
    })
    entry.inflight = inflight
    return inflight
  }
}

/** LWA handed out a token shorter-lived than the caller's min_ttl, so no token can satisfy it. */
export class TokenTooShortError extends Error {
  constructor(readonly remainingMs: number, readonly minTtlMs: number) {
    super(`a fresh token has ${Math.floor(remainingMs / 1000)}s left, less than min_ttl ${Math.floor(minTtlMs / 1000)}s`)
    this.name = 'TokenTooShortError'
  }
}
