import type { Redis } from 'ioredis'

/*
 * A stored token is `<obtainedAtMs>:<sealed token>`: the time in clear so Redis can keep
 * the newer of two tokens without the key; everything else sealed (token-cipher.ts).
 */

/** KEYS token; ARGV obtainedAtMs, value, ttlMs. Stores the token unless the one there is as new or newer. */
const putNewer = `
local current = redis.call('GET', KEYS[1])
if current then
  local at = tonumber(string.match(current, '^(%d+):'))
  if at and at >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`

/**
 * KEYS lock, token; ARGV fence, ttlMs, seenAtMs. Takes the lock (SET NX PX) unless a token
 * newer than the one the caller last saw is already there: that refresh has just happened.
 */
const lockUnlessNewer = `
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

/** KEYS token, lock. The stored token and whether a refresh is under way, in one look. */
const peek = `
return { redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2]) }
`

/** The commands client with the broker's scripts (EVALSHA, loaded on first use). */
export interface ScriptedRedis extends Redis {
  lwaPutNewer(tokenKey: string, obtainedAtMs: number, value: string, ttlMs: number): Promise<number>
  lwaLockUnlessNewer(lockKey: string, tokenKey: string, fence: string, ttlMs: number, seenAtMs: number): Promise<number>
  lwaReleaseIfOwner(lockKey: string, fence: string): Promise<number>
  lwaPeek(tokenKey: string, lockKey: string): Promise<[string | null | false, number]>
}

export function withScripts(client: Redis): ScriptedRedis {
  client.defineCommand('lwaPutNewer', { numberOfKeys: 1, lua: putNewer })
  client.defineCommand('lwaLockUnlessNewer', { numberOfKeys: 2, lua: lockUnlessNewer })
  client.defineCommand('lwaReleaseIfOwner', { numberOfKeys: 1, lua: releaseIfOwner })
  client.defineCommand('lwaPeek', { numberOfKeys: 2, lua: peek })
  return client as ScriptedRedis
}

/** Where a stored token's time ends and its sealed part begins. */
export const storedSeparator = ':'
