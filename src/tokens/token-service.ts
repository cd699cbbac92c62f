import type { CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { LwaError } from '../lwa/index.js'
import { apiHeaders } from './api-headers.js'
import { toBrokerError } from './broker-errors.js'
import { TokenCache } from './token-cache.js'
import { TokenSource, type BrokerToken, type TokenSourceDeps } from './token-source.js'

export interface IssuedToken extends BrokerToken {
  credential: string
  config: CredentialConfig
  headers: Record<string, string>
}

export type TokenServiceDeps = TokenSourceDeps

/** Floor for how long a failure is remembered before LWA is tried again. */
const minRetryDelayMs = 1000

/** Vends access tokens by credential name: the cache first, otherwise the token source. */
export class TokenService {
  private readonly deps: TokenServiceDeps
  private readonly cache: TokenCache<BrokerToken>
  private readonly source: TokenSource

  constructor(deps: TokenServiceDeps) {
    this.deps = deps
    this.source = new TokenSource(deps)
    const tokens = deps.config.tokens
    this.cache = new TokenCache<BrokerToken>({
      clock: deps.clock,
      refreshAheadRatio: tokens.refreshAheadRatio,
      retryDelayMs: (err) => Math.max(minRetryDelayMs, tokens.refreshRetrySeconds * 1000, err instanceof LwaError ? err.retryAfterMs ?? 0 : 0),
      onBackgroundError: (credential, err) => this.logFailure(credential, err, 'background refresh failed; serving the cached token'),
    })
  }

  has(name: string): boolean {
    return Object.hasOwn(this.deps.config.credentials, name)
  }

  async getToken(name: string, minTtlSeconds: number): Promise<IssuedToken> {
    const config = this.has(name) ? this.deps.config.credentials[name] : undefined
    if (!config) throw new BrokerError('unknown_credential', `no credential named ${name}`)
    let token: BrokerToken
    try {
      token = await this.cache.get(name, minTtlSeconds * 1000, () => this.source.obtain(name, config))
    } catch (err) {
      const failure = this.cache.peek(name).failure
      const retryAfterSeconds = Math.max(1, Math.ceil(((failure?.retryAtMs ?? 0) - this.deps.clock.now()) / 1000))
      throw toBrokerError(name, err, retryAfterSeconds)
    }
    return { ...token, credential: name, config, headers: apiHeaders(config, token.accessToken, token.clientId) }
  }

  /** Resolves when no refresh is in flight (tests, shutdown). */
  settled(): Promise<void> {
    return this.cache.settled()
  }

  private logFailure(credential: string, err: unknown, msg: string): void {
    const brokerError = toBrokerError(credential, err, 0)
    this.deps.logger.warn({ credential, error: brokerError.code, ...brokerError.logDetail }, msg)
  }
}
