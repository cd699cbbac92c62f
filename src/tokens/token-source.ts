import type { Logger } from 'pino'
import { noEvents, type BrokerEvents } from '../observability/events.js'
import type { Spans } from '../observability/spans.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig } from '../config/index.js'
import { LwaError, tokenUrlFor, type LwaClient, type LwaGrant, type LwaToken } from '../lwa/index.js'
import { backoffDelayMs } from './backoff.js'
import {
  readCredentialMaterial, type CredentialMaterial, type SecretStage, type SecretStore,
} from '../secrets/index.js'
import { storeNewRefreshToken } from './refresh-token-writeback.js'
import { readStage, rotationStages, sameAccount, versionOf } from './stage-fallback.js'

/** A fresh LWA access token for one credential. */
export interface BrokerToken {
  accessToken: string
  tokenType: string
  obtainedAtMs: number
  expiresAtMs: number
  /** Public identifier of the LWA app (the Ads API wants it in a header). */
  clientId: string
  /** The secret versions this token was obtained with (for operators; never values). */
  secretVersions: { app: string; grant: string | undefined }
}

export interface TokenSourceDeps {
  config: BrokerConfig
  secrets: SecretStore
  lwa: LwaClient
  clock: Clock
  logger: Logger
  random?: () => number
  events?: BrokerEvents
  spans?: Spans
}

/** Pauses between attempts of one refresh: short, because a caller may be waiting. */
const inCallBackoff = { baseMs: 100, capMs: 1000 }

/** A working stage other than AWSCURRENT, valid while AWSCURRENT still holds the version LWA rejected. */
interface StagePin {
  secretId: string
  stage: SecretStage
  rejectedVersionId: string
}

/**
 * Gets fresh tokens from LWA with a credential's secrets, surviving rotation: when LWA says
 * `invalid_client` (client secret) or `invalid_grant` (refresh token), the secret is re-read
 * and AWSCURRENT, AWSPENDING, AWSPREVIOUS are each tried once; a stage that works is
 * remembered until AWSCURRENT moves. A new refresh token from LWA is stored before use.
 */
export class TokenSource {
  private readonly deps: TokenSourceDeps
  private readonly pins = new Map<string, StagePin>()

  constructor(deps: TokenSourceDeps) {
    this.deps = deps
  }

  async obtain(name: string, config: CredentialConfig): Promise<BrokerToken> {
    const spans = this.deps.spans
    const read = (): Promise<CredentialMaterial> => this.readPinned(name, config)
    const material = spans
      ? await spans.inSpan('lwa_broker.secrets.read', { 'lwa_broker.credential': name }, read)
      : await read()
    try {
      return await this.exchange(name, config, material)
    } catch (err) {
      const secretId = rejectedSecretId(err, config)
      if (!secretId) throw err
      return this.retryThroughRotation(name, config, material, secretId, err)
    }
  }

  /** AWSCURRENT, unless an earlier rejection pinned another stage and AWSCURRENT has not moved since. */
  private async readPinned(name: string, config: CredentialConfig): Promise<CredentialMaterial> {
    const pin = this.pins.get(name)
    const material = await readCredentialMaterial(this.deps.secrets, config)
    if (!pin) return material
    const pinned = versionOf(material, pin.secretId) === pin.rejectedVersionId
      ? await readStage(this.deps.secrets, config, pin.secretId, pin.stage)
      : undefined
    // AWSCURRENT moved, or the pinned label is gone (rotation finished): back to AWSCURRENT.
    if (!pinned) this.pins.delete(name)
    return pinned ?? material
  }

  private async retryThroughRotation(
    name: string,
    config: CredentialConfig,
    failed: CredentialMaterial,
    secretId: string,
    rejection: unknown,
  ): Promise<BrokerToken> {
    const { secrets, logger } = this.deps
    const rejectedVersionId = versionOf(failed, secretId) as string
    logger.warn(
      { credential: name, secretId, versionId: rejectedVersionId, lwaError: (rejection as LwaError).code },
      'LWA rejected the stored secret; re-reading it in case it was rotated',
    )
    secrets.invalidate?.(secretId, rejectedVersionId)
    const tried = new Set([rejectedVersionId])
    for (const stage of rotationStages) {
      const candidate = await readStage(secrets, config, secretId, stage)
      const versionId = candidate && versionOf(candidate, secretId)
      if (!candidate || !versionId || tried.has(versionId)) continue
      tried.add(versionId)
      if (!sameAccount(logger, name, config, secretId, stage, failed, candidate)) continue
      try {
        const token = await this.exchange(name, config, candidate)
        this.remember(name, secretId, stage, rejectedVersionId, candidate)
        logger.info({ credential: name, secretId, stage, versionId }, 'LWA accepted another version of the secret')
        return token
      } catch (err) {
        const pointsAt = rejectedSecretId(err, config)
        if (!pointsAt) throw err
        // This version of the app secret authenticated, and the grant is what LWA refused:
        // that, not the first invalid_client, is what the caller and the status must say.
        if (pointsAt !== secretId) {
          this.remember(name, secretId, stage, rejectedVersionId, candidate)
          throw err
        }
      }
    }
    throw rejection
  }

