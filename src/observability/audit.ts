import { hostname } from 'node:os'
import type { Principal } from '../auth/index.js'
import type { LifecycleEvent } from '../lifecycle/events.js'
import type { Memo } from '../memo.js'
import { flat } from '../strings.js'
import { issuanceText, rdtIssued, tokenIssued } from './issuance-text.js'
import { RateLimitAudit } from './rate-limit-audit.js'

export { fingerprint } from './issuance-text.js'

export interface OnboardingDetail {
  reason?: string | undefined
  account?: string | undefined
  /** Where a flow began when Amazon started it (the Login URI): reauthorize, self_service, link. */
  flow?: string | undefined
  clientAddress: string
  userAgent: string | undefined
}

export interface AuditContext {
  requestId: string
  principal: Principal | undefined
  credential: string | undefined
}

/** Where audit lines go: one JSON object per line (a LogOutputs sink, or a test's capture). */
export interface AuditSink {
  write(line: string): unknown
}

export interface AuditOptions {
  rateLimitWindowMs: number
  now: () => number
  /** When tracing: the active span's ids, written beside the request id (hex, as OpenTelemetry spells them). */
  traceIds?: () => { traceId: string; spanId: string } | undefined
}

/**
 * One structured event per issuance and per denial, on its own sink (its lines carry
 * `log: "audit"`, in pino's shape), so it can be routed and kept apart from operational logs.
 * Never the token. Lines are built from known fields, without a logger's generic walk: the
 * issuance line, written on every request, is cached fragments (the constant head, the
 * issuer's, the caller's, the token's, its kind's) around the time and the request id.
 */
export class AuditLog {
  private readonly head = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"log":"audit"`
  private readonly throttled: RateLimitAudit
  private readonly issuerParts = new Map<string, string>()
  private readonly now: () => number
  private readonly traceIds: AuditOptions['traceIds']

  /** `rateLimitWindowMs`: the rate limiter's window, over which a caller's 429s become one line. */
  constructor(
    private readonly sink: AuditSink,
    options: AuditOptions = { rateLimitWindowMs: 60_000, now: Date.now },
  ) {
    this.now = options.now
    this.traceIds = options.traceIds
    this.throttled = new RateLimitAudit(options.rateLimitWindowMs, options.now, (fields, count) => {
      this.write({ ...fields, event: 'token.rate_limited', outcome: 'denied', error: 'rate_limited', count },
        `rate limited ${count} times`)
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

  issued(ctx: AuditContext, token: IssuedForAudit): void {
    // The token's own name where it is the one asked for: the request's is a slice of its URL,
    // which the memo would keep alive (≈0.8 MB at 10,000 credentials).
    const credential = ctx.credential === token.credential ? token.credential : ctx.credential
    this.sink.write(`${this.start()},"requestId":${JSON.stringify(ctx.requestId)}${this.callerPart(ctx.principal)}`
      + issuanceText(token, token.accessToken, credential, tokenIssued))
  }

  /** A Restricted Data Token handed out: the paths it opens, its fingerprint (never the token); made once per RDT. */
  restrictedIssued(ctx: AuditContext, rdt: IssuedRestricted): void {
    this.sink.write(`${this.start()},"requestId":${JSON.stringify(ctx.requestId)}${this.callerPart(ctx.principal)}`
      + issuanceText(rdt, rdt.restrictedDataToken, ctx.credential, rdtIssued))
  }

  /** An admin action (list, refresh, reload), allowed or denied. */
  admin(ctx: AuditContext, action: string, outcome: 'allowed' | 'denied', error?: string): void {
    this.write({ ...base(ctx), event: `admin.${action}`, outcome, error }, `admin ${action} ${outcome}`)
  }

  /**
   * An onboarding step: a link opened, a credential connected, or why not; with the Amazon
   * account when known, and the browser's address and user agent (truncated: caller text).
   */
  onboarding(ctx: AuditContext, outcome: 'started' | 'completed' | 'failed', detail: OnboardingDetail): void {
    const { reason, account, flow, clientAddress, userAgent } = detail
    this.write({
      ...base(ctx),
      event: `onboarding.${outcome}`,
      outcome,
      reason,
      account,
      flow,
      clientAddress,
      userAgent: userAgent?.slice(0, maxCallerTextChars),
    }, `onboarding ${outcome}`)
  }

  /** Something happened to a credential's authorization (src/lifecycle): the same event id the webhook carries. */
  lifecycle(event: LifecycleEvent): void {
    const { id, type, credential, account, api, region, detail } = event
    this.write({ event: `credential.${type}`, eventId: id, credential, account, api, region, detail },
      `credential ${type}`)
  }

  denied(ctx: AuditContext, error: string, reason?: string): void {
    this.write({ ...base(ctx), event: 'token.denied', outcome: 'denied', error, reason }, 'token denied')
  }

  /** Any event: its fields as JSON (undefined ones left out, as pino does) after the head. */
  private write(fields: Record<string, unknown>, msg: string): void {
    const json = JSON.stringify(fields)
    this.sink.write(`${this.start()}${json.length > 2 ? `,${json.slice(1, -1)}` : ''},"msg":${JSON.stringify(msg)}}\n`)
  }

  private start(): string {
    const ids = this.traceIds?.()
    const trace = ids ? `,"trace_id":"${ids.traceId}","span_id":"${ids.spanId}"` : ''
    return `{"level":30,"time":${this.now()}${this.head}${trace}`
  }

  /** The issuer's part is one string per issuer (configured: a few), the subject's one per caller. */
  private callerPart(principal: Principal | undefined): string {
    if (!principal) return ''
    let subject = principal.memo[callerPart] as string | undefined
    if (subject === undefined) {
      subject = flat([',"callerSubject":', JSON.stringify(principal.subject.slice(0, maxCallerTextChars))])
      principal.memo[callerPart] = subject
    }
    let issuer = this.issuerParts.get(principal.issuer)
    if (issuer === undefined) {
      issuer = `,"callerIssuer":${JSON.stringify(principal.issuer)}`
      this.issuerParts.set(principal.issuer, issuer)
    }
    return issuer + subject
  }
}

/** What the issuance line reads of a token: never the token itself, only its fingerprint. */
type IssuedForAudit = { accessToken: string; credential: string; expiresAtMs: number; expiresAt: string; memo: Memo }
type IssuedRestricted = { restrictedDataToken: string; expiresAtMs: number; paths: string[]; memo: Memo }

/** In a caller's memo: its part of the line, made once. */
const callerPart = Symbol('audit caller part')

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
