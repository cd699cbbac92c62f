export { createSharedCache, openSharedCache, type SharedCache, type SharedCacheOptions } from './shared-cache.js'
export { RedisTokenStore, waitPollMs, waitBudgetShare, type RedisTokenStoreOptions } from './redis-token-store.js'
export { TokenCipher, TokenSealError, encryptionKeyBytes } from './token-cipher.js'
export { loadEncryptionKey } from './encryption-key.js'
export {
  createRedisClients,
  fastFailingOptions,
  fastFailingClusterOptions,
  type RedisClient,
  type RedisClients,
  type RedisConnection,
} from './redis-clients.js'
export { redisConnection } from './redis-connection.js'
