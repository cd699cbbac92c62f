import type { ProfileBook } from './ads/profile-book.js'
import { mayGetCredential, type LabelsOf, type Principal, type ProfileOf } from './auth/index.js'
import { BrokerError, isBrokerError } from './errors.js'
import type { AuditLog } from './observability/audit.js'
import type { Catalogue } from './catalogue/catalogue.js'
import type { Live } from './reload.js'
import type { Metrics } from './observability/metrics.js'
import type { Spans } from './observability/spans.js'
import type { IssuedRdt, RestrictedDataTokens } from './rdt/restricted-data-tokens.js'
import type { ResourceSet } from './rdt/resources.js'
import type { IssuedToken, TokenService } from './tokens/index.js'

/** One request for a token, whatever route or wire shape it came by. */
export interface TokenRequest {
  requestId: string
  /** The verified caller, or undefined with `callerError` saying why there is none. */
  caller: Principal | undefined
  callerError: BrokerError | undefined
  /** Whom a rate limit counted (the caller, or its address): a 429 is audited under it. */
  callerKey: string
  credential: string
  minTtlSeconds: number
  /** The Ads profile the token is to be scoped to; undefined: the credential's fixed `profileId`, if any. */
  profile?: string | undefined
  /** How long this caller waits for a token; undefined: `tokens.requestDeadlineMs`. */
  deadlineMs?: number
  /** A background refresh starts once the cached token has less than this left (a floor's headroom). */
  refreshBelowSeconds?: number
}

export interface ExchangeDeps {
  /** The policy is the current generation's: a config reload swaps it. */
  live: Live
  /** Where a credential's labels come from, for label rules. */
  catalogue: Catalogue
  tokens: TokenService
  /** Which profiles an Ads credential reaches. */
  profiles: ProfileBook
  audit: AuditLog
  metrics: Metrics
  /** Restricted Data Tokens, through the same checks. */
  rdt: RestrictedDataTokens
  spans?: Spans
}

/**
 * The one sequence of checks every token passes on its way out (octo-sts' Exchange): the
 * caller (already authenticated and rate-limited), then policy, then the token itself; every
 * outcome audited and counted. The policy check comes before the existence check, so a
 * caller learns whether a credential exists only for names it would be allowed to use; a
 * profile, only for profiles its rule lets it ask for.
 */
export class Exchange {
  private readonly labelsOf: LabelsOf
  private readonly fixedProfileOf: ProfileOf

  constructor(private readonly deps: ExchangeDeps) {
    this.labelsOf = (name) => deps.catalogue.labelsOf(name)
    this.fixedProfileOf = (name) => {
      const config = deps.catalogue.get(name)
      return config?.grant === 'refresh_token' ? config.profileId : undefined
    }
  }

  issue(request: TokenRequest): Promise<IssuedToken> {
    const spans = this.deps.spans
    if (!spans) return this.checked(request)
    return spans.inSpan('lwa_broker.token', { 'lwa_broker.credential': request.credential }, async (span) => {
      const token = await this.checked(request)
      span.set({ 'lwa_broker.outcome': 'issued' })
      return token
    })
  }

  /**
   * Most requests: a caller the policy allows, a token in the cache. Issued (audited and
   * counted) without a promise; undefined, with nothing recorded, sends the request to `issue`.
   */
  issueCached(request: TokenRequest): IssuedToken | undefined {
    const caller = request.caller
    if (!caller || !this.allows(caller, request)) return undefined
    const token = this.deps.tokens.cachedToken(request.credential, request.minTtlSeconds)
    if (!token || (request.profile !== undefined && !this.deps.profiles.knows(request.credential, request.profile))) {
      return undefined
    }
    this.issued(request, token)
    return token
  }

  private checked(request: TokenRequest): Promise<IssuedToken> {
    return this.guarded(request, undefined, async () => {
      if (request.profile !== undefined) await this.deps.profiles.check(request.credential, request.profile)
      const token = await this.deps.tokens.getToken(request.credential, request.minTtlSeconds, request)
      this.issued(request, token)
      return token
    })
  }