  /** The secret and stage a credential is served from while that is not AWSCURRENT (a rotation under way). */
  stageOf(name: string): { secretId: string; stage: SecretStage } | undefined {
    const pin = this.pins.get(name)
    return pin && { secretId: pin.secretId, stage: pin.stage }
  }

  private remember(
    name: string,
    secretId: string,
    stage: SecretStage,
    rejectedVersionId: string,
    worked: CredentialMaterial,
  ): void {
    // If AWSCURRENT itself (re-read) worked, nothing needs pinning.
    if (stage === 'AWSCURRENT' || versionOf(worked, secretId) === rejectedVersionId) this.pins.delete(name)
    else this.pins.set(name, { secretId, stage, rejectedVersionId })
  }

  private async exchange(name: string, config: CredentialConfig, material: CredentialMaterial): Promise<BrokerToken> {
    const { clock } = this.deps
    const grant: LwaGrant = config.grant === 'client_credentials'
      ? { grantType: 'client_credentials', scope: config.scope }
      : { grantType: 'refresh_token', refreshToken: material.refreshToken as string }
    const requestedAtMs = clock.now()
    const url = tokenUrlFor(config.region, this.deps.config.lwa.endpoints)
    const answer = await this.requestWithRetries(name, url, material, grant)
    await storeNewRefreshToken(this.deps.secrets, this.deps.logger, name, material, answer)
    this.deps.logger.info({ credential: name, expiresInSeconds: answer.expiresInSeconds }, 'obtained LWA access token')
    // Lifetime counts from when we asked, not when the answer arrived, and is capped: never overestimate it.
    const lifetimeSeconds = Math.min(answer.expiresInSeconds, this.deps.config.lwa.maxTokenLifetimeSeconds)
    return {
      accessToken: answer.accessToken,
      tokenType: answer.tokenType,
      obtainedAtMs: requestedAtMs,
      expiresAtMs: requestedAtMs + lifetimeSeconds * 1000,
      clientId: material.clientId,
      secretVersions: { app: material.app.versionId, grant: material.grant?.versionId },
    }
  }

  /** One request to LWA's token endpoint, in a span of its own when tracing (undici's HTTP span is its child). */
  private attempt(name: string, url: string, material: CredentialMaterial, grant: LwaGrant): Promise<LwaToken> {
    const { lwa, spans } = this.deps
    if (!spans) return lwa.requestToken(url, material, grant)
    const attributes = { 'lwa_broker.credential': name, 'lwa_broker.lwa.grant': grant.grantType }
    return spans.inSpan('lwa_broker.lwa.token', attributes, async (span) => {
      const token = await lwa.requestToken(url, material, grant)
      span.set({ 'lwa_broker.outcome': 'ok' })
      return token
    })
  }

  /**
   * Retries a retryable failure (5xx, reset, timeout, malformed answer) a few times with short,
   * jittered pauses. A Retry-After longer than those pauses is not waited out here: the
   * failure goes to the cache, whose backoff honours it without holding a caller.
   */
  private async requestWithRetries(
    name: string,
    url: string,
    material: CredentialMaterial,
    grant: LwaGrant,
  ): Promise<LwaToken> {
    const { random = Math.random, events = noEvents } = this.deps
    for (let attempt = 1; ; attempt++) {
      const started = performance.now()
      const report = (result: string): void =>
        events.lwaCall(name, grant.grantType, result, (performance.now() - started) / 1000)
      try {
        const token = await this.attempt(name, url, material, grant)
        report('ok')
        return token
      } catch (err) {
        report(err instanceof LwaError ? err.code : 'error')
        if (!(err instanceof LwaError) || !err.retryable || attempt >= this.deps.config.lwa.attempts) throw err
        const floorMs = Math.max(inCallBackoff.baseMs, err.retryAfterMs ?? 0)
        const pauseMs = backoffDelayMs(inCallBackoff, attempt, random, floorMs)
        if (pauseMs > inCallBackoff.capMs) throw err
        await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    }
  }

}

/** The secret LWA's rejection points at, or undefined when the error is not about our secrets. */
function rejectedSecretId(err: unknown, config: CredentialConfig): string | undefined {
  if (!(err instanceof LwaError)) return undefined
  if (err.kind === 'client_rejected') return config.appSecret
  if (err.kind === 'grant_rejected' && config.grant === 'refresh_token') return config.grantSecret
  return undefined
}
