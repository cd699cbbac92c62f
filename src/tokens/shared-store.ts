import type { BrokerToken } from './token-source.js'

/**
 * Tokens shared between replicas (Redis, when configured). Every method may fail: the
 * caller then falls back to what one replica can do alone, so a failure of this store
 * never fails a request the local layer can serve.
 */
export interface SharedTokenStore {
  /** The newest token any replica stored for this credential. */
  get(credential: string): Promise<BrokerToken | undefined>
  /** Shares a token; it is kept until it expires. */
  put(credential: string, token: BrokerToken): Promise<void>
  /** Becomes the one replica refreshing this credential, or undefined if another already is. */
  lock(credential: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>
  /** Waits, at most `timeoutMs`, for a token obtained after `newerThanMs` (the lock holder's). */
  waitFor(credential: string, newerThanMs: number, timeoutMs: number): Promise<BrokerToken | undefined>
  /** Forgets the shared token of a credential (it belongs to an account no longer connected). */
  drop(credential: string): Promise<void>
  /** Tells the other replicas (not this one) what happened here. */
  publish(event: PeerEvent): Promise<void>
  /** Hears what the other replicas publish. */
  subscribe(listener: (event: PeerEvent) => void): void
  close(): Promise<void>
}

/**
 * What one replica tells the others: an admin reloaded secrets, a token was force-refreshed,
 * or a credential was connected to an account anew (its tokens and secrets must go).
 */
export type PeerEvent =
  | { kind: 'secrets_reloaded' }
  /** A replica's listing found tagged secrets added, changed or gone: list now rather than at the next interval. */
  | { kind: 'catalogue_changed' }
  | { kind: 'token_refreshed'; credential: string }
  | { kind: 'credential_reconnected'; credential: string }
