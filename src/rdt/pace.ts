import type { RedisClient } from '../cache/index.js'
import { defineScripts } from '../cache/scripts.js'

/** A token bucket's shape: `ratePerSecond` refills, at most `burst` kept. */
export interface Plan {
  ratePerSecond: number
  burst: number
}

/**
 * The Tokens API's pace per seller and app, kept for every replica at once. `take` answers 0
 * when a call may go now, otherwise the milliseconds until one may; `drain` empties the bucket
 * (Amazon answered 429: its count is ahead of ours); `learn` keeps the rate Amazon's
 * x-amzn-RateLimit-Limit said, which every later `take` for the key keeps to when it is slower
 * than the plan's.
 */
export interface Pace {
  take(key: string, plan: Plan, nowMs: number): Promise<number>
  drain(key: string, plan: Plan, nowMs: number): Promise<void>
  learn(key: string, ratePerSecond: number): Promise<void>
}

/** Amazon's word on a rate is kept this long after it last said it (it says it on every answer). */
export const learnedRateTtlMs = 3600_000

const slowest = (plan: Plan, learned: number | undefined): Plan =>
  learned !== undefined && learned > 0 && learned < plan.ratePerSecond ? { ...plan, ratePerSecond: learned } : plan

/** A bucket refilled for the time since it was last seen; a clock that went back refills nothing. */
function refilled(bucket: { tokens: number; atMs: number } | undefined, plan: Plan, nowMs: number): number {
  if (!bucket) return plan.burst
  return Math.min(plan.burst, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) * plan.ratePerSecond) / 1000)
}

const waitMs = (tokens: number, plan: Plan): number => Math.ceil(((1 - tokens) * 1000) / plan.ratePerSecond)

/** One replica's buckets (no Redis). A full bucket is no different from none, so full ones are forgotten. */
export class LocalPace implements Pace {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()
  /** Per key: one per seller and app, as many as the credentials. */
  private readonly learned = new Map<string, number>()

  async take(key: string, asPlanned: Plan, nowMs: number): Promise<number> {
    const plan = slowest(asPlanned, this.learned.get(key))
    const tokens = refilled(this.buckets.get(key), plan, nowMs)
    if (tokens < 1) {
      this.buckets.set(key, { tokens, atMs: nowMs })
      return waitMs(tokens, plan)
    }
    this.buckets.set(key, { tokens: tokens - 1, atMs: nowMs })
    this.forgetFull(plan, nowMs)
    return 0
  }

  async drain(key: string, _plan: Plan, nowMs: number): Promise<void> {
    this.buckets.set(key, { tokens: 0, atMs: nowMs })
  }

  async learn(key: string, ratePerSecond: number): Promise<void> {
    this.learned.set(key, ratePerSecond)
  }

  /** Bounds the map by the sellers active within one refill of a bucket. */
  private forgetFull(plan: Plan, nowMs: number): void {
    if (this.buckets.size < 1024) return
    for (const [key, bucket] of this.buckets) if (refilled(bucket, plan, nowMs) >= plan.burst) this.buckets.delete(key)
  }
}

/**
 * KEYS bucket, learned rate; ARGV nowMs, ratePerSecond, burst, drain (1/0). The bucket as a hash
 * {t, at}, refilled at the slower of the plan's rate and the one Amazon said, then one taken (0
 * answered) or the wait in ms answered; kept until it is full again.
 */
const takeScript = `
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local learned = tonumber(redis.call('GET', KEYS[2]))
if learned and learned > 0 and learned < rate then rate = learned end
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local t = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
if now > at then t = math.min(burst, t + (now - at) * rate / 1000) end
local wait = 0
if ARGV[4] == '1' then t = 0 elseif t >= 1 then t = t - 1 else wait = math.ceil((1 - t) * 1000 / rate) end
redis.call('HSET', KEYS[1], 't', tostring(t), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
`

interface PaceScripts {
  lwaRdtPace(key: string, rateKey: string, nowMs: number, ratePerSecond: number, burst: number, drain: number):
    Promise<number>
}

/** Every replica's buckets in Redis; when Redis fails, this replica keeps its own pace meanwhile. */
export class RedisPace implements Pace {
  private readonly redis: RedisClient & PaceScripts
  private readonly fallback = new LocalPace()

  constructor(redis: RedisClient) {
    this.redis = defineScripts<PaceScripts>(redis, { lwaRdtPace: { numberOfKeys: 2, lua: takeScript } })
  }

  take(key: string, plan: Plan, nowMs: number): Promise<number> {
    return this.redis.lwaRdtPace(bucketKey(key), rateKey(key), nowMs, plan.ratePerSecond, plan.burst, 0)
      .catch(() => this.fallback.take(key, plan, nowMs))
  }

  async drain(key: string, plan: Plan, nowMs: number): Promise<void> {
    await this.redis.lwaRdtPace(bucketKey(key), rateKey(key), nowMs, plan.ratePerSecond, plan.burst, 1)
      .catch(() => this.fallback.drain(key, plan, nowMs))
  }

  /** Told to every replica through Redis; kept here too, for while Redis is away. */
  async learn(key: string, ratePerSecond: number): Promise<void> {
    await this.fallback.learn(key, ratePerSecond)
    await this.redis.set(rateKey(key), String(ratePerSecond), 'PX', learnedRateTtlMs).catch(() => {})
  }
}

/** One hash tag for both: a script's keys must be in one cluster slot. */
const bucketKey = (key: string): string => `rdt-pace:{${key}}`
const rateKey = (key: string): string => `rdt-rate:{${key}}`
