import { Type } from 'typebox'
import { closed, NonEmpty, Url } from './common.js'

/** Where lifecycle events are POSTed, signed (src/lifecycle/webhook-sender.ts). */
const Webhook = Type.Object({
  /** https://, or plain http:// to loopback (like every URL the broker sends to). */
  url: Url,
  /** The HMAC-SHA256 key, exactly one of: a file holding it (at least 32 characters)... */
  keyFile: Type.Optional(NonEmpty),
  /** ...or a Secrets Manager secret whose field `key` holds it. Never this file. */
  keySecret: Type.Optional(NonEmpty),
  /** Per attempt, from sending to the receiver's answer. */
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** Events waiting for delivery on a replica; beyond it new ones are dropped and counted. */
  maxQueue: Type.Integer({ minimum: 1, maximum: 100000, default: 1000 }),
  /** Attempts per event (backoff from 1 s to 5 min between them) before it is dropped. */
  maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
}, closed)

/** Credential lifecycle events (connected, revoked, removed, expiring, …): audited and counted always. */
export const Lifecycle = Type.Object({
  /** `authorization_expiring` once fewer than this many days of an SP-API authorization's 365 are left. */
  expiryWarningDays: Type.Integer({ minimum: 1, maximum: 180, default: 30 }),
  webhook: Type.Optional(Webhook),
}, { ...closed, default: {} })
