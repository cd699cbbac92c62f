import { BrokerError } from '../errors.js'

/** How one caller waits for a token: its own deadline, and a refresh started before its floor is reached. */
export interface TokenWait {
  deadlineMs?: number | undefined
  refreshBelowSeconds?: number | undefined
}

/**
 * `work`, or `timedOut()`'s error once `ms` have passed: no caller waits on a dead upstream
 * beyond its deadline, while the work itself goes on (the cache remembers how it ends).
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
    work.catch(() => {}) // a late failure of the abandoned wait is the cache's to remember, not unhandled
  }
}

/** A token for credential `name` within `ms`, or `upstream_unavailable` saying when to try again. */
export function tokenWithinDeadline<T>(name: string, ms: number, work: Promise<T>): Promise<T> {
  return withinDeadline(work, ms, () => new BrokerError(
    'upstream_unavailable',
    `no token for credential ${name} within ${ms} ms; LWA is slow or unreachable`,
    { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) },
  ))
}
