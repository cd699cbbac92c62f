import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { Principal } from '../auth/index.js'

/** A short, stable, non-reversible handle on a token: enough to correlate, useless to replay. */
export function fingerprint(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 16)
}

export interface AuditContext {
  requestId: string
  principal: Principal | undefined
  credential: string | undefined
}

/**
 * One structured event per issuance and per denial, on its own logger (whose lines carry
 * `log: "audit"`), so it can be routed and kept apart from operational logs. Never the token.
 */
export class AuditLog {
  /** Per token object (a cached token is issued many times): hashed and formatted once. */
  private readonly described = new WeakMap<object, { tokenFingerprint: string; expiresAt: string }>()

  constructor(private readonly logger: Logger) {}

  issued(ctx: AuditContext, token: { accessToken: string; expiresAtMs: number }): void {
    let described = this.described.get(token)
    if (!described) {
      described = { tokenFingerprint: fingerprint(token.accessToken), expiresAt: new Date(token.expiresAtMs).toISOString() }
      this.described.set(token, described)
    }
    this.logger.info({ ...base(ctx), event: 'token.issued', outcome: 'allowed', ...described }, 'token issued')
  }

  /** An admin action (list, refresh, reload), allowed or denied. */
  admin(ctx: AuditContext, action: string, outcome: 'allowed' | 'denied', error?: string): void {
    this.logger.info({ ...base(ctx), event: `admin.${action}`, outcome, error }, `admin ${action} ${outcome}`)
  }

  /** An onboarding step: a link opened, a credential connected, or why not. */
  onboarding(ctx: AuditContext, outcome: 'started' | 'completed' | 'failed', reason?: string): void {
    this.logger.info({ ...base(ctx), event: `onboarding.${outcome}`, outcome, reason }, `onboarding ${outcome}`)
  }

  denied(ctx: AuditContext, error: string, reason?: string): void {
    this.logger.info({ ...base(ctx), event: 'token.denied', outcome: 'denied', error, reason }, 'token denied')
  }
}

function base(ctx: AuditContext): Record<string, unknown> {
  return {
    requestId: ctx.requestId,
    callerIssuer: ctx.principal?.issuer,
    callerSubject: ctx.principal?.subject,
    credential: ctx.credential,
  }
}
