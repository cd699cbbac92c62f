import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { Principal } from '../auth/index.js'
import { RateLimitAudit } from './rate-limit-audit.js'

/** A short, stable, non-reversible handle on a token: enough to correlate, useless to replay. */
export function fingerprint(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 16)
}

export interface OnboardingDetail {
  reason?: string | undefined
  account?: string | undefined
  clientAddress: string
  userAgent: string | undefined
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
  private readonly throttled: RateLimitAudit

  /** `rateLimitWindowMs`: the rate limiter's window, over which a caller's 429s become one line. */
  constructor(
    private readonly logger: Logger,
    options: { rateLimitWindowMs: number; now: () => number } = { rateLimitWindowMs: 60_000, now: Date.now },
  ) {
    this.throttled = new RateLimitAudit(options.rateLimitWindowMs, options.now, (fields, count) => {
      this.logger.info(
        { ...fields, event: 'token.rate_limited', outcome: 'denied', error: 'rate_limited', count },
        `rate limited ${count} times`,
      )
    })
  }

  /** A request refused by a rate limit: counted, and written once per caller and window. */
  rateLimited(ctx: AuditContext, callerKey: string): void {
    this.throttled.record(callerKey, base(ctx))
  }

  /** Writes what is still being counted (shutdown). */
  flush(): void {
    this.throttled.flush()
  }

  issued(ctx: AuditContext, token: { accessToken: string; expiresAtMs: number }): void {
    let described = this.described.get(token)
    if (!described) {
      described = {
        tokenFingerprint: fingerprint(token.accessToken),
        expiresAt: new Date(token.expiresAtMs).toISOString(),
      }
      this.described.set(token, described)
    }
    this.logger.info({ ...base(ctx), event: 'token.issued', outcome: 'allowed', ...described }, 'token issued')
  }

  /** An admin action (list, refresh, reload), allowed or denied. */
  admin(ctx: AuditContext, action: string, outcome: 'allowed' | 'denied', error?: string): void {
    this.logger.info({ ...base(ctx), event: `admin.${action}`, outcome, error }, `admin ${action} ${outcome}`)
  }

  /**
   * An onboarding step: a link opened, a credential connected, or why not; with the Amazon
   * account when known, and the browser's address and user agent (truncated: caller text).
   */
  onboarding(ctx: AuditContext, outcome: 'started' | 'completed' | 'failed', detail: OnboardingDetail): void {
    const { reason, account, clientAddress, userAgent } = detail
    this.logger.info({
      ...base(ctx),
      event: `onboarding.${outcome}`,
      outcome,
      reason,
      account,
      clientAddress,
      userAgent: userAgent?.slice(0, maxCallerTextChars),
    }, `onboarding ${outcome}`)
  }

  denied(ctx: AuditContext, error: string, reason?: string): void {
    this.logger.info({ ...base(ctx), event: 'token.denied', outcome: 'denied', error, reason }, 'token denied')
  }
}

/** Subjects come from tokens callers present (signed, but of any length), user agents from anyone. */
const maxCallerTextChars = 256

function base(ctx: AuditContext): Record<string, unknown> {
  return {
    requestId: ctx.requestId,
    callerIssuer: ctx.principal?.issuer,
    callerSubject: ctx.principal?.subject.slice(0, maxCallerTextChars),
    credential: ctx.credential,
  }
}
