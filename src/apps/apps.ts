import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Dispatcher } from 'undici'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig } from '../config/index.js'
import { rotationDefaults } from '../config/schema/apps.js'
import { BrokerError } from '../errors.js'
import type { LwaClient } from '../lwa/index.js'
import type { OnboardingStore } from '../onboarding/store.js'
import type { SecretStore } from '../secrets/index.js'
import { AppMetrics } from './app-metrics.js'
import { appOfClient, appSecretsOf, expiriesOf, type AppSecret } from './app-secrets.js'
import { applyNewSecret, recordExpiry, resumePending, type NewSecretDeps } from './new-secret.js'
import { NotificationQueue, type NotificationQueueOptions } from './notification-queue.js'
import type { AppNotification } from './notifications.js'
import { requestRotation, type RotationOutcome } from './rotation-request.js'
import { RotationScheduler, type RotationState } from './rotation-scheduler.js'

export interface AppsParts {
  catalogue: Catalogue
  secrets: SecretStore
  lwa: LwaClient
  logger: Logger
  registry: Registry
  clock: Clock
  dispatcher: Dispatcher
  /** Rotation claims: in Redis when replicas share one, so exactly one replica asks Amazon. */
  claims: Pick<OnboardingStore, 'once' | 'forget'>
  /** Every replica re-reads its secrets (TokenService.reloadSecrets: here, and a peer event). */
  reloadEverywhere: () => Promise<unknown>
  /** For the notification queue instead of the SDK's default chain (tests' fixed keys). */
  sqsCredentials?: NotificationQueueOptions['credentials']
}

export interface AppStatus {
  app: string
  api: AppSecret['api']
  clientId: string | undefined
  expiresAtMs: number | undefined
  rotation: { state: RotationState; atMs: number } | undefined
}

/**
 * The apps' client secrets: when each expires (a metric, a status), new ones from SP-API's SQS
 * notifications put in place with no failed request, and (with `apps.rotation`) a rotation asked
 * for before expiry, once across replicas. A version a crash left staged is finished at start-up.
 */
export class Apps {
  private readonly deps: NewSecretDeps
  private readonly queue: NotificationQueue | undefined
  private readonly scheduler: RotationScheduler
  private timer: NodeJS.Timeout | undefined
  /** One piece of work per app secret at a time here: a redelivery must not interleave with the start-up resume. */
  private readonly working = new Map<string, Promise<unknown>>()

  constructor(private readonly config: BrokerConfig, private readonly parts: AppsParts) {
    const { catalogue, secrets, lwa, logger, registry, reloadEverywhere, clock, claims } = parts
    const settings = config.apps
    this.deps = {
      secrets, lwa, endpoints: config.lwa.endpoints, verifyScope: settings.verifyScope, reloadEverywhere, logger,
    }
    const metrics = new AppMetrics(registry, () => expiriesOf(catalogue, secrets), settings.notifications !== undefined)
    const queued = settings.notifications
    this.queue = queued && new NotificationQueue({
      queueUrl: queued.queueUrl, region: queued.region, waitTimeSeconds: queued.waitTimeSeconds,
      ...(queued.endpoint ? { endpoint: queued.endpoint } : {}),
      ...(parts.sqsCredentials ? { credentials: parts.sqsCredentials } : {}),
      handle: (n) => this.handle(n), logger, events: metrics,
    })
    const request = { lwa, lwaEndpoints: config.lwa.endpoints, spApiEndpoints: config.spApi.endpoints,
      dispatcher: parts.dispatcher }
    this.scheduler = new RotationScheduler({
      apps: () => appSecretsOf(catalogue).filter((a) => a.api === 'sp-api'), secrets, clock, logger,
      settings: settings.rotation ?? rotationDefaults,
      claim: (app, untilMs) => claims.once('rotation', app, untilMs, clock.now()),
      release: (app) => claims.forget('rotation', app),
      request: (app, client) => requestRotation(request, app.region, client),
      counted: (app, outcome) => metrics.rotation(app, outcome),
    })
  }

