import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Catalogue, CatalogueChange } from '../catalogue/catalogue.js'
import { secretIdsOfCredential, type BrokerConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { toBrokerError } from '../failures.js'
import type { BrokerEvents } from '../observability/events.js'
import type { Spans } from '../observability/spans.js'
import type { SecretStore } from '../secrets/index.js'
import { tokenWithinDeadline, type TokenWait } from './deadline.js'
import { issuedToken, type IssuedToken } from './issued-token.js'
import { callerErrorFor, tokenCacheFor } from './refresh-failures.js'
import { Replication } from './replication.js'
import type { PeerEvent, SharedTokenStore } from './shared-store.js'
import type { CacheState, TokenCache } from './token-cache.js'
import type { BrokerToken, TokenSource } from './token-source.js'

export interface TokenServiceDeps {
  config: BrokerConfig
  /** The credentials that exist now (the config file's and the discovered ones). */
  catalogue: Catalogue
  secrets: SecretStore
  source: TokenSource
  /** Tokens, refresh locks and peer events shared with other replicas, or the local share alone. */
  share: SharedTokenStore
  clock: Clock
  logger: Logger
  random?: () => number; events?: BrokerEvents; spans?: Spans
}

/** `changed`: the name was redeclared or removed; `reconnected`: connected to an Amazon account anew (onboarding). */
export type ForgetReason = 'changed' | 'reconnected'

/** What the status read model may see of the cache. */
export interface CacheView {
  peek(name: string): CacheState<BrokerToken>
}

/**
 * Vends access tokens by credential name: the cache first, otherwise a fresh token through
 * the shared-token port (another replica's, or LWA's). Also what operators ask of it: a forced
 * refresh, a secret reload, a credential connected anew; and what other replicas tell it.
 */
export class TokenService implements CacheView {
  private readonly deps: TokenServiceDeps
  /** Tokens as callers are given them: a hit is served without a second lookup. */
  private readonly cache: TokenCache<IssuedToken>
  private readonly replication: Replication
  private readonly forgetListeners: Array<(name: string, why: ForgetReason) => void> = []

  constructor(deps: TokenServiceDeps) {
    this.deps = deps
    this.replication = new Replication({
      share: deps.share,
      source: deps.source,
      clock: deps.clock,
      logger: deps.logger,
      waitMs: deps.config.tokens.requestDeadlineMs,
      current: (name) => deps.catalogue.get(name),
    })
    deps.share.subscribe((event) => void this.onPeerEvent(event))
    deps.catalogue.onChange((changes) => this.catalogueChanged(changes))
    const load = (name: string, minLeftMs: number, force: boolean) => this.obtain(name, force, minLeftMs)
    this.cache = tokenCacheFor(deps, load, (credential, err) =>
      this.logFailure(credential, err, 'background refresh failed; serving the cached token while it lasts'))
  }

  has(name: string): boolean {
    return this.deps.catalogue.has(name)
  }

  /** A token with at least `minTtlSeconds` left, within the caller's (else the request) deadline, or a BrokerError. */
  async getToken(name: string, minTtlSeconds: number, wait: TokenWait = {}): Promise<IssuedToken> {
    this.deps.catalogue.require(name)
    const cached = this.cache.hit(name, minTtlSeconds * 1000, (wait.refreshBelowSeconds ?? 0) * 1000)
    const spans = this.deps.spans
    if (cached) {
      spans?.done('lwa_broker.cache', { 'lwa_broker.credential': name, 'lwa_broker.cache.result': 'hit' })
      return cached
    }
    const deadlineMs = wait.deadlineMs ?? this.deps.config.tokens.requestDeadlineMs
    const waitFor = (): Promise<IssuedToken> => this.waitForToken(name, minTtlSeconds, deadlineMs)
    const miss = { 'lwa_broker.credential': name, 'lwa_broker.cache.result': 'miss' }
    return spans ? spans.inSpan('lwa_broker.cache', miss, waitFor) : waitFor()
  }

  private async waitForToken(name: string, minTtlSeconds: number, deadlineMs: number): Promise<IssuedToken> {
    try {
      return await tokenWithinDeadline(name, deadlineMs, this.cache.get(name, minTtlSeconds * 1000))
    } catch (err) {
      throw this.callerError(name, err)
    }
  }

  /**
   * A cached token with `minTtlSeconds` left, at once; undefined: getToken (which also traces the lookup). The cache
   * holds catalogued names only (a name changed or removed is forgotten in the catalogue's own turn), so a hit needs
   * no catalogue lookup.
   */
  cachedToken(name: string, minTtlSeconds: number): IssuedToken | undefined {
    return this.deps.spans ? undefined : this.cache.hit(name, minTtlSeconds * 1000)
  }

  peek(name: string): CacheState<BrokerToken> {
    return this.cache.peek(name)
  }

  /** Obtains a new token now (admin); the cached one keeps serving unless the new one arrives, here and on peers. */
  async forceRefresh(name: string): Promise<void> {
    this.deps.catalogue.require(name)
    try {
      const refresh = this.cache.refreshNow(name)
      await tokenWithinDeadline(name, this.deps.config.tokens.requestDeadlineMs, refresh)
    } catch (err) {
      throw this.callerError(name, err)
    }
    await this.tellPeers({ kind: 'token_refreshed', credential: name })
  }

  /**
   * Makes every credential's secrets be re-read on next use and lets failed credentials be retried at once, so a
   * fixed secret is used right away (admin). Cached tokens stay: they are still valid. Returns the secret ids reloaded.
   */
  async reloadSecrets(): Promise<string[]> {
    const ids = this.reloadSecretsHere()
    await this.tellPeers({ kind: 'secrets_reloaded' })
    return ids
  }

  /**
   * The credential was connected to an Amazon account anew (onboarding): its cached token, here, in the shared store
   * and on every other replica, may be the previous account's, and its secrets are re-read on next use.
   */
  async reconnected(name: string): Promise<void> {
    await this.forgetEverywhere(name, 'reconnected')
    await this.tellPeers({ kind: 'credential_reconnected', credential: name })
  }

  /** Told when what is cached for a credential goes: what others keep about it (its profiles) must go too. */
  onForget(listener: (name: string, why: ForgetReason) => void): void {
    this.forgetListeners.push(listener)
  }

  /** Background refresh of keys used within `idleMs` that are past their refresh point. */
  refreshDue(idleMs: number): number {
    return this.cache.refreshDue(idleMs)
  }

  /** Resolves when no refresh is in flight (tests, shutdown). */
  settled(): Promise<void> {
    return this.cache.settled()
  }

  logFailure(credential: string, err: unknown, msg: string): void {
    const { code, logDetail } = toBrokerError(credential, err, 0)
    this.deps.logger.warn({ credential, error: code, ...logDetail }, msg)
  }

  /** A fresh token for the credential as the catalogue has it now (a changed one was forgotten first). */
  private async obtain(name: string, force: boolean, minLeftMs: number): Promise<IssuedToken> {
    const config = this.deps.catalogue.require(name)
    const local = {
      token: this.cache.peek(name).token,
      refreshPointOf: (t: BrokerToken) => this.cache.refreshPointOf(t),
      minLeftMs,
    }
    return issuedToken(name, config, await this.replication.obtain(name, config, local, force))
  }

  private reloadSecretsHere(): string[] {
    const { catalogue, secrets } = this.deps
    const ids = catalogue.secretIds()
    for (const id of ids) secrets.invalidate?.(id)
    for (const name of catalogue.names()) this.cache.retryNow(name)
    return ids
  }

  /** Its cached token, here and shared. */
  private async forgetEverywhere(name: string, why: ForgetReason): Promise<void> {
    this.forgetHere(name, why)
    await this.deps.share.drop(name).catch((err: unknown) => this.warn(name, err, 'could not drop the shared token'))
  }

  private forgetHere(name: string, why: ForgetReason): void {
    const config = this.deps.catalogue.get(name)
    this.cache.forget(name)
    for (const id of config ? secretIdsOfCredential(config) : []) this.deps.secrets.invalidate?.(id)
    for (const listener of this.forgetListeners) listener(name, why)
  }

  /** A credential that changed or went away keeps nothing: the name may now point at another account's secret. */
  private catalogueChanged(changes: readonly CatalogueChange[]): void {
    for (const { name, kind } of changes) if (kind !== 'added') void this.forgetEverywhere(name, 'changed')
  }

  /** What another replica told us: the same as the admin action there, without telling anyone again. */
  private async onPeerEvent(event: PeerEvent): Promise<void> {
    if (event.kind === 'catalogue_changed') return
    if (event.kind === 'secrets_reloaded') {
      this.reloadSecretsHere()
      return
    }
    if (!this.has(event.credential)) return
    if (event.kind === 'credential_reconnected') {
      this.forgetHere(event.credential, 'reconnected')
      return
    }
    const token = await this.deps.share.get(event.credential).catch(() => undefined)
    const config = this.deps.catalogue.get(event.credential)
    if (token && config) this.cache.offer(event.credential, issuedToken(event.credential, config, token))
  }

  /** Peers missing a message only lose a shortcut: they still refresh on their own schedule. */
  private async tellPeers(event: PeerEvent): Promise<void> {
    await this.deps.share.publish(event).catch((err: unknown) =>
      this.deps.logger.warn({ event: event.kind, error: (err as Error).message }, 'could not tell the other replicas'))
  }

  private callerError(name: string, err: unknown): BrokerError {
    return callerErrorFor(name, err, this.cache.peek(name).failure, this.deps.clock.now())
  }

  private warn(credential: string, err: unknown, msg: string): void {
    this.deps.logger.warn({ credential, error: (err as Error).message }, msg)
  }
}
