import { hkdfSync } from 'node:crypto'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { BrokerConfig } from '../config/index.js'
import type { Metrics } from '../observability/metrics.js'
import type { SecretStore } from '../secrets/index.js'
import { ConnectionWatch } from './connection-watch.js'
import { loadEncryptionKey } from './encryption-key.js'
import { createRedisClients, redisConnectTimeoutMs, type RedisClient, type RedisConnection } from './redis-clients.js'
import { redisConnection } from './redis-connection.js'
import { RedisTokenStore } from './redis-token-store.js'
import { PeerSigner } from './peer-messages.js'
import { TokenCipher } from './token-cipher.js'
import { sharedLockTtlMs } from '../tokens/index.js'

/** What the broker shares through Redis: the token store, and a client for the rate limiter. */
export interface SharedCache {
  store: RedisTokenStore
  /** For @fastify/rate-limit's `redis` option; its counters land under the key prefix too. */
  rateLimitRedis: RedisClient
  up(): boolean
  /** A key for another use than sealing tokens (onboarding's `state`), derived from the key every replica holds. */
  derivedKey(purpose: string): Buffer
  /** Resolves true once connected, false after `timeoutMs` (the broker serves either way). */
  ready(timeoutMs?: number): Promise<boolean>
  close(): Promise<void>
}

export interface SharedCacheOptions {
  connection: RedisConnection
  keyPrefix: string
  key: Buffer
  clock: Clock
  logger: Logger
  /** Gets `lwa_broker_shared_cache_up`. */
  metrics?: Metrics
}

export function createSharedCache(options: SharedCacheOptions): SharedCache {
  const { commands, subscriber } = createRedisClients(options.connection, options.keyPrefix)
  const store: RedisTokenStore = new RedisTokenStore({
    commands,
    subscriber,
    channel: `${options.keyPrefix}events`,
    cipher: new TokenCipher(options.key),
    clock: options.clock,
    signer: new PeerSigner(options.key, () => options.clock.now()),
    maxLockTtlMs: sharedLockTtlMs,
    onListening: () => watch.recheck(),
  })
  // Up means tokens and locks can be shared and peer events heard: both connections, and the subscription.
  const watch = new ConnectionWatch([commands, subscriber], options.logger, () => store.listening())
  options.metrics?.sharedCacheUp(() => watch.up())
  return {
    store,
    rateLimitRedis: commands,
    up: () => watch.up(),
    derivedKey: (purpose) =>
      Buffer.from(hkdfSync('sha256', options.key, Buffer.alloc(0), `lwa-broker ${purpose} v1`, 32)),
    ready: (timeoutMs = redisConnectTimeoutMs) => watch.whenUp(timeoutMs),
    async close() {
      watch.stop()
      await store.close()
    },
  }
}

/**
 * The shared cache `config.cache` describes (backend redis): the key from its file or
 * secret, the Redis passwords from theirs, both connections, and a short wait for them.
 * Redis being down does not stop start-up: the broker serves alone until it comes.
 */
export async function openSharedCache(
  cache: BrokerConfig['cache'],
  deps: { secrets: SecretStore; clock: Clock; logger: Logger; metrics: Metrics },
): Promise<SharedCache> {
  const connection = await redisConnection(cache)
  const key = await loadEncryptionKey(cache, deps.secrets)
  const shared = createSharedCache({
    connection,
    keyPrefix: cache.keyPrefix,
    key,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
  })
  await shared.ready()
  return shared
}
