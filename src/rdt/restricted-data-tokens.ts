import { createHash } from 'node:crypto'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig, Region } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { withMemo, type Memo } from '../memo.js'
import { withinDeadline } from '../tokens/deadline.js'
import type { BrokerToken, IssuedToken, SharedTokenStore, TokenService } from '../tokens/index.js'
import { sharedLockTtlMs } from '../tokens/index.js'
import type { Pace, Plan } from './pace.js'
import type { RdtMetrics, RdtSource } from './rdt-metrics.js'
import type { ResourceSet } from './resources.js'
import { createRestrictedDataToken, type TokensApiDeps } from './tokens-api.js'

/** An RDT as callers are given it; `headers` is what the restricted call sends. */
export interface IssuedRdt {
  restrictedDataToken: string
  credential: string
  region: Region
  expiresAtMs: number
  expiresAt: string
  headers: { 'x-amz-access-token': string }
  /** The paths it opens (for the audit line). */
  paths: string[]
  readonly memo: Memo
}

export interface RdtDeps {
  catalogue: Catalogue
  tokens: TokenService
  /** The same store access tokens are shared through: RDTs sealed in Redis, one replica minting. */
  share: SharedTokenStore
  pace: Pace
  clock: Clock
  metrics: RdtMetrics
  /** The current generation's settings (a reload swaps them). */
  settings: () => { spApi: BrokerConfig['spApi']; deadlineMs: number }
  dispatcher: TokensApiDeps['dispatcher']
}

type Found = { rdt: BrokerToken; source: RdtSource }
/** Whether an RDT may be served to this caller: the credential's grant still, `min_ttl` left. */
type Usable = (rdt: BrokerToken) => boolean

/** RDTs are minted for a seller: an SP-API credential with a refresh token. */
const isSeller = (config: CredentialConfig): boolean => config.grant === 'refresh_token' && config.api === 'sp-api'

/** Where this replica caches a set's RDT: the canonical text itself (hashed only for Redis). */
const localKey = (credential: string, set: ResourceSet): string => `${credential}\n${set.text}`

/** The seller's access token is used at once, for one call: a minute left is plenty. */
const accessMinTtlSeconds = 60

/**
 * Restricted Data Tokens, cached per (credential, resource set) for their lifetime less the
 * caller's `min_ttl`, one Tokens API call for any number of callers and replicas asking the same
 * set, at the pace Amazon allows per seller. An RDT is kept with the secret versions of the grant
 * it was minted with: once the credential holds another grant (another account), it is not served.
 */
export class RestrictedDataTokens {
  private readonly cached = new Map<string, BrokerToken>()
  private readonly flights = new Map<string, Promise<Found>>()
  /** One answer object per RDT: its audit fragment and its JSON are then made once, not per request. */
  private readonly issued = new WeakMap<BrokerToken, IssuedRdt>()

  constructor(private readonly deps: RdtDeps) {}

  /**
   * An RDT cached here for the set with `minTtlSeconds` left, and the seller's access token cached too: at once, with
   * no promise (the hot path). Undefined: `get`.
   */
  cachedRdt(credential: string, set: ResourceSet, minTtlSeconds: number): IssuedRdt | undefined {
    const config = this.deps.catalogue.get(credential)
    if (!config || !isSeller(config)) return undefined
    const access = this.deps.tokens.cachedToken(credential, accessMinTtlSeconds)
    const local = access && this.cached.get(localKey(credential, set))
    if (!access || !local || !this.usable(local, access, minTtlSeconds * 1000)) return undefined
    return this.issuedAs({ rdt: local, source: 'cache' }, access, set)
  }

  async get(credential: string, set: ResourceSet, minTtlSeconds: number): Promise<IssuedRdt> {
    const config = this.deps.catalogue.get(credential)
    if (!config) throw new BrokerError('unknown_credential', `no credential named ${credential}`)
    if (!isSeller(config)) {
      throw new BrokerError('invalid_request', `credential ${credential} is not a seller's SP-API credential: `
        + 'Restricted Data Tokens are minted for a seller')
    }
    const { tokens } = this.deps
    const access = tokens.cachedToken(credential, accessMinTtlSeconds)
      ?? await tokens.getToken(credential, accessMinTtlSeconds)
    const key = localKey(credential, set)
    const minTtlMs = minTtlSeconds * 1000
    const usable: Usable = (rdt) => this.usable(rdt, access, minTtlMs)
    const local = this.cached.get(key)
    let found: Found | undefined = local && usable(local) ? { rdt: local, source: 'cache' } : undefined
    if (!found) {
      const joining = this.flights.has(key)
      found = await this.joined(credential, key, () => this.obtain(key, access, set, usable))
      if (joining) found = { rdt: found.rdt, source: 'joined' }
      // A flight begun for a shorter min_ttl may not do for this caller: then it asks for itself.
      if (!usable(found.rdt)) found = await this.obtain(key, access, set, usable)
    }
    return this.issuedAs(found, access, set)
  }

  /** Minted with the credential's grant still held, and `minTtlMs` left. */
  private usable(rdt: BrokerToken, access: IssuedToken, minTtlMs: number): boolean {
    return sameGrant(rdt, access) && rdt.expiresAtMs - this.deps.clock.now() >= minTtlMs
  }

  /** Counted by where it came from; one answer object per RDT. */
  private issuedAs(found: Found, access: IssuedToken, set: ResourceSet): IssuedRdt {
    this.deps.metrics.rdtIssued(found.source)
    let issued = this.issued.get(found.rdt)
    if (!issued) this.issued.set(found.rdt, (issued = issuedOf(found.rdt, access, set.paths)))
    return issued
  }

