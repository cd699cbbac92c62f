import type { RedisClient } from './redis-clients.js'

/*
 * A stored token is `<obtainedAtMs>:<sealed token>`: the time in clear so Redis can keep
 * the newer of two tokens without the key; everything else sealed (token-cipher.ts).
 */

/**
 * KEYS token; ARGV obtainedAtMs, value, ttlMs. Stores the token unless the one there is as new
 * or newer. One "newer" by more than a whole token lifetime was not stored by a replica (its
 * time is in clear): it is replaced rather than left to block every later token.
 */
const putNewer = `
local current = redis.call('GET', KEYS[1])
if current then
  local at = tonumber(string.match(current, '^(%d+):'))
  local mine = tonumber(ARGV[1])
  if at and at >= mine and at - mine < tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`

/**
 * KEYS lock, token; ARGV fence, ttlMs, seenAtMs, maxTtlMs. Takes the lock (SET NX PX) unless a
 * token newer than the one the caller last saw is already there: that refresh has just
 * happened. A lock without expiry, or expiring later than any replica would set it, was not
 * set by a replica: it is removed first.
 */
const lockUnlessNewer = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl > tonumber(ARGV[4]) then redis.call('DEL', KEYS[1]) end
local current = redis.call('GET', KEYS[2])
if current then
  local at = tonumber(string.match(current, '^(%d+):'))
  if at and at > tonumber(ARGV[3]) then return 0 end
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`

/** KEYS lock; ARGV fence. Deletes the lock only if this fence still holds it. */
const releaseIfOwner = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/**
 * KEYS token, lock; ARGV maxTtlMs. The stored token and whether a refresh is under way, in one
 * look; a lock no replica could have set (no expiry, or too long a one) does not count.
 */
const peek = `
local ttl = redis.call('PTTL', KEYS[2])
local locked = 0
if ttl > 0 and ttl <= tonumber(ARGV[1]) then locked = 1 end
return { redis.call('GET', KEYS[1]), locked }
`

/** The broker's scripts (EVALSHA, loaded on first use); each one's keys share a hash tag. */
interface Scripts {
  lwaPutNewer(tokenKey: string, obtainedAtMs: number, value: string, ttlMs: number): Promise<number>
  lwaLockUnlessNewer(
    lockKey: string,
    tokenKey: string,
    fence: string,
    ttlMs: number,
    seenAtMs: number,
    maxTtlMs: number,
  ): Promise<number>
  lwaReleaseIfOwner(lockKey: string, fence: string): Promise<number>
  lwaPeek(tokenKey: string, lockKey: string, maxTtlMs: number): Promise<[string | null | false, number]>
}

/** The commands client with the broker's scripts. */
export type ScriptedRedis = RedisClient & Scripts

export function withScripts(client: RedisClient): ScriptedRedis {
  return defineScripts<Scripts>(client, {
    lwaPutNewer: { numberOfKeys: 1, lua: putNewer },
    lwaLockUnlessNewer: { numberOfKeys: 2, lua: lockUnlessNewer },
    lwaReleaseIfOwner: { numberOfKeys: 1, lua: releaseIfOwner },
    lwaPeek: { numberOfKeys: 2, lua: peek },
  })
}

/** A Lua script and how many of its arguments are keys (the client prefixes those). */
export interface LuaScript {
  numberOfKeys: number
  lua: string
}

/**
 * Adds `scripts` to `client` as commands named after them. ioredis sends each by EVALSHA and
 * loads it on first use (again after a restart or failover empties the script cache), so no
 * replica has to load scripts at start-up. Defining a name twice on one client is harmless.
 */
export function defineScripts<T extends object>(
  client: RedisClient,
  scripts: Record<keyof T, LuaScript>,
): RedisClient & T {
  for (const [name, script] of Object.entries<LuaScript>(scripts)) client.defineCommand(name, script)
  return client as RedisClient & T
}

/** Where a stored token's time ends and its sealed part begins. */
export const storedSeparator = ':'
