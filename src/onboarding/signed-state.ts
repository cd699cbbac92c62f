import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { NewCredential } from './store.js'

export interface StatePayload {
  /** The credential being connected; for a new one, its name or name template. */
  credential: string
  /** Also set as the browser's cookie: binds the state to the browser that started the flow. */
  nonce: string
  expiresAtMs: number
  /** The one-time link the flow started from (given back if the attempt fails on our side); none from the Login URI. */
  link?: string
  /** Present when the consent creates the credential. */
  create?: NewCredential
  /** The account the flow may connect, if it named one. */
  expectedAccount?: string
  /** The flow may replace the account the credential is connected to. */
  replace: boolean
}

/**
 * OAuth `state` for the consent round trip: unguessable, signed (HMAC-SHA256 with a key every
 * replica derives from its configuration, so any replica can check it), short-lived. Single use
 * is the onboarding store's job: a state's nonce is marked there when the callback consumes it.
 */
export class StateSigner {
  constructor(private readonly key: Buffer) {}

  issue(fields: Omit<StatePayload, 'nonce'>): { state: string; nonce: string } {
    const nonce = randomBytes(16).toString('base64url')
    const body = Buffer.from(JSON.stringify({ ...fields, nonce } satisfies StatePayload)).toString('base64url')
    return { state: `${body}.${this.mac(body)}`, nonce }
  }

  /** The payload of a state this broker signed and that has not expired. */
  verify(state: string, nowMs: number): StatePayload | 'invalid' | 'expired' {
    const [body, mac] = state.split('.')
    if (!body || !mac || !safeEqual(mac, this.mac(body))) return 'invalid'
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload
    return nowMs >= payload.expiresAtMs ? 'expired' : payload
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url')
  }
}

/** Constant-time comparison of two strings (different lengths are simply unequal). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
