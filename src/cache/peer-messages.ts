import type { PeerEvent } from '../tokens/index.js'

/** What travels on the events channel: a peer event, or "a token was stored" (wakes waiters). */
export type PeerMessage = PeerEvent | { kind: 'token_stored'; credential: string }

/** `from` is the sending store's id, so a replica ignores what it sent itself. */
export function encodeMessage(from: string, message: PeerMessage): string {
  return JSON.stringify({ from, message })
}

/** The message and its sender, or undefined for anything this version does not know. */
export function decodeMessage(text: string): { from: string; message: PeerMessage } | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  const { from, message } = (parsed ?? {}) as { from?: unknown; message?: { kind?: unknown; credential?: unknown } }
  if (typeof from !== 'string' || typeof message !== 'object' || message === null) return undefined
  if (message.kind === 'secrets_reloaded') return { from, message: { kind: 'secrets_reloaded' } }
  if ((message.kind === 'token_refreshed' || message.kind === 'token_stored') && typeof message.credential === 'string') {
    return { from, message: { kind: message.kind, credential: message.credential } }
  }
  return undefined
}
