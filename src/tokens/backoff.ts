/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
export interface BackoffPolicy {
  baseMs: number
  capMs: number
}

/**
 * Delay before attempt `failures + 1`: uniformly random up to min(cap, base * 2^(failures-1)),
 * but never below `floorMs` (the base, or what the upstream's Retry-After demands).
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  failures: number,
  random: () => number,
  floorMs = policy.baseMs,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, failures - 1))
  return Math.max(floorMs, Math.round(random() * ceiling))
}
