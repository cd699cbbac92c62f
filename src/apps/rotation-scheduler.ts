import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { LwaClientAuth } from '../lwa/index.js'
import type { SecretStore } from '../secrets/index.js'
import type { AppSecret } from './app-secrets.js'
import type { RotationOutcome } from './rotation-request.js'

const dayMs = 86_400_000

/** Where an app's rotation stands: `rotation_pending` until the new secret arrives (or the wait ends). */
export type RotationState = 'idle' | 'rotation_pending' | 'throttled' | 'not_enrolled' | 'failed'

export interface RotationSchedulerDeps {
  /** The SP-API app secrets that can rotate by API. */
  apps: () => AppSecret[]
  secrets: SecretStore
  /** Claims an app's rotation until `untilMs` across replicas (Redis SET NX PX); false: already claimed. */
  claim: (app: string, untilMs: number) => Promise<boolean>
  release: (app: string) => Promise<void>
  request: (app: AppSecret, client: LwaClientAuth) => Promise<{ outcome: RotationOutcome }>
  clock: Clock
  settings: { beforeExpiryDays: number; pendingWaitMinutes: number }
  logger: Logger
  counted?: (app: string, outcome: RotationOutcome | 'already_pending') => void
}

/**
 * Rotates an app's client secret before it expires, once: each call makes Amazon mint a new
 * secret, so a rotation is claimed (across replicas) for `pendingWaitMinutes` and not requested
 * again while its notification is awaited. A throttled or failed call frees the claim for the
 * next check; an app not enrolled for the notification keeps it, so it is asked again only
 * after the wait, not on every check.
 */
export class RotationScheduler {
  private readonly states = new Map<string, { state: RotationState; atMs: number }>()

  constructor(private readonly deps: RotationSchedulerDeps) {}

  stateOf(app: string): { state: RotationState; atMs: number } | undefined {
    return this.states.get(app)
  }

  /** Rotates every app whose secret expires within `beforeExpiryDays`. */
  async check(): Promise<void> {
    const now = this.deps.clock.now()
    const windowMs = this.deps.settings.beforeExpiryDays * dayMs
    for (const app of this.deps.apps()) {
      const at = this.deps.secrets.peek?.(app.secretId)?.fields.client_secret_expires_at
      const expiresAtMs = typeof at === 'string' ? Date.parse(at) : Number.NaN
      if (Number.isFinite(expiresAtMs) && expiresAtMs - now <= windowMs) await this.rotate(app)
    }
  }

  /** One rotation, if none is pending anywhere; what happened. */
  async rotate(app: AppSecret): Promise<RotationOutcome | 'already_pending'> {
    const { deps } = this
    const now = deps.clock.now()
    if (!await deps.claim(app.secretId, now + deps.settings.pendingWaitMinutes * 60_000)) {
      deps.counted?.(app.secretId, 'already_pending')
      return 'already_pending'
    }
    const { fields } = await deps.secrets.get(app.secretId)
    const client = { clientId: String(fields.client_id), clientSecret: String(fields.client_secret) }
    const { outcome } = await deps.request(app, client)
    deps.counted?.(app.secretId, outcome)
    const state: RotationState = outcome === 'requested' ? 'rotation_pending' : outcome
    this.states.set(app.secretId, { state, atMs: now })
    if (outcome === 'throttled' || outcome === 'failed') await deps.release(app.secretId)
    deps.logger[outcome === 'requested' ? 'info' : 'warn']({ app: app.secretId, outcome },
      'asked Amazon to rotate an app client secret')
    return outcome
  }

  /** The new secret arrived and is current: the rotation is over. */
  async completed(app: string): Promise<void> {
    if (this.states.has(app)) this.states.set(app, { state: 'idle', atMs: this.deps.clock.now() })
    await this.deps.release(app)
  }
}
