import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { CatalogueChange } from '../catalogue/catalogue.js'
import { systemClock, type Clock } from '../clock.js'
import type { CredentialConfig } from '../config/index.js'
import type { AuditLog } from '../observability/audit.js'
import type { BrokerEvents } from '../observability/events.js'
import { lifecycleEventId, type LifecycleEvent, type LifecycleEventType, type LifecycleInput } from './events.js'
import { authorizationLifetimeMs, LifecycleMetrics, type Authorization } from './lifecycle-metrics.js'
import { WebhookSender, type WebhookSenderOptions } from './webhook-sender.js'

const dayMs = 86_400_000
const defaultCheckIntervalMs = 3_600_000
/**
 * Replicas that see the same revocation or removal see it within a listing interval or a
 * refresh of each other; within one clock hour they give it the same id. (A revoke, recover
 * and revoke again inside one hour is then reported once: rare, and the audit log has both.)
 */
const sameFactWindowMs = 3_600_000

export interface LifecycleOptions {
  audit: AuditLog
  /** Where the lifecycle metrics are registered (the broker's Metrics registry). */
  registry: Registry
  logger: Logger
  clock?: Clock
  /** Lets `removed` be seen, and fills in api, region and account the emitter left out. */
  catalogue?: {
    get(name: string): CredentialConfig | undefined
    onChange(listener: (changes: readonly CatalogueChange[]) => void): void
  }
  webhook?: Omit<WebhookSenderOptions, 'logger' | 'clock' | 'outcome'>
  /**
   * Claims an event id for this replica until `untilMs` (e.g. Redis SET NX PX): false when
   * another replica already reported it. Without it, every replica reports what it sees.
   */
  once?: (id: string, untilMs: number) => Promise<boolean>
  /** `authorization_expiring` once fewer than this many days of the 365 remain. */
  expiryWarningDays?: number
  checkIntervalMs?: number
}

/**
 * Credential lifecycle events: each an audit line, a count, and when a webhook is configured a
 * signed delivery, so a disconnected seller is noticed when it happens, not when a report fails.
 * Revocations (LWA's invalid_grant), recoveries, removals and expiring authorizations are
 * detected here; onboarding emits connected, reauthorized and replaced.
 */
export class Lifecycle implements Pick<BrokerEvents, 'lwaCall'> {
  private readonly clock: Clock
  private readonly metrics: LifecycleMetrics
  private readonly sender: WebhookSender | undefined
  private readonly revoked = new Set<string>()
  /** Authorizations already warned about (credential and start), so each is reported once per replica. */
  private warned = new Set<string>()
  private authorizations: () => readonly Authorization[] = () => []
  /** Events are published in the order they happened, even while a claim is awaited. */
  private published: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: LifecycleOptions) {
    this.clock = options.clock ?? systemClock
    const { logger, webhook } = options
    const sender = webhook && new WebhookSender({
      ...webhook, logger, clock: this.clock, outcome: (outcome) => this.metrics.delivery(outcome),
    })
    this.sender = sender
    this.metrics = new LifecycleMetrics(options.registry, () => this.authorizations(),
      sender && { queued: () => sender.queued() })
    options.catalogue?.onChange((changes) => this.catalogueChanged(changes))
  }

  emit(input: LifecycleInput): void {
    this.publish(input, this.clock.now() + sameFactWindowMs)
  }

  /** BrokerEvents: LWA's invalid_grant for a refresh token is a revocation; the next success, a recovery. */
  lwaCall(credential: string, grant: string, result: string): void {
    if (grant !== 'refresh_token') return
    if (result === 'invalid_grant' && !this.revoked.has(credential)) {
      this.revoked.add(credential)
      this.emitSameFact('revoked', credential, { lwaError: result })
    } else if (result === 'ok' && this.revoked.delete(credential)) {
      this.emitSameFact('recovered', credential)
    }
  }

  /** Where the authorizations and when each was granted come from (onboarding's records). */
  trackAuthorizations(source: () => readonly Authorization[]): void {
    this.authorizations = source
    if (this.timer) this.checkExpiries()
  }

  /** Emits `authorization_expiring` for each authorization newly inside the warning period. */
  checkExpiries(): void {
    const now = this.clock.now()
    const warningMs = (this.options.expiryWarningDays ?? 30) * dayMs
    const current = new Set<string>()
    for (const { credential, authorizedAtMs } of this.authorizations()) {
      const expiresAtMs = authorizedAtMs + authorizationLifetimeMs
      const key = JSON.stringify([credential, authorizedAtMs])
      if (expiresAtMs - now >= warningMs) continue
      current.add(key)
      if (this.warned.has(key)) continue
      const detail = { expiresAt: new Date(expiresAtMs).toISOString(), daysLeft: daysLeft(expiresAtMs, now) }
      this.publish({ type: 'authorization_expiring', credential, discriminator: String(authorizedAtMs), detail },
        expiresAtMs)
    }
    // Forget authorizations that were replaced or removed, so the set stays as large as the fleet.
    this.warned = current
  }

  start(): void {
    this.checkExpiries()
    this.timer = setInterval(() => this.checkExpiries(), this.options.checkIntervalMs ?? defaultCheckIntervalMs)
    this.timer.unref()
  }

  /** Stops the check, then gives queued webhook deliveries up to `deadlineMs` to finish. */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.settled()
    await this.sender?.close(deadlineMs)
  }

  /** Every event emitted so far is audited, counted and queued (tests, shutdown). */
  settled(): Promise<void> {
    return this.published
  }

  private catalogueChanged(changes: readonly CatalogueChange[]): void {
    for (const { name, kind } of changes) {
      if (kind !== 'removed') continue
      this.revoked.delete(name)
      this.emitSameFact('removed', name)
    }
  }

  private emitSameFact(type: LifecycleEventType, credential: string, detail?: Record<string, string>): void {
    const discriminator = String(Math.floor(this.clock.now() / sameFactWindowMs))
    this.emit({ type, credential, discriminator, ...(detail ? { detail } : {}) })
  }

  private publish(input: LifecycleInput, claimUntilMs: number): void {
    const event = this.describe(input)
    this.published = this.published.then(async () => {
      if (await this.claim(event.id, claimUntilMs)) this.record(event)
    })
  }

  private describe(input: LifecycleInput): LifecycleEvent {
    const { discriminator, type, credential, ...rest } = input
    const known = this.options.catalogue?.get(credential)
    const account = known?.grant === 'refresh_token' ? known.sellingPartnerId ?? known.profileId : undefined
    return {
      id: lifecycleEventId(type, credential, discriminator),
      type,
      occurredAt: new Date(this.clock.now()).toISOString(),
      credential,
      ...(account === undefined ? {} : { account }),
      ...(known ? { api: known.api, region: known.region } : {}),
      ...rest,
    }
  }

  /** A failing claim store reports the event anyway: a repeat costs less than a seller nobody hears of. */
  private async claim(id: string, untilMs: number): Promise<boolean> {
    const once = this.options.once
    if (!once) return true
    return once(id, untilMs).catch((err: unknown) => {
      this.options.logger.warn({ eventId: id, error: (err as Error).message },
        'could not claim a lifecycle event for this replica; reporting it anyway')
      return true
    })
  }

  private record(event: LifecycleEvent): void {
    this.options.audit.lifecycle(event)
    this.metrics.event(event.type)
    this.sender?.send(event)
  }
}

const daysLeft = (expiresAtMs: number, now: number): number => Math.max(0, Math.floor((expiresAtMs - now) / dayMs))
