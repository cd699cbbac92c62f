import type { Logger } from 'pino'
import type { Authenticator } from './auth/index.js'
import { secretIdsOf, type BrokerConfig } from './config/index.js'
import type { SecretStore } from './secrets/index.js'

export type ReadinessChecks = Record<string, 'ok' | 'failing'>

/**
 * Ready once every secret a credential names has been read and every issuer's keys have
 * been loaded (config is checked before the app exists), and not while draining for
 * shutdown. Loading latches: an upstream that fails later is ridden out on cached secrets
 * and keys, and taking every replica out of the Service then would turn a Secrets Manager
 * blip into an outage.
 */
export class Readiness {
  private readonly loaded = { secrets: false, issuers: false }
  private draining = false
  private lastLogged = ''

  constructor(private readonly deps: { config: BrokerConfig; secrets: SecretStore; authenticator: Authenticator; logger: Logger }) {}

  /** From now on, not ready: Kubernetes stops routing new requests here before the server closes. */
  drain(): void {
    this.draining = true
  }

  async check(): Promise<ReadinessChecks> {
    const problems: string[] = []
    if (!this.loaded.secrets) this.loaded.secrets = await this.secretsReadable(problems)
    if (!this.loaded.issuers) {
      this.loaded.issuers = await this.deps.authenticator.warm().then(() => true, (err: unknown) => {
        problems.push((err as Error).message)
        return false
      })
    }
    this.logChange(problems)
    return {
      config: 'ok',
      issuers: this.loaded.issuers ? 'ok' : 'failing',
      secrets: this.loaded.secrets ? 'ok' : 'failing',
      ...(this.draining ? { shutdown: 'failing' as const } : {}),
    }
  }

  private async secretsReadable(problems: string[]): Promise<boolean> {
    const results = await Promise.allSettled(secretIdsOf(this.deps.config).map((id) => this.deps.secrets.get(id)))
    for (const r of results) if (r.status === 'rejected') problems.push((r.reason as Error).message)
    return problems.length === 0
  }

  /** One clear line when readiness is blocked, and again only when the reason changes. */
  private logChange(problems: string[]): void {
    const summary = problems.join('; ')
    if (summary === this.lastLogged) return
    this.lastLogged = summary
    if (summary) this.deps.logger.warn({ problems }, `not ready: ${summary}`)
    else this.deps.logger.info('ready: secrets and issuer keys are loaded')
  }
}
