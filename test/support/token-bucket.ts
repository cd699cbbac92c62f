// SP-API's usage plans are token buckets (https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits):
// `burst` requests at once, then `ratePerSecond` more as time passes. Time comes from the caller,
// so a test drives it with a fake clock instead of sleeping.

export interface UsagePlan {
  ratePerSecond: number
  burst: number
}

interface Bucket { tokens: number; updatedAtMs: number }

// 60 s at 1/60 per second must give a whole token, whatever floating point makes of it.
const epsilon = 1e-9

/** One bucket per key (e.g. selling partner + app); a new key starts full. */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>()

  constructor(readonly plan: UsagePlan) {
    if (!(plan.ratePerSecond > 0) || !(plan.burst >= 1)) {
      throw new TypeError(`TokenBuckets: ratePerSecond must be > 0 and burst >= 1, got ${JSON.stringify(plan)}`)
    }
  }

  /** Takes one token for key at nowMs; false when the bucket is empty (the request is throttled). */
  take(key: string, nowMs: number): boolean {
    const bucket = this.#refilled(key, nowMs)
    if (bucket.tokens < 1 - epsilon) return false
    bucket.tokens = Math.max(0, bucket.tokens - 1)
    return true
  }

  /** Tokens left for key at nowMs, for assertions. */
  available(key: string, nowMs: number): number {
    return this.#refilled(key, nowMs).tokens
  }

  #refilled(key: string, nowMs: number): Bucket {
    const bucket = this.#buckets.get(key) ?? { tokens: this.plan.burst, updatedAtMs: nowMs }
    // A clock moved backwards adds nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs)
    bucket.tokens = Math.min(this.plan.burst, bucket.tokens + (elapsedMs / 1000) * this.plan.ratePerSecond)
    bucket.updatedAtMs = Math.max(bucket.updatedAtMs, nowMs)
    this.#buckets.set(key, bucket)
    return bucket
  }
}
