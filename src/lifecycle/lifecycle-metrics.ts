import { Counter, Gauge, type Registry } from 'prom-client'
import { lifecycleEventTypes, type LifecycleEventType } from './events.js'

const prefix = 'lwa_broker_'

/** How a webhook delivery ended, or why it was retried. */
export const deliveryOutcomes = [
  'delivered', 'retried', 'dropped_queue_full', 'dropped_rejected', 'dropped_attempts', 'dropped_shutdown',
] as const
export type DeliveryOutcome = (typeof deliveryOutcomes)[number]

/** An authorization's start, from which Amazon's 365 days run. */
export interface Authorization {
  credential: string
  authorizedAtMs: number
}

/** SP-API authorizations expire 365 days after the seller granted them. */
export const authorizationLifetimeMs = 365 * 86_400_000

/**
 * Lifecycle events by type, webhook deliveries by outcome, and when each tracked authorization
 * expires. Every event type and outcome starts at 0, so rate() and increase() see the first one.
 */
export class LifecycleMetrics {
  private readonly events: Counter
  private readonly deliveries: Counter | undefined

  constructor(registry: Registry, authorizations: () => readonly Authorization[], webhook?: { queued: () => number }) {
    const registers = [registry]
    this.events = new Counter({
      name: `${prefix}credential_lifecycle_events_total`,
      help: 'Credential lifecycle events by type (connected, reauthorized, replaced, revoked, recovered, removed, '
        + 'authorization_expiring), counted where they were detected (after cross-replica deduplication).',
      labelNames: ['event'], registers,
    })
    for (const event of lifecycleEventTypes) this.events.labels(event).inc(0)
    new Gauge({
      name: `${prefix}authorization_expiry_timestamp_seconds`,
      help: 'When the earliest tracked authorization of each credential expires (Unix seconds; SP-API: 365 days '
        + 'after the seller granted it).',
      labelNames: ['credential'], registers,
      collect() {
        this.reset()
        for (const [credential, ms] of earliestExpiry(authorizations())) this.set({ credential }, ms / 1000)
      },
    })
    if (!webhook) return
    this.deliveries = new Counter({
      name: `${prefix}webhook_deliveries_total`,
      help: 'Lifecycle webhook deliveries by outcome: delivered, retried (an attempt failed), or dropped (queue full, '
        + 'rejected by a 4xx, out of attempts, still queued at shutdown).',
      labelNames: ['outcome'], registers,
    })
    for (const outcome of deliveryOutcomes) this.deliveries.labels(outcome).inc(0)
    new Gauge({
      name: `${prefix}webhook_queue_events`,
      help: 'Lifecycle events waiting for webhook delivery on this replica (bounded by lifecycle.webhook.maxQueue).',
      registers,
      collect() { this.set(webhook.queued()) },
    })
  }

  event(type: LifecycleEventType): void {
    this.events.labels(type).inc()
  }

  delivery(outcome: DeliveryOutcome): void {
    this.deliveries?.labels(outcome).inc()
  }
}

function earliestExpiry(authorizations: readonly Authorization[]): Map<string, number> {
  const earliest = new Map<string, number>()
  for (const { credential, authorizedAtMs } of authorizations) {
    const expiresAtMs = authorizedAtMs + authorizationLifetimeMs
    earliest.set(credential, Math.min(earliest.get(credential) ?? Infinity, expiresAtMs))
  }
  return earliest
}
