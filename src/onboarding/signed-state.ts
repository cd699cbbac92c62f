import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export interface StatePayload {
  /** The credential being connected. */
  credential: string
  /** Also set as the browser's cookie: binds the state to the browser that started the flow. */
  nonce: string
  expiresAtMs: number
  /** The one-time link the flow started from (given back if the attempt fails on our side). */
  link: string
  /** The account the link may connect, if it named one. */
  expectedAccount?: string
  /** The link may replace the account the credential is connected to. */
  replace: boolean
}

/**
 * OAuth `state` for the consent round trip: unguessable, signed (HMAC-SHA256 with a key
 * made at start-up), short-lived, and single-use (a used nonce is remembered until the
 * state would have expired anyway). A replica that did not issue it cannot verify it, so
 * the consent round trip must come back to the same replica (sticky session or one replica).
 */
export class StateSigner {
  private readonly key = randomBytes(32)
  private readonly used = new Map<string, number>()

  issue(fields: Omit<StatePayload, 'nonce'>): { state: string; nonce: string } {
    const nonce = randomBytes(16).toString('base64url')
    const body = Buffer.from(JSON.stringify({ ...fields, nonce } satisfies StatePayload)).toString('base64url')
    return { state: `${body}.${this.mac(body)}`, nonce }
  }

  /** Makes a consumed state usable again: the attempt failed on our side, so reloading the page may finish it. */
  release(nonce: string): void {
    this.used.delete(nonce)
  }

  /**
   * The payload if the state is ours, unexpired, unused and came back in the browser that
   * started the flow (`cookieNonce`); it is used from then on. A state that fails a check
   * before that is not burnt, so the rightful browser can still finish.
   */
  consume(
    state: string,
    cookieNonce: string | undefined,
    nowMs: number,
  ): StatePayload | 'invalid' | 'expired' | 'other_browser' | 'reused' {
    const [body, mac] = state.split('.')
    if (!body || !mac || !safeEqual(mac, this.mac(body))) return 'invalid'
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload
    if (nowMs >= payload.expiresAtMs) return 'expired'
    this.forgetExpired(nowMs)
    // Before the cookie check: reloading the finished page (cookie cleared) says "already used".
    if (this.used.has(payload.nonce)) return 'reused'
    if (!cookieNonce || !safeEqual(cookieNonce, payload.nonce)) return 'other_browser'
    this.used.set(payload.nonce, payload.expiresAtMs)
    return payload
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url')
  }

  private forgetExpired(nowMs: number): void {
    for (const [nonce, expiresAtMs] of this.used) if (nowMs >= expiresAtMs) this.used.delete(nonce)
  }
}

/** Constant-time comparison of two strings (different lengths are simply unequal). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
