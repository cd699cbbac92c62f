import type { RedisClient } from '../cache/redis-clients.js'
import { defineScripts } from '../cache/scripts.js'

/*
 * A link is stored as the JSON of its Link under an "open" key, then a "spent" one; both keys
 * of a link share a hash tag, so a Cluster runs these scripts where both live. The caller's
 * clock decides expiry (the key's TTL only cleans up): a link expired by it is never moved.
 */

/** The milliseconds the link in `value` has left at ARGV[1]; 0 if none, or if the value is not a link. */
const leftMs = `
local function leftMs(value)
  local ok, link = pcall(cjson.decode, value)
  if not ok or type(link) ~= 'table' or type(link.expiresAtMs) ~= 'number' then return 0 end
  return math.max(0, math.ceil(link.expiresAtMs - tonumber(ARGV[1])))
end
`

/**
 * KEYS from, to; ARGV nowMs. Moves a live link from one key to the other in one step and
 * returns it: of two replicas racing, only one finds it. An expired one is only removed.
 */
const move = `${leftMs}
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('DEL', KEYS[1])
local ms = leftMs(value)
if ms == 0 then return false end
redis.call('SET', KEYS[2], value, 'PX', ms)
return value
`

interface OnboardingScripts {
  onboardingMove(fromKey: string, toKey: string, nowMs: number): Promise<string | null>
}

/** The commands client with the onboarding store's script. */
export type OnboardingRedis = RedisClient & OnboardingScripts

export const withOnboardingScripts = (client: RedisClient): OnboardingRedis =>
  defineScripts<OnboardingScripts>(client, { onboardingMove: { numberOfKeys: 2, lua: move } })
