import { createHmac, timingSafeEqual } from 'node:crypto'

/** The signature scheme's version: a receiver can accept a future `v2=` beside it during a change. */
const scheme = 'v1'

/**
 * `v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`: the timestamp is signed with the body, so
 * a captured delivery cannot be replayed later under a fresh timestamp.
 */
export function webhookSignature(key: string, timestamp: string, body: string): string {
  return `${scheme}=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`
}

/** What a receiver does (the README shows it too): recompute, compare in constant time. */
export function verifyWebhookSignature(key: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(webhookSignature(key, timestamp, body))
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
