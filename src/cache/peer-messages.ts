import { createHmac, hkdfSync, randomUUID } from 'node:crypto'
import { safeEqual } from '../onboarding/signed-state.js'
import type { PeerEvent } from '../tokens/index.js'

/** What travels on the events channel: a peer event, or "a token was stored" (wakes waiters). */
export type PeerMessage = PeerEvent | { kind: 'token_stored'; credential: string }

/** A message older (or newer) than this by our clock is refused: recorded messages cannot be replayed later. */
export const peerMessageMaxSkewMs = 60_000

/**
 * Signs and checks peer messages with a key derived from the token-encryption key, which
 * only the broker's replicas hold: someone who can write to Redis but does not have that key
 * cannot make replicas reload secrets, drop tokens or reset their backoff. Each message has
 * an id and a time, so a captured one is accepted once, and only while it is fresh.
 */
export class PeerSigner {
  private readonly key: Buffer
  private readonly seen = new Map<string, number>()

  constructor(tokenKey: Buffer, private readonly now: () => number) {
    this.key = Buffer.from(hkdfSync('sha256', tokenKey, Buffer.alloc(0), 'lwa-broker peer messages v1', 32))
  }

  /** `<mac>.<payload>`; `from` is the sending store's id, so a replica ignores what it sent itself. */
  encode(from: string, message: PeerMessage): string {
    const payload = JSON.stringify({ from, id: randomUUID(), at: this.now(), message })
    return `${this.mac(payload)}.${payload}`
  }

  /**
   * The message and its sender; undefined for anything unsigned, forged, stale, replayed or unknown to this
   * version.
   */
  decode(text: string): { from: string; message: PeerMessage } | undefined {
    const dot = text.indexOf('.')
    const payload = text.slice(dot + 1)
    if (dot < 0 || !safeEqual(text.slice(0, dot), this.mac(payload))) return undefined
    const parsed = parse(payload)
    if (!parsed || !this.fresh(parsed.id, parsed.at)) return undefined
    const message = asMessage(parsed.message)
    return message && { from: parsed.from, message }
  }

  private fresh(id: string, at: number): boolean {
    const now = this.now()
    if (Math.abs(now - at) > peerMessageMaxSkewMs || this.seen.has(id)) return false
    for (const [seenId, seenAt] of this.seen) if (now - seenAt > peerMessageMaxSkewMs) this.seen.delete(seenId)
    this.seen.set(id, at)
    return true
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url')
  }
}

function parse(payload: string): { from: string; id: string; at: number; message: unknown } | undefined {
  try {
    const v = JSON.parse(payload) as { from?: unknown; id?: unknown; at?: unknown; message?: unknown }
    return typeof v.from === 'string' && typeof v.id === 'string' && typeof v.at === 'number'
      ? { from: v.from, id: v.id, at: v.at, message: v.message }
      : undefined
  } catch {
    return undefined
  }
}

function asMessage(value: unknown): PeerMessage | undefined {
  const message = value as { kind?: unknown; credential?: unknown } | null
  if (typeof message !== 'object' || message === null) return undefined
  if (message.kind === 'secrets_reloaded' || message.kind === 'catalogue_changed') return { kind: message.kind }
  const named = ['token_refreshed', 'token_stored', 'credential_reconnected'] as const
  const kind = named.find((k) => k === message.kind)
  return kind && typeof message.credential === 'string' ? { kind, credential: message.credential } : undefined
}
