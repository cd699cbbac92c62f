import { createHash, randomUUID } from 'node:crypto'

/** What can happen to a seller's or advertiser's authorization, as receivers of the webhook see it. */
export const lifecycleEventTypes = [
  'connected', 'reauthorized', 'replaced', 'revoked', 'recovered', 'removed', 'authorization_expiring',
] as const

export type LifecycleEventType = (typeof lifecycleEventTypes)[number]

/** One fact about a credential: the audit line, the metric and the webhook body all carry it. Never a secret. */
export interface LifecycleEvent {
  /** The same for every replica that sees the same fact, so receivers can drop repeats. */
  id: string
  type: LifecycleEventType
  /** ISO 8601. */
  occurredAt: string
  credential: string
  /** The Amazon account: the selling partner id or the Ads profile. */
  account?: string
  api?: string
  region?: string
  detail?: Record<string, string | number>
}

/**
 * What a caller of `Lifecycle.emit` gives. `discriminator` tells this fact apart from an
 * earlier one of the same type and credential (e.g. when the authorization was made); two
 * replicas that give the same one produce the same event id. Without one, the event is unique.
 */
export type LifecycleInput = Omit<LifecycleEvent, 'id' | 'occurredAt'> & { discriminator?: string }

/** A stable id from what identifies the fact; JSON keeps the parts apart (no `a|b` + `c` = `a` + `b|c`). */
export function lifecycleEventId(
  type: LifecycleEventType,
  credential: string,
  discriminator: string = randomUUID(),
): string {
  const digest = createHash('sha256').update(JSON.stringify([type, credential, discriminator])).digest('hex')
  return `evt_${digest.slice(0, 32)}`
}