  /**
   * With the queue: finishes what a stopped broker left staged, and listens. With rotation: checks expiries on the
   * interval. (Without the queue this broker never stages a secret, and reads no other stage at start.)
   */
  start(): void {
    if (this.queue) {
      void this.resumeAll()
      this.queue.start()
    }
    const rotation = this.config.apps.rotation
    if (!rotation || this.timer) return
    const check = () => void this.scheduler.check().catch((err: unknown) =>
      this.parts.logger.warn({ error: (err as Error).name }, 'the client-secret rotation check failed'))
    this.timer = setInterval(check, rotation.checkIntervalMinutes * 60_000)
    this.timer.unref()
    check()
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.queue?.close()
  }

  list(): AppStatus[] {
    return appSecretsOf(this.parts.catalogue).map((app) => {
      const fields = this.parts.secrets.peek?.(app.secretId)?.fields
      const at = fields?.client_secret_expires_at
      const expiresAtMs = typeof at === 'string' && Number.isFinite(Date.parse(at)) ? Date.parse(at) : undefined
      const clientId = typeof fields?.client_id === 'string' ? fields.client_id : undefined
      return { app: app.secretId, api: app.api, clientId, expiresAtMs, rotation: this.scheduler.stateOf(app.secretId) }
    })
  }

  /** An admin asked: one rotation unless one is pending on any replica. */
  async rotate(secretId: string): Promise<RotationOutcome | 'already_pending'> {
    const app = appSecretsOf(this.parts.catalogue).find((a) => a.secretId === secretId)
    if (!app) throw new BrokerError('not_found', `no credential uses an app secret ${secretId}`)
    if (app.api !== 'sp-api') throw new BrokerError('invalid_request', 'only SP-API apps rotate their secret by API')
    if (!this.queue) {
      throw new BrokerError('invalid_request', 'rotation needs apps.notifications: the new secret arrives there')
    }
    return this.scheduler.rotate(app)
  }

  /** What a notification asks, applied; `delete` only once it is durable (a repeat then changes nothing). */
  async handle(notification: AppNotification): Promise<'delete' | 'keep'> {
    const { catalogue, secrets, logger } = this.parts
    const app = await appOfClient(catalogue, secrets, notification.clientId)
    if (!app) {
      logger.warn({ clientId: notification.clientId, kind: notification.kind }, 'a client-secret notification for a '
        + 'client id no credential uses: left on the queue (its redrive policy moves it aside)')
      return 'keep'
    }
    const applied = await this.serially(app.secretId, () => notification.kind === 'new_secret'
      ? applyNewSecret(this.deps, app, {
        clientSecret: notification.newClientSecret, expiresAtMs: notification.newExpiresAtMs,
      })
      : recordExpiry(this.deps, app, notification.expiresAtMs))
    if (notification.kind === 'new_secret' && applied === 'applied') await this.scheduler.completed(app.secretId)
    return applied === 'applied' || applied === 'already' ? 'delete' : 'keep'
  }

  private async resumeAll(): Promise<void> {
    for (const app of appSecretsOf(this.parts.catalogue).filter((a) => a.api === 'sp-api')) {
      const outcome = await this.serially(app.secretId, () => resumePending(this.deps, app)).catch((err: unknown) => {
        this.parts.logger.warn({ app: app.secretId, error: (err as Error).name },
          'could not finish a staged client secret; the next start or notification tries again')
        return undefined
      })
      if (outcome) this.parts.logger.info({ app: app.secretId, outcome }, 'a staged client secret was found at start')
    }
  }

  private serially<T>(app: string, work: () => Promise<T>): Promise<T> {
    const run = (this.working.get(app) ?? Promise.resolve()).catch(() => undefined).then(work)
    this.working.set(app, run)
    void run.finally(() => { if (this.working.get(app) === run) this.working.delete(app) }).catch(() => undefined)
    return run
  }
}
