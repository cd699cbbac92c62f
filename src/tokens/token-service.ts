import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { LwaError, tokenUrlFor, type LwaClient, type LwaGrant } from '../lwa/index.js'
import { readCredentialMaterial, type SecretStore } from '../secrets/index.js'
import { apiHeaders } from './api-headers.js'
import { toBrokerError } from './broker-errors.js'
import { TokenCache } from './token-cache.js'

/** A cached LWA access token for one credential. */
export interface BrokerToken {
  accessToken: string
  tokenType: string
  obtainedAtMs: number
  expiresAtMs: number
  /** Public identifier of the LWA app (the Ads API wants it in a header). */
  clientId: string
}

export interface IssuedToken extends BrokerToken {
  credential: string
  config: CredentialConfig
  headers: Record<string, string>
}

export interface TokenServiceDeps {
  config: BrokerConfig
  secrets: SecretStore
  lwa: LwaClient
  clock: Clock
  logger: Logger
}

/** Floor for how long a failure is remembered before LWA is tried again. */
const minRetryDelayMs = 1000

/**
 * Vends access tokens by credential name: cache first, otherwise secrets -> LWA. The only
 * module that knows how a credential's config, its secrets and LWA fit together.
 */
export class TokenService {
  private readonly deps: TokenServiceDeps
  private readonly cache: TokenCache<BrokerToken>

  constructor(deps: TokenServiceDeps) {
    this.deps = deps
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
      token = await this.cache.get(name, minTtlSeconds * 1000, () => this.fetch(name, config))
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

  private async fetch(name: string, config: CredentialConfig): Promise<BrokerToken> {
    const { secrets, lwa, clock } = this.deps
    const material = await readCredentialMaterial(secrets, config)
    const grant: LwaGrant = config.grant === 'client_credentials'
      ? { grantType: 'client_credentials', scope: config.scope as string }
      : { grantType: 'refresh_token', refreshToken: material.refreshToken as string }
    const requestedAtMs = clock.now()
    const answer = await lwa.requestToken(tokenUrlFor(config.region, this.deps.config.lwa.endpoints), material, grant)
    // Lifetime counts from when we asked, not when the answer arrived: never overestimate it.
    const token: BrokerToken = {
      accessToken: answer.accessToken,
      tokenType: answer.tokenType,
      obtainedAtMs: requestedAtMs,
      expiresAtMs: requestedAtMs + answer.expiresInSeconds * 1000,
      clientId: material.clientId,
    }
    this.deps.logger.info({ credential: name, expiresInSeconds: answer.expiresInSeconds }, 'obtained LWA access token')
    return token
  }

  private logFailure(credential: string, err: unknown, msg: string): void {
    const brokerError = toBrokerError(credential, err, 0)
    this.deps.logger.warn({ credential, error: brokerError.code, ...brokerError.logDetail }, msg)
  }
}
