import { isTerminal, toBrokerError } from '../failures.js'
import type { Catalogue, CredentialOrigin } from '../catalogue/catalogue.js'
import type { TagProblem } from '../catalogue/tags.js'
import { secretIdsOfCredential, type CredentialConfig } from '../config/index.js'
import { LwaError } from '../lwa/index.js'
import { SecretError, type SecretStage } from '../secrets/index.js'
import type { SecretProblem } from '../secrets/secret-sweep.js'
import type { Failure } from './token-cache.js'
import type { CacheView } from './token-service.js'
import type { BrokerToken } from './token-source.js'

/**
 * healthy: last refresh worked. degraded: refreshes failing (the cached token may still
 * serve), or served from a secret version other than AWSCURRENT. rejected: LWA refused the
 * credential. misconfigured: its secret is missing, not JSON, or lacks a field.
 */
export type CredentialHealth = 'healthy' | 'degraded' | 'rejected' | 'misconfigured'

export interface CredentialStatus {
  credential: string
  origin: CredentialOrigin
  /** Undefined only for a discovered credential whose api or region tag is invalid. */
  api: CredentialConfig['api'] | undefined
  region: CredentialConfig['region'] | undefined
  labels: Readonly<Record<string, string>>
  health: CredentialHealth
  /** A discovered credential whose tags do not declare a usable credential: which tag, and why. */
  tagProblem: TagProblem | undefined
  tokenExpiresAtMs: number | undefined
  lastRefreshAtMs: number | undefined
  lastUsedAtMs: number | undefined
  lastError: {
    code: string
    lwaError: string | undefined
    atMs: number
    sinceMs: number
    retryAtMs: number
    consecutive: number
  } | undefined
  secretVersions: BrokerToken['secretVersions'] | undefined
  /** Set while the credential is served from another stage than AWSCURRENT (a rotation under way). */
  stage: { secret: 'app' | 'grant'; stage: SecretStage } | undefined
}

export interface CredentialStatusSources {
  catalogue: Catalogue
  tokens: CacheView
  /** The secret and stage a credential is served from while that is not AWSCURRENT. */
  stageOf: (name: string) => { secretId: string; stage: SecretStage } | undefined
  /** Why the background sweep could not read a secret, if it could not. */
  secretProblem: (secretId: string) => SecretProblem | undefined
}

/**
 * What operators see of each credential (admin status, metrics): a read model over the token
 * cache, the stage pins and the secret sweep. Never a secret, a token or a secret id.
 */
export class CredentialStatusView {
  constructor(private readonly sources: CredentialStatusSources) {}

  list(): CredentialStatus[] {
    return this.sources.catalogue.names().flatMap((name) => this.of(name) ?? [])
  }

  of(name: string): CredentialStatus | undefined {
    const entry = this.sources.catalogue.entry(name)
    if (!entry) return undefined
    if (entry.credential) return this.statusOf(name, entry.origin, entry.credential)
    return {
      credential: name, origin: entry.origin, api: entry.partial.api, region: entry.partial.region, labels: {},
      health: 'misconfigured', tagProblem: entry.problem, tokenExpiresAtMs: undefined, lastRefreshAtMs: undefined,
      lastUsedAtMs: undefined, lastError: undefined, secretVersions: undefined, stage: undefined,
    }
  }

  private statusOf(name: string, origin: CredentialOrigin, config: CredentialConfig): CredentialStatus {
    const { token, failure, lastUsedMs } = this.sources.tokens.peek(name)
    const stage = this.stageOf(name, config)
    const trouble = failure ?? (token ? undefined : this.sweptFailure(config))
    return {
      credential: name,
      origin,
      api: config.api,
      region: config.region,
      labels: config.labels,
      health: trouble ? healthOf(trouble.error) : stage ? 'degraded' : 'healthy',
      tagProblem: undefined,
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

  private stageOf(name: string, config: CredentialConfig): CredentialStatus['stage'] {
    const pin = this.sources.stageOf(name)
    if (!pin) return undefined
    const ownGrant = config.grant === 'refresh_token' && config.grantSecret !== config.appSecret
    return { secret: ownGrant && pin.secretId !== config.appSecret ? 'grant' : 'app', stage: pin.stage }
  }

  /** A credential nobody has asked for yet still shows a secret the background sweep could not read. */
  private sweptFailure(config: CredentialConfig): Failure | undefined {
    for (const id of secretIdsOfCredential(config)) {
      const problem = this.sources.secretProblem(id)
      if (problem) {
        const error = new SecretError(problem.code, id, problem.message)
        return { error, atMs: problem.atMs, sinceMs: problem.atMs, retryAtMs: problem.retryAtMs, consecutive: 1 }
      }
    }
    return undefined
  }
}

export function healthOf(error: unknown): CredentialHealth {
  if (error instanceof SecretError && error.code !== 'unavailable') return 'misconfigured'
  return isTerminal(error) ? 'rejected' : 'degraded'
}
