import { hash, type KeyObject } from 'node:crypto'
import { decodeJwt, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { Clock } from '../clock.js'
import type { IssuerConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { keptClaims } from './claims.js'
import { KeysUnavailableError } from './key-fetch.js'
import { issuerKeys, keyFetchFailureCodes, type IssuerKeys } from './key-sources.js'
import { bearerToken, joseReason, unauthenticated } from './refusals.js'
import type { Principal } from './principal.js'
import { ReplayCacheFullError, type ReplayGuard } from './replay-guard.js'
import { sharedSecret } from './shared-secret.js'
import { VerifiedTokenCache } from './verified-cache.js'
import { withMemo } from '../memo.js'

/** How long callers are told to wait when an issuer's keys cannot be fetched. */
const keysUnavailableRetrySeconds = 5

interface IssuerVerifier {
  config: IssuerConfig
  key: IssuerKeys | KeyObject
}

export interface AuthenticatorOptions {
  clock: Clock
  cache: { maxEntries: number; maxAgeMs: number }
  /** allowInsecureEndpoints: discovery may name a plain http:// JWKS on a non-loopback host. */
  allowInsecureEndpoints?: boolean
  /** Remembers `jti`s of issuers with requireJti; needed when any issuer sets it. */
  replay?: ReplayGuard
  /** The top-level claims the policy reads (policy.ts claimsReadBy): a verified caller keeps only these. */
  claims: ReadonlySet<string>
}

/**
 * Verifies caller JWTs against the configured issuers. The unverified `iss` only selects
 * one of the configured issuers; nothing about an unknown issuer is ever fetched or trusted.
 * Every failure is the same 401 to the caller; `logDetail.reason` says which check failed.
 */
export class Authenticator {
  private readonly issuers: Map<string, IssuerVerifier>
  private readonly options: AuthenticatorOptions
  private verified: VerifiedTokenCache
  /**
   * The claims a principal keeps: 10,000 cached callers' claims no rule reads (the audience,
   * the pod's and service account's uids) were ≈3 MB. Only grows (readClaims).
   */
  private kept: ReadonlySet<string>
  /** Issuers whose remote keys have been loaded once. */
  private readonly warmed = new Set<string>()

  constructor(issuers: readonly IssuerConfig[], options: AuthenticatorOptions) {
    this.options = options
    this.verified = new VerifiedTokenCache(options.cache.maxEntries)
    this.kept = options.claims
    this.issuers = new Map(issuers.map((config) => [config.issuer, {
      config,
      key: config.sharedSecretFile
        ? sharedSecret(config, config.sharedSecretFile)
        : issuerKeys(config, options.allowInsecureEndpoints),
    }]))
  }

  /**
   * `beforeVerify` runs when the token needs a signature check (not verified before), and may refuse it by
   * throwing.
   */
  async authenticate(authorization: string | undefined, beforeVerify?: () => void): Promise<Principal> {
    const jwt = bearerToken(authorization)
    const now = this.options.clock.now()
    const cacheKey = hash('sha256', jwt, 'base64url')
    const known = this.verified.get(cacheKey, now)
    if (known) return known
    return this.verifyAndRemember(jwt, cacheKey, now, beforeVerify)
  }

  /**
   * The caller of a JWT verified before, without a promise: most requests end here. Undefined
   * when it needs `authenticate` (not seen before, expired from the cache, or malformed).
   */
  known(authorization: string | undefined): Principal | undefined {
    let jwt: string
    try {
      jwt = bearerToken(authorization)
    } catch {
      return undefined
    }
    return this.verified.get(hash('sha256', jwt, 'base64url'), this.options.clock.now())
  }

  private async verifyAndRemember(
    jwt: string,
    cacheKey: string,
    now: number,
    beforeVerify: (() => void) | undefined,
  ): Promise<Principal> {
    beforeVerify?.()
    const principal = await this.verify(jwt, now)
    const config = this.issuers.get(principal.issuer)?.config
    // A single-use token is never remembered as verified: its second use must fail.
    if (config?.requireJti) return this.once(principal, now)
    const maxAgeMs = principal.issuedAtMs !== undefined && config?.maxTokenAgeSeconds
    const untilMs = Math.min(
      principal.expiresAtMs,
      now + this.options.cache.maxAgeMs,
      maxAgeMs ? (principal.issuedAtMs as number) + maxAgeMs * 1000 : Infinity,
    )
    this.verified.set(cacheKey, principal, untilMs)
    return principal
  }

  /** requireJti: the token's `jti` is accepted once, until the token expires. */
  private async once(principal: Principal, now: number): Promise<Principal> {
    const jti = principal.claims.jti
    if (typeof jti !== 'string' || jti.length === 0) throw unauthenticated('missing_jti', { issuer: principal.issuer })
    if (!this.options.replay) throw new TypeError('an issuer with requireJti needs a replay guard')
    try {
      if (await this.options.replay.firstUse(principal.issuer, jti, principal.expiresAtMs, now)) return principal
    } catch (err) {
      if (!(err instanceof ReplayCacheFullError)) throw err
      throw new BrokerError('upstream_unavailable', 'single-use tokens cannot be checked right now', {
        retryAfterSeconds: keysUnavailableRetrySeconds,
        logDetail: { reason: 'replay_cache_full', issuer: principal.issuer },
      })
    }
    throw unauthenticated('jti_replayed', { issuer: principal.issuer })
  }

  /**
   * A reloaded policy's claims. One that reads a claim not kept so far empties the
   * verified-token cache: its callers were kept without that claim, and are verified again.
   * A verification finishing after this keeps the new set (it reads it when it finishes).
   */
  readClaims(names: ReadonlySet<string>): void {
    if ([...names].every((name) => this.kept.has(name))) return
    this.kept = new Set([...this.kept, ...names])
    this.verified = new VerifiedTokenCache(this.options.cache.maxEntries)
  }

  /** Loads every issuer's keys now; rejects naming the first issuer whose keys cannot be had. */
  async warm(): Promise<void> {
    const { failed } = await this.warmEach()
    if (failed[0] !== undefined) throw new KeysUnavailableError(failed[0])
  }

  /**
   * Loads each issuer's keys (within its fetch cooldown), and says how many issuers have
   * keys and why the others have none: one unreachable issuer does not stop the rest.
   */
  async warmEach(): Promise<{ loaded: number; failed: string[] }> {
    const failed: string[] = []
    for (const { config, key } of this.issuers.values()) {
      // Once loaded, jose keeps a key set fresh by itself (cacheMaxAge, unknown kid).
      if (!('warm' in key) || this.warmed.has(config.issuer)) continue
      await key.warm().then(
        () => this.warmed.add(config.issuer),
        (err: unknown) => failed.push(`keys of issuer ${config.issuer} are unavailable: ${(err as Error).message}`),
      )
    }
    return { loaded: this.issuers.size - failed.length, failed }
  }

  private async verify(jwt: string, now: number): Promise<Principal> {
    const { config, key } = this.issuerOf(jwt)
    try {
      const verifyOptions = {
        issuer: config.issuer,
        audience: config.audiences,
        algorithms: config.algorithms,
        clockTolerance: config.clockToleranceSeconds,
        ...(config.maxTokenAgeSeconds ? { maxTokenAge: config.maxTokenAgeSeconds } : {}),
        ...(config.typ ? { typ: config.typ } : {}),
        requiredClaims: ['iss', 'aud', 'exp', 'sub', ...config.requiredClaims],
        currentDate: new Date(now),
      }
      const { payload } = 'getKey' in key
        ? await jwtVerify(jwt, key.getKey as JWTVerifyGetKey, verifyOptions)
        : await jwtVerify(jwt, key, verifyOptions)
      // A single-use token is never cached, and its check reads `jti`: it keeps every claim.
      return principalOf(config, payload, config.requireJti ? payload : keptClaims(payload, this.kept), now)
    } catch (err) {
      if (err instanceof BrokerError) throw err
      if (err instanceof KeysUnavailableError || keyFetchFailureCodes.has((err as { code?: string }).code ?? '')) {
        throw new BrokerError('upstream_unavailable', 'the keys to verify this token cannot be fetched right now', {
          retryAfterSeconds: keysUnavailableRetrySeconds,
          logDetail: { reason: 'keys_unavailable', issuer: config.issuer, detail: (err as Error).message },
        })
      }
      throw unauthenticated(joseReason(err), { issuer: config.issuer })
    }
  }

  private issuerOf(jwt: string): IssuerVerifier {
    let iss: unknown
    try {
      iss = decodeJwt(jwt).iss
    } catch {
      throw unauthenticated('malformed_token')
    }
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined
    if (!issuer) throw unauthenticated(typeof iss === 'string' ? 'unknown_issuer' : 'missing_issuer')
    return issuer
  }
}

/** `claims`: what of the payload the principal keeps (the expiry, issue time and subject are its own fields). */
function principalOf(config: IssuerConfig, payload: JWTPayload, claims: JWTPayload, now: number): Principal {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
    throw unauthenticated('invalid_sub', { issuer: config.issuer })
  }
  // jose checks a future iat only together with maxTokenAge; a token from the future is never fine.
  if (typeof payload.iat === 'number' && payload.iat * 1000 > now + config.clockToleranceSeconds * 1000) {
    throw unauthenticated('iat_in_future', { issuer: config.issuer })
  }
  return withMemo({
    issuer: config.issuer,
    subject: payload.sub,
    claims,
    expiresAtMs: (payload.exp as number) * 1000,
    issuedAtMs: typeof payload.iat === 'number' ? payload.iat * 1000 : undefined,
    memo: undefined,
  })
}