  /**
   * A Restricted Data Token: the caller's rule must allow restricted data for every path (PII is
   * never implied by access to the credential). Audited with the paths, never the token.
   */
  issueRestricted(request: TokenRequest, set: ResourceSet): Promise<IssuedRdt> {
    return this.guarded(request, set.paths, async () => {
      const rdt = await this.deps.rdt.get(request.credential, set, request.minTtlSeconds)
      this.deps.audit.restrictedIssued(this.context(request), rdt)
      return rdt
    })
  }

  /** As issueCached, for an RDT: one the caller may have, cached with its seller's access token, or undefined. */
  issueRestrictedCached(request: TokenRequest, set: ResourceSet): IssuedRdt | undefined {
    const caller = request.caller
    if (!caller || !this.allows(caller, request, set.paths)) return undefined
    const rdt = this.deps.rdt.cachedRdt(request.credential, set, request.minTtlSeconds)
    if (rdt) this.deps.audit.restrictedIssued(this.context(request), rdt)
    return rdt
  }

  /** The caller, then policy, then `obtain`; a refusal at any step audited and counted. */
  private async guarded<T>(request: TokenRequest, restrictedPaths: readonly string[] | undefined,
    obtain: () => Promise<T>): Promise<T> {
    let allowed = false
    try {
      const caller = request.caller
      if (!caller) throw request.callerError ?? new BrokerError('unauthenticated', 'missing or invalid bearer token')
      allowed = this.allows(caller, request, restrictedPaths)
      if (!allowed) {
        const what = restrictedPaths ? 'have restricted data of' : 'use'
        throw new BrokerError('forbidden', `caller ${caller.subject} may not ${what} credential ${request.credential}`)
      }
      return await obtain()
    } catch (err) {
      this.refused(request, err, allowed)
      throw err
    }
  }

  /**
   * The names among `names` this caller's policy lets it have, for a request that names a
   * scope rather than a credential (a grantless token): nothing is audited or counted here,
   * since the chosen name then goes through `issue`, or the request through `refuse`.
   */
  allowedAmong(caller: Principal, names: readonly string[]): string[] {
    return names.filter((credential) => this.allows(caller, { credential }))
  }

  /**
   * A request refused before it could name a credential (no allowed credential has the
   * grantless scope asked for): audited and counted as a denied name is, so it tells no one
   * which names exist. Returns the error for the caller to throw.
   */
  refuse(request: TokenRequest, err: BrokerError): BrokerError {
    this.refused(request, err, false)
    return err
  }

  /** A denied profile is refused exactly as a denied credential: nobody learns which profiles exist. */
  private allows(
    caller: Principal,
    request: Pick<TokenRequest, 'credential' | 'profile'>,
    restrictedPaths?: readonly string[],
  ): boolean {
    const { profile } = request
    const profileOf = profile === undefined ? this.fixedProfileOf : () => profile
    const policy = this.deps.live.current.policy
    return mayGetCredential(policy, caller, request.credential, this.labelsOf, profileOf, restrictedPaths).allowed
  }

  private issued(request: TokenRequest, token: IssuedToken): void {
    this.deps.audit.issued(this.context(request), token)
    this.deps.metrics.tokenIssued(token)
  }

  private refused(request: TokenRequest, err: unknown, allowed: boolean): void {
    const code = isBrokerError(err) ? err.code : 'internal_error'
    const ctx = this.context(request)
    const reason = isBrokerError(err) && typeof err.logDetail?.reason === 'string' ? err.logDetail.reason : undefined
    if (code === 'rate_limited') this.deps.audit.rateLimited(ctx, request.callerKey)
    else this.deps.audit.denied(ctx, code, reason)
    // A label is a configured name the caller may use: never text the caller chose, and never
    // a name it was denied (a metric must not tell anyone which names exist).
    const label = !allowed ? '(denied)' : this.deps.tokens.has(request.credential) ? request.credential : '(unknown)'
    this.deps.metrics.tokenOutcome(label, code)
  }

  private context(request: TokenRequest) {
    return { requestId: request.requestId, principal: request.caller, credential: request.credential }
  }
}
