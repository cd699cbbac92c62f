import { Redis, type RedisOptions } from 'ioredis'

/** Give up connecting after this long; the broker serves from its own layer meanwhile. */
export const redisConnectTimeoutMs = 1000
/** A command Redis has not answered in this long fails (a hung server must not hold callers). */
export const redisCommandTimeoutMs = 1000
/** Reconnect attempts back off from this... */
export const redisReconnectBaseMs = 50
/** ...up to this, forever: a replica rejoins whenever Redis returns. */
export const redisReconnectMaxMs = 2000

export interface RedisClients {
  /** Keys, scripts and rate-limit counters; every key goes under `keyPrefix`. */
  commands: Redis
  /** Pub/sub only (a subscribed connection can run nothing else). */
  subscriber: Redis
}

/**
 * Clients that fail fast: nothing is queued while Redis is away, and a command in flight
 * when the connection drops fails at once rather than being replayed later (a replayed
 * lock would be held by nobody). Reconnection goes on in the background.
 */
export function fastFailingOptions(keyPrefix?: string): RedisOptions {
  return {
    ...(keyPrefix ? { keyPrefix } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    connectTimeout: redisConnectTimeoutMs,
    commandTimeout: redisCommandTimeoutMs,
    retryStrategy: (attempt) => Math.min(redisReconnectBaseMs * 2 ** (attempt - 1), redisReconnectMaxMs),
  }
}

/** Opens both connections to `url` (redis:// or rediss:// for TLS, credentials in the URL). */
export function createRedisClients(url: string, keyPrefix: string): RedisClients {
  return {
    commands: new Redis(url, fastFailingOptions(keyPrefix)),
    subscriber: new Redis(url, fastFailingOptions()),
  }
}
