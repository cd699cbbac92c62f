import { secretIdsOf, secretIdsOfCredential, type CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { LwaError } from '../lwa/index.js'
import { SecretError, type SecretStage } from '../secrets/index.js'
import type { SecretProblem } from '../secrets/secret-sweep.js'
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
  /** Why a secret could not be read by the background sweep, if it could not. */
  secretProblem?: (secretId: string) => SecretProblem | undefined
}

/** Refreshes in flight during a prewarm: about the size of the LWA connection pool. */
const prewarmConcurrency = 16

/** A refresh lock outlives any sane refresh: LWA attempts plus pauses, well under a minute. */
export const sharedLockTtlMs = 30_000

/**
 * healthy: last refresh worked. degraded: refreshes failing (the cached token may still
 * serve), or served from a secret version other than AWSCURRENT. rejected: LWA refused the
 * credential. misconfigured: its secret is missing, not JSON, or lacks a field.
 */
export type CredentialHealth = 'healthy' | 'degraded' | 'rejected' | 'misconfigured'

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
  /** Set while the credential is served from another stage than AWSCURRENT (a rotation under way). */
  stage: { secret: 'app' | 'grant'; stage: SecretStage } | undefined
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
    return Object.entries(this.deps.config.credentials).map(([name, config]) => this.statusOf(name, config))
  }

  private statusOf(name: string, config: CredentialConfig): CredentialStatus {
    const { token, failure, lastUsedMs } = this.cache.peek(name)
    const pin = this.source.stageOf(name)
    const ownGrant = config.grant === 'refresh_token' && config.grantSecret !== config.appSecret
    const stage = pin && { secret: ownGrant && pin.secretId !== config.appSecret ? 'grant' as const : 'app' as const, stage: pin.stage }
    const trouble = failure ?? (token ? undefined : this.sweptFailure(config))
    return {
      credential: name,
      api: config.api,
      region: config.region,
      health: trouble ? healthOf(trouble.error) : stage ? 'degraded' : 'healthy',
      tokenExpiresAtMs: token?.expiresAtMs,
      lastRefreshAtMs: token?.obtainedAtMs,
      lastUsedAtMs: lastUsedMs,
      secretVersions: token?.secretVersions,
      stage,
      lastError: trouble && {
        code: toBrokerError(name, trouble.error, 0).code,
        lwaError: trouble.error instanceof LwaError ? trouble.error.code : undefined,
        atMs: trouble.atMs,
        sinceMs: trouble.sinceMs,
        retryAtMs: trouble.retryAtMs,
        consecutive: trouble.consecutive,
      },
    }
  }

  /** A credential nobody has asked for yet still shows a secret the background sweep could not read. */
  private sweptFailure(config: CredentialConfig): Failure | undefined {
    for (const id of secretIdsOfCredential(config)) {
      const problem = this.deps.secretProblem?.(id)
      if (problem) {
        const error = new SecretError(problem.reason, id, problem.message)
        return { error, atMs: problem.atMs, sinceMs: problem.atMs, retryAtMs: problem.retryAtMs, consecutive: 1 }
      }
    }
    return undefined
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

  /**
   * The credential was connected to an Amazon account anew (onboarding): its cached token,
   * here, in the shared store and on every other replica, may be the previous account's, and
   * its secrets are re-read on next use.
   */
  async reconnected(name: string): Promise<void> {
    this.forgetHere(name)
    await this.deps.shared?.drop(name).catch((err: unknown) => this.deps.logger.warn({ credential: name, error: (err as Error).message }, 'could not drop the shared token'))
    await this.tellPeers({ kind: 'credential_reconnected', credential: name })
  }

  private forgetHere(name: string): void {
    const config = this.deps.config.credentials[name]
    this.cache.forget(name)
    for (const id of config ? secretIdsOfCredential(config) : []) this.deps.secrets.invalidate?.(id)
  }

  private async onPeerEvent(event: PeerEvent): Promise<void> {
    if (event.kind === 'secrets_reloaded') {
      this.reloadSecretsHere()
      return
    }
    if (!this.has(event.credential)) return
    if (event.kind === 'credential_reconnected') {
      this.forgetHere(event.credential)
      return
    }
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
    if (!failure || ['internal_error', 'unknown_credential', 'invalid_request'].includes(error.code)) return error
    const since = new Date(failure.sinceMs).toISOString()
    return new BrokerError(error.code, `${error.message}; credential ${healthOf(failure.error)} since ${since}`, {
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

function healthOf(error: unknown): CredentialHealth {
  if (error instanceof SecretError && error.reason !== 'unavailable') return 'misconfigured'
  return isTerminal(error) ? 'rejected' : 'degraded'
}
