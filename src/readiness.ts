import type { Logger } from 'pino'
import type { Authenticator } from './auth/index.js'
import type { SecretSweep } from './secrets/secret-sweep.js'

export type ReadinessChecks = Record<string, 'ok' | 'failing'>

export interface ReadinessDeps {
  sweep: SecretSweep
  /** The current generation's (a config reload may replace it). */
  authenticator: () => Authenticator
  /**
   * With a catalogue: has a listing of the tagged secrets completed? A replica that has not
   * listed once would answer `unknown_credential` for every discovered name.
   */
  catalogueListed?: () => Promise<boolean>
  logger: Logger
  intervalMs: number
}

/**
 * Ready when the broker can serve anything at all: config loaded (checked before the app
 * exists), the secret backend answering, and at least one issuer's keys loaded. A single
 * missing secret or unreachable issuer is that credential's or issuer's problem, reported in
 * status, metrics and the log; taking the replica out of the Service for it would turn one
 * bad secret into an outage of every credential.
 *
 * Evaluated on a timer, never by a probe: `/readyz` answers the last result, so a flood of
 * unauthenticated probes costs no Secrets Manager or JWKS call. Loading latches: an upstream
 * that fails later is ridden out on cached secrets and keys. Draining for shutdown is the
 * one way back to not ready.
 */
export class Readiness {
  private readonly deps: ReadinessDeps
  private readonly loaded = { secrets: false, issuers: false, catalogue: false }
  private draining = false
  private lastLogged: string | undefined
  private first: Promise<void> | undefined
  private evaluated = false
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(deps: ReadinessDeps) {
    this.deps = deps
  }

  /** Evaluates now and then every interval until stop(); idempotent. */
  start(): void {
    if (this.timer) return
    this.first ??= this.evaluate()
    this.timer = setInterval(() => void this.evaluate(), this.deps.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** From now on, not ready: Kubernetes stops routing new requests here before the server closes. */
  drain(): void {
    this.draining = true
  }

  /** The last result; before the first evaluation has finished, that one (a probe waits for it once). */
  async current(): Promise<ReadinessChecks> {
    if (!this.evaluated) await (this.first ??= this.evaluate())
    return this.result()
  }

  /** One evaluation (the timer's; tests call it to move on without waiting). Concurrent calls share one. */
  evaluate(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined
      this.evaluated = true
    })
    return this.running
  }

  private async pass(): Promise<void> {
    const [issuerProblems] = await Promise.all([this.loadIssuers(), this.deps.sweep.run(), this.listCatalogue()])
    this.loaded.secrets ||= this.deps.sweep.reachable()
    const problems = [...this.deps.sweep.allProblems().map((p) => p.message), ...issuerProblems]
    this.logChange(problems)
  }

  /** Ready once any issuer's keys are loaded; the ones that are not are named in the log. */
  private async loadIssuers(): Promise<string[]> {
    const { loaded, failed } = await this.deps.authenticator().warmEach()
    this.loaded.issuers ||= loaded > 0
    return failed
  }

  private async listCatalogue(): Promise<void> {
    this.loaded.catalogue ||= (await this.deps.catalogueListed?.()) ?? true
  }

  private result(): ReadinessChecks {
    return {
      config: 'ok',
      issuers: this.loaded.issuers ? 'ok' : 'failing',
      secrets: this.loaded.secrets ? 'ok' : 'failing',
      ...(this.deps.catalogueListed ? { catalogue: this.loaded.catalogue ? 'ok' as const : 'failing' as const } : {}),
      ...(this.draining ? { shutdown: 'failing' as const } : {}),
    }
  }

  /** One clear line when something cannot be loaded, and again only when that changes. */
  private logChange(problems: string[]): void {
    const summary = problems.join('; ')
    if (summary === this.lastLogged) return
    const ready = this.loaded.secrets && this.loaded.issuers && this.loaded.catalogue
    if (!ready) this.deps.logger.warn({ problems }, `not ready: ${summary}`)
    else if (summary) {
      this.deps.logger.warn({ problems }, `ready, but some credentials or issuers cannot be used: ${summary}`)
    }
    else this.deps.logger.info('ready: secrets and issuer keys are loaded')
    this.lastLogged = summary
  }
}