  /** One flight per key for every caller here; each caller waits at most the request deadline. */
  private joined(credential: string, key: string, work: () => Promise<Found>): Promise<Found> {
    let flight = this.flights.get(key)
    if (!flight) {
      flight = work().finally(() => this.flights.delete(key))
      this.flights.set(key, flight)
    }
    const ms = this.deps.settings().deadlineMs
    return withinDeadline(flight, ms, () => new BrokerError('upstream_unavailable',
      `no Restricted Data Token for credential ${credential} within ${ms} ms; the Tokens API is slow or unreachable`,
      { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) }))
  }

  /**
   * Kept here as soon as it is had, even when every caller stopped waiting: the next caller is
   * served the late answer instead of paying for another call.
   */
  private async obtain(key: string, access: IssuedToken, set: ResourceSet, usable: Usable): Promise<Found> {
    const found = await this.fetch(sharedKey(access.credential, set), access, set, usable)
    this.keep(key, found.rdt)
    return found
  }

  /** Another replica's RDT if it has one; otherwise one replica (the lock holder) mints it and shares it. */
  private async fetch(
    sharedKey: string,
    access: IssuedToken,
    set: ResourceSet,
    usable: Usable,
  ): Promise<Found> {
    const { share } = this.deps
    const theirs = await share.get(sharedKey).catch(() => undefined)
    if (theirs && usable(theirs)) return { rdt: theirs, source: 'shared' }
    const release = await share.lock(sharedKey, sharedLockTtlMs).catch(() => async () => {})
    if (!release) {
      const waited = await share.waitFor(sharedKey, theirs?.obtainedAtMs ?? 0, this.deps.settings().deadlineMs)
        .catch(() => undefined)
      if (waited && usable(waited)) return { rdt: waited, source: 'shared' }
    }
    try {
      const rdt = await this.mint(access, set)
      await share.put(sharedKey, rdt).catch(() => {})
      return { rdt, source: 'minted' }
    } finally {
      await release?.().catch(() => {})
    }
  }

  private async mint(access: IssuedToken, set: ResourceSet): Promise<BrokerToken> {
    const { spApi } = this.deps.settings()
    const { pace, clock, metrics } = this.deps
    const seller = access.config.grant === 'refresh_token' ? access.config.sellingPartnerId : undefined
    const paceKey = `${access.clientId}/${seller ?? access.credential}`
    const plan: Plan = {
      ratePerSecond: spApi.restrictedDataTokens.ratePerSecond,
      burst: spApi.restrictedDataTokens.burst,
    }
    const waitMs = await pace.take(paceKey, plan, clock.now())
    if (waitMs > 0) {
      metrics.refusedByPace()
      throw paced(access.credential, Math.ceil(waitMs / 1000))
    }
    const answer = await createRestrictedDataToken(
      { dispatcher: this.deps.dispatcher, endpoints: spApi.endpoints, timeoutMs: spApi.timeoutMs },
      access.config.region, access.accessToken, set,
    ).catch((err: unknown) => {
      metrics.tokensApiCall(err instanceof BrokerError && err.code.startsWith('resource_') ? 'refused' : 'failed')
      throw err
    })
    if (answer.rateLimit !== undefined) await pace.learn(paceKey, answer.rateLimit)
    if ('throttled' in answer) {
      metrics.tokensApiCall('throttled')
      await pace.drain(paceKey, plan, clock.now())
      const rate = Math.min(plan.ratePerSecond, answer.rateLimit ?? Infinity)
      throw paced(access.credential, answer.retryAfterSeconds ?? Math.ceil(1 / rate))
    }
    metrics.tokensApiCall('minted')
    const nowMs = clock.now()
    return {
      accessToken: answer.minted.token, tokenType: 'bearer', obtainedAtMs: nowMs, clientId: access.clientId,
      expiresAtMs: nowMs + answer.minted.expiresInSeconds * 1000, secretVersions: access.secretVersions,
    }
  }

  /** The newest first out: an RDT lives an hour, so this bounds a burst of distinct sets, not the steady state. */
  private keep(key: string, rdt: BrokerToken): void {
    this.cached.delete(key)
    this.cached.set(key, rdt)
    const max = this.deps.settings().spApi.restrictedDataTokens.maxCached
    for (const oldest of this.cached.keys()) {
      if (this.cached.size <= max) break
      this.cached.delete(oldest)
    }
  }
}

const sameGrant = (rdt: BrokerToken, access: BrokerToken): boolean => rdt.clientId === access.clientId
  && rdt.secretVersions.app === access.secretVersions.app && rdt.secretVersions.grant === access.secretVersions.grant

const paced = (credential: string, retryAfterSeconds: number): BrokerError => new BrokerError('rate_limited',
  `Restricted Data Tokens for credential ${credential} are asked for faster than the Tokens API allows`,
  { retryAfterSeconds: Math.max(1, retryAfterSeconds) })

/** Redis keys stay short whatever the set: its text hashed, under the credential. */
const sharedKey = (credential: string, set: ResourceSet): string =>
  `rdt/${credential}/${createHash('sha256').update(set.text).digest('base64url')}`

function issuedOf(rdt: BrokerToken, access: IssuedToken, paths: string[]): IssuedRdt {
  return withMemo({
    restrictedDataToken: rdt.accessToken,
    credential: access.credential,
    region: access.config.region,
    expiresAtMs: rdt.expiresAtMs,
    expiresAt: new Date(rdt.expiresAtMs).toISOString(),
    headers: { 'x-amz-access-token': rdt.accessToken },
    paths,
    memo: undefined,
  })
}
