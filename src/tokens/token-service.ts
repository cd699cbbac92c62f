import { secretIdsOf, type CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { LwaError } from '../lwa/index.js'
import { SecretError } from '../secrets/index.js'
import { apiHeaders } from './api-headers.js'
import { backoffDelayMs } from './backoff.js'
import { toBrokerError } from './broker-errors.js'
import { TokenCache, type Failure } from './token-cache.js'
import type { PeerEvent, SharedTokenStore } from './shared-store.js'
import { TokenSource, type BrokerToken, type TokenSourceDeps } from './token-source.js'

export interface IssuedToken extends BrokerToken {
  credential: string
  config: CredentialConfig
  headers: Record<string, string>
}

export interface TokenServiceDeps extends TokenSourceDeps {
  /** Tokens and refresh locks shared with other replicas; absent: this replica alone. */
  shared?: SharedTokenStore
}

/** Refreshes in flight during a prewarm: about the size of the LWA connection pool. */
const prewarmConcurrency = 16

/** A refresh lock outlives any sane refresh: LWA attempts plus pauses, well under a minute. */
const sharedLockTtlMs = 30_000

/** healthy: last refresh worked. degraded: refreshes failing (the cached token may still serve). rejected: LWA refused the credential. */
export type CredentialHealth = 'healthy' | 'degraded' | 'rejected'

export interface CredentialStatus {
  credential: string
  api: CredentialConfig['api']
  region: CredentialConfig['region']
  health: CredentialHealth
  tokenExpiresAtMs: number | undefined
  lastRefreshAtMs: number | undefined
  lastUsedAtMs: number | undefined
  lastError: { code: string; lwaError: string | undefined; atMs: number; sinceMs: number; retryAtMs: number; consecutive: number } | undefined
  secretVersions: BrokerToken['secretVersions'] | undefined
}

/** Vends access tokens by credential name: the cache first, otherwise the token source. */
export class TokenService {
  private readonly deps: TokenServiceDeps
  private readonly cache: TokenCache<BrokerToken>
  private readonly source: TokenSource
  private timer: NodeJS.Timeout | undefined
  private readonly issuedTokens = new WeakMap<BrokerToken, IssuedToken>()

  constructor(deps: TokenServiceDeps) {
    this.deps = deps
    this.source = new TokenSource(deps)
    deps.shared?.subscribe((event) => void this.onPeerEvent(event))
    const { tokens } = deps.config
    const random = deps.random ?? Math.random
    this.cache = new TokenCache<BrokerToken>({
      clock: deps.clock,
      refreshAheadRatio: tokens.refreshAheadRatio,
      refreshJitterRatio: tokens.refreshJitterRatio,
      random,
      retryDelayMs: (err, failures) => isTerminal(err)
        ? tokens.retry.rejectedRetrySeconds * 1000
        : backoffDelayMs(tokens.retry, failures, random, Math.max(tokens.retry.baseMs, err instanceof LwaError ? err.retryAfterMs ?? 0 : 0)),
      onBackgroundError: (credential, err) => this.logFailure(credential, err, 'background refresh failed; serving the cached token while it lasts'),
      ...(deps.events ? { onLookup: (credential: string, result: 'hit' | 'miss') => deps.events?.cacheLookup(credential, result) } : {}),
    })
  }

  has(name: string): boolean {
    return Object.hasOwn(this.deps.config.credentials, name)
  }

  /** A token with at least `minTtlSeconds` left, within the request deadline, or a BrokerError. */
  async getToken(name: string, minTtlSeconds: number): Promise<IssuedToken> {
    const config = this.configOf(name)
    const load = (): Promise<BrokerToken> => this.obtain(name, config)
    const cached = this.cache.hit(name, minTtlSeconds * 1000, load)
    if (cached) return this.issued(name, config, cached)
    let token: BrokerToken
    try {
      token = await this.withinDeadline(name, this.cache.get(name, minTtlSeconds * 1000, load))
    } catch (err) {
      throw this.callerError(name, err)
    }
    return this.issued(name, config, token)
  }

  /** Built once per token: every caller of a cached token gets the same object. */
  private issued(name: string, config: CredentialConfig, token: BrokerToken): IssuedToken {
    let issued = this.issuedTokens.get(token)
    if (!issued) {
      issued = { ...token, credential: name, config, headers: apiHeaders(config, token.accessToken, token.clientId) }
      this.issuedTokens.set(token, issued)
    }
    return issued
  }

  status(): CredentialStatus[] {
    return Object.entries(this.deps.config.credentials).map(([name, config]) => {
      const { token, failure, lastUsedMs } = this.cache.peek(name)
      return {
        credential: name,
        api: config.api,
        region: config.region,
        health: healthOf(failure),
        tokenExpiresAtMs: token?.expiresAtMs,
        lastRefreshAtMs: token?.obtainedAtMs,
        lastUsedAtMs: lastUsedMs,
        secretVersions: token?.secretVersions,
        lastError: failure && { code: toBrokerError(name, failure.error, 0).code, lwaError: failure.error instanceof LwaError ? failure.error.code : undefined, atMs: failure.atMs, sinceMs: failure.sinceMs, retryAtMs: failure.retryAtMs, consecutive: failure.consecutive },
      }
    })
  }

  /** Obtains a new token now (admin); the cached one keeps serving unless the new one arrives. Other replicas take it too. */
  async forceRefresh(name: string): Promise<void> {
    const config = this.configOf(name)
    try {
      await this.withinDeadline(name, this.cache.refreshNow(name, () => this.obtain(name, config, true)))
    } catch (err) {
      throw this.callerError(name, err)
    }
    await this.tellPeers({ kind: 'token_refreshed', credential: name })
  }

  /**
   * Makes every credential's secrets be re-read on next use and lets failed credentials be
   * retried at once, so a fixed secret is used right away (admin). Cached tokens stay: they
   * are still valid.
   * Returns the secret ids reloaded.
   */
  async reloadSecrets(): Promise<string[]> {
    const ids = this.reloadSecretsHere()
    await this.tellPeers({ kind: 'secrets_reloaded' })
    return ids
  }

  private reloadSecretsHere(): string[] {
    const { config, secrets } = this.deps
    const ids = secretIdsOf(config)
    for (const id of ids) secrets.invalidate?.(id)
    for (const name of Object.keys(config.credentials)) this.cache.retryNow(name)
    return ids
  }

  private async onPeerEvent(event: PeerEvent): Promise<void> {
    if (event.kind === 'secrets_reloaded') {
      this.reloadSecretsHere()
      return
    }
    if (!this.has(event.credential)) return
    const token = await this.deps.shared?.get(event.credential).catch(() => undefined)
    if (token) this.cache.offer(event.credential, token)
  }

  /** Peers missing a message only lose a shortcut: they still refresh on their own schedule. */
  private async tellPeers(event: PeerEvent): Promise<void> {
    await this.deps.shared?.publish(event).catch((err: unknown) => this.deps.logger.warn({ event: event.kind, error: (err as Error).message }, 'could not tell the other replicas'))
  }

  /** A credential's secret was replaced (onboarding): if it had failed, try it again at once. */
  retryNow(name: string): void {
    this.cache.retryNow(name)
  }

  /** Background refresh of recently used credentials past their refresh point; returns how many started. */
  refreshDue(): number {
    return this.cache.refreshDue(this.deps.config.tokens.idleSeconds * 1000)
  }

  /** Runs refreshDue every `backgroundRefreshSeconds` until stop(). */
  start(): void {
    const seconds = this.deps.config.tokens.backgroundRefreshSeconds
    if (seconds === 0 || this.timer) return
    this.timer = setInterval(() => this.refreshDue(), seconds * 1000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Obtains a token for every credential, so the first callers do not wait; failures are logged, not thrown. */
  async prewarm(): Promise<void> {
    // A few at a time: ten thousand refreshes at once would only queue on the LWA pool and
    // hold every answer in memory together.
    const queue = Object.keys(this.deps.config.credentials)
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        await this.getToken(name, 0).catch((err: unknown) => this.logFailure(name as string, err, 'could not pre-warm the token'))
      }
    }
    await Promise.all(Array.from({ length: prewarmConcurrency }, worker))
  }

  /** Resolves when no refresh is in flight (tests, shutdown). */
  settled(): Promise<void> {
    return this.cache.settled()
  }

  /**
   * A fresh token for the cache: another replica's, if it is fresher than ours and not yet
   * due for refresh; otherwise one replica (the lock holder) asks LWA and shares the result
   * while the others wait for it. Any failure of the shared store falls back to asking LWA
   * here: the shared layer may save LWA calls, never cost a caller its token.
   */
  private async obtain(name: string, config: CredentialConfig, force = false): Promise<BrokerToken> {
    const { shared } = this.deps
    if (!shared) return this.source.obtain(name, config)
    const local = this.cache.peek(name).token
    const usable = (t: BrokerToken | undefined): boolean => t !== undefined && !force
      && t.obtainedAtMs > (local?.obtainedAtMs ?? 0) && this.deps.clock.now() < this.cache.refreshPointOf(t)
    let release: (() => Promise<void>) | undefined
    try {
      const theirs = await shared.get(name)
      if (theirs && usable(theirs)) return theirs
      release = await shared.lock(name, sharedLockTtlMs)
      if (release) {
        // The previous holder may have shared its token between our read and our lock.
        const meanwhile = await shared.get(name)
        if (meanwhile && usable(meanwhile)) {
          await release().catch(() => {})
          return meanwhile
        }
      } else {
        const awaited = await shared.waitFor(name, Math.max(local?.obtainedAtMs ?? 0, theirs?.obtainedAtMs ?? 0), this.deps.config.tokens.requestDeadlineMs)
        if (awaited) return awaited
      }
    } catch (err) {
      this.deps.logger.warn({ credential: name, error: (err as Error).message }, 'shared token store unavailable; refreshing locally')
    }
    try {
      const fresh = await this.source.obtain(name, config)
      await shared.put(name, fresh).catch((err: unknown) => this.deps.logger.warn({ credential: name, error: (err as Error).message }, 'could not share the token'))
      return fresh
    } finally {
      await release?.().catch(() => {})
    }
  }

  private configOf(name: string): CredentialConfig {
    const config = this.has(name) ? this.deps.config.credentials[name] : undefined
    if (!config) throw new BrokerError('unknown_credential', `no credential named ${name}`)
    return config
  }

  /** No caller waits on a dead upstream beyond the deadline; the refresh itself goes on. */
  private async withinDeadline<T>(name: string, work: Promise<T>): Promise<T> {
    const ms = this.deps.config.tokens.requestDeadlineMs
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BrokerError('upstream_unavailable', `no token for credential ${name} within ${ms} ms; LWA is slow or unreachable`, { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) })), ms)
    })
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
      work.catch(() => {}) // a late failure of the abandoned wait is the cache's to remember, not unhandled
    }
  }

  private callerError(name: string, err: unknown): BrokerError {
    const { failure } = this.cache.peek(name)
    const retryAfterSeconds = Math.max(1, Math.ceil(((failure?.retryAtMs ?? 0) - this.deps.clock.now()) / 1000))
    const error = toBrokerError(name, err, retryAfterSeconds)
    if (!failure || error.code === 'internal_error' || error.code === 'unknown_credential') return error
    const since = new Date(failure.sinceMs).toISOString()
    return new BrokerError(error.code, `${error.message}; credential ${healthOf(failure)} since ${since}`, {
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      ...(error.logDetail ? { logDetail: error.logDetail } : {}),
      cause: err,
    })
  }

  private logFailure(credential: string, err: unknown, msg: string): void {
    const brokerError = toBrokerError(credential, err, 0)
    this.deps.logger.warn({ credential, error: brokerError.code, ...brokerError.logDetail }, msg)
  }
}

/** LWA refused the credential or its secret is unusable: retrying soon will not help. */
function isTerminal(err: unknown): boolean {
  return (err instanceof LwaError && !err.retryable) || (err instanceof SecretError && err.reason !== 'unavailable')
}

function healthOf(failure: Failure | undefined): CredentialHealth {
  if (!failure) return 'healthy'
  return isTerminal(failure.error) ? 'rejected' : 'degraded'
}
