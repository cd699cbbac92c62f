import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { CredentialConfig } from '../config/index.js'
import type { SharedTokenStore } from './shared-store.js'
import type { BrokerToken, TokenSource } from './token-source.js'

/** A refresh lock outlives any sane refresh: LWA attempts plus pauses, well under a minute. */
export const sharedLockTtlMs = 30_000

export interface ReplicationDeps {
  share: SharedTokenStore
  source: TokenSource
  clock: Clock
  logger: Logger
  /** A waiter for another replica's refresh gives up after this long (the request deadline). */
  waitMs: number
  /** The credential's settings now: a refresh begun with others (the name moved to another secret) is not shared. */
  current: (name: string) => CredentialConfig | undefined
}

/** What the cache knows of a credential's token here, and what it needs, for judging another replica's. */
export interface LocalView {
  token: BrokerToken | undefined
  refreshPointOf(token: BrokerToken): number
  /** The caller waiting needs a token with this long left (its min_ttl): a peer's with less will not do. */
  minLeftMs: number
}

/**
 * Obtains a fresh token through the shared-token port: another replica's, if it is fresher
 * than ours and not yet due for refresh; otherwise one replica (the lock holder) asks LWA and
 * shares the result while the others wait for it. Any failure of the shared store falls back
 * to asking LWA here: the shared layer may save LWA calls, never cost a caller its token.
 * Alone (the local share), this is simply: ask LWA.
 */
export class Replication {
  constructor(private readonly deps: ReplicationDeps) {}

  async obtain(name: string, config: CredentialConfig, local: LocalView, force = false): Promise<BrokerToken> {
    const { share } = this.deps
    let release: (() => Promise<void>) | undefined
    try {
      const theirs = await share.get(name)
      if (theirs && this.usable(theirs, local, force)) return theirs
      release = await share.lock(name, sharedLockTtlMs)
      const newerThanMs = Math.max(local.token?.obtainedAtMs ?? 0, theirs?.obtainedAtMs ?? 0)
      const awaited = release
        // The previous holder may have shared its token between our read and our lock.
        ? await this.takeIfUsable(await share.get(name), local, force, release)
        : await share.waitFor(name, newerThanMs, this.deps.waitMs)
      if (awaited) return awaited
    } catch (err) {
      this.deps.logger.warn(
        { credential: name, error: (err as Error).message },
        'shared token store unavailable; refreshing locally',
      )
    }
    try {
      const fresh = await this.deps.source.obtain(name, config)
      // Shared under the name, another account's token would be served to whoever asks for it now.
      if (this.deps.current(name) !== config) return fresh
      await share.put(name, fresh).catch((err: unknown) =>
        this.deps.logger.warn({ credential: name, error: (err as Error).message }, 'could not share the token'))
      return fresh
    } finally {
      await release?.().catch(() => {})
    }
  }

  /** A usable token found while holding the lock: the lock is released at once, the token taken. */
  private async takeIfUsable(
    token: BrokerToken | undefined,
    local: LocalView,
    force: boolean,
    release: () => Promise<void>,
  ): Promise<BrokerToken | undefined> {
    if (!token || !this.usable(token, local, force)) return undefined
    await release().catch(() => {})
    return token
  }

  /**
   * Another replica's token is worth taking if it is newer than ours, not yet due for refresh and long enough
   * for the caller waiting.
   */
  private usable(token: BrokerToken, local: LocalView, force: boolean): boolean {
    const now = this.deps.clock.now()
    return !force && token.obtainedAtMs > (local.token?.obtainedAtMs ?? 0)
      && now < local.refreshPointOf(token) && token.expiresAtMs - now >= local.minLeftMs
  }
}
