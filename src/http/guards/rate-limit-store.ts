import type { RedisClient } from '../../cache/index.js'

/**
 * KEYS counter; ARGV windowMs. One more request in the window. A counter without expiry, or
 * expiring later than one window, or not a number, was not written by a replica: it starts
 * over, so a forged counter can hold a caller back for one window at most, never forever,
 * and cannot switch the limit off either.
 */
const incrementGuarded = `
local window = tonumber(ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl > window then redis.call('DEL', KEYS[1]) end
local current = redis.pcall('INCR', KEYS[1])
if type(current) == 'table' and current.err then
  redis.call('DEL', KEYS[1])
  current = redis.call('INCR', KEYS[1])
end
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
else
  ttl = redis.call('PTTL', KEYS[1])
end
return { current, ttl }
`

/** KEYS counter. The count and what is left of its window, without counting. */
const read = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return { current, ttl }
`

type GuardedRedis = RedisClient & {
  lwaRateLimit(key: string, windowMs: number): Promise<[number, number]>
  lwaRateLimitRead(key: string): Promise<[number, number]>
}

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void

/**
 * @fastify/rate-limit's store contract (`incr`, `read`, `child`) on Redis, counting with the
 * guarded script above instead of the plugin's own, which trusts whatever the key holds.
 * Each script touches one key, so in a Redis Cluster it runs on that key's node.
 * A class, since the plugin constructs its store itself.
 */
export function guardedRedisStore(client: RedisClient, prefix = 'fastify-rate-limit-') {
  const redis = client as GuardedRedis
  if (!redis.lwaRateLimit) redis.defineCommand('lwaRateLimit', { numberOfKeys: 1, lua: incrementGuarded })
  if (!redis.lwaRateLimitRead) redis.defineCommand('lwaRateLimitRead', { numberOfKeys: 1, lua: read })
  const answer = (cb: Callback) => ([current, ttl]: [number, number]) => cb(null, { current, ttl })
  return class GuardedRedisStore {
    readonly keyPrefix = prefix

    incr(key: string, cb: Callback, timeWindowMs: number): void {
      redis.lwaRateLimit(this.keyPrefix + key, timeWindowMs).then(answer(cb), (err: Error) => cb(err))
    }

    read(key: string, cb: Callback): void {
      redis.lwaRateLimitRead(this.keyPrefix + key).then(answer(cb), (err: Error) => cb(err))
    }

    /** The broker's limits use keys that never collide (caller:, addr:, rule:): one key space serves them all. */
    child(): GuardedRedisStore {
      return this
    }
  }
}
