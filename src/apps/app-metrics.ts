import { Counter, Gauge, type Registry } from 'prom-client'
import type { NotificationKind, NotificationOutcome, NotificationQueueEvents } from './notification-queue.js'
import type { RotationOutcome } from './rotation-request.js'

const prefix = 'lwa_broker_'

// Every label pair starts at 0, so rate() and increase() see the first one.
const notificationKinds = ['new_secret', 'secret_expiry', 'unknown'] as const satisfies readonly NotificationKind[]
const notificationOutcomes = ['deleted', 'kept', 'unparseable', 'unknown_type', 'failed'] as const satisfies
  readonly NotificationOutcome[]

/**
 * When each app secret expires, and what the notification queue did. The expiry is read at
 * scrape from the secrets already cached, so a scrape reads no secret.
 */
export class AppMetrics implements NotificationQueueEvents {
  private readonly notifications: Counter | undefined
  private readonly failures: Counter | undefined
  private readonly rotations: Counter

  constructor(registry: Registry, expiries: () => Array<{ app: string; expiresAtMs: number }>, queue: boolean) {
    const registers = [registry]
    new Gauge({
      name: `${prefix}app_client_secret_expiry_timestamp_seconds`,
      help: 'When each app\'s client secret expires (Unix seconds; client_secret_expires_at beside it).',
      labelNames: ['app'], registers,
      collect() {
        this.reset()
        for (const { app, expiresAtMs } of expiries()) this.set({ app }, expiresAtMs / 1000)
      },
    })
    this.rotations = new Counter({
      name: `${prefix}app_secret_rotations_total`,
      help: 'Rotations asked of Amazon by app and outcome: requested, already_pending (not asked again), throttled, '
        + 'not_enrolled, failed.',
      labelNames: ['app', 'outcome'], registers,
    })
    if (!queue) return
    this.notifications = new Counter({
      name: `${prefix}app_notifications_total`,
      help: 'Client-secret notifications from the SQS queue by kind and outcome (deleted once applied; kept for '
        + 'redelivery or the redrive policy).',
      labelNames: ['kind', 'outcome'], registers,
    })
    for (const kind of notificationKinds) {
      for (const outcome of notificationOutcomes) this.notifications.labels(kind, outcome).inc(0)
    }
    this.failures = new Counter({
      name: `${prefix}app_notification_receive_failures_total`,
      help: 'Failed SQS long polls; each one backs off.',
      registers,
    })
    this.failures.inc(0)
  }

  notification(kind: NotificationKind, outcome: NotificationOutcome): void {
    this.notifications?.labels(kind, outcome).inc()
  }

  receiveFailed(): void {
    this.failures?.inc()
  }

  rotation(app: string, outcome: RotationOutcome | 'already_pending'): void {
    this.rotations.labels(app, outcome).inc()
  }
}
