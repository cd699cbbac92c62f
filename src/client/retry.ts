import { BrokerClientError, retryable } from './errors.js'

export interface RetrySettings {
  /** Attempts after the first. */
  retries: number
  baseDelayMs: number
  maxDelayMs: number
  random: () => number
  sleep: (ms: number) => Promise<void>
  onRetry: ((retry: { attempt: number; code: string; status: number; delayMs: number }) => void) | undefined
}

/**
 * `attempt` again while it fails with a retryable error: exponential backoff with full jitter,
 * never sooner than the broker's `Retry-After`. Anything else is thrown at once.
 */
export async function withRetries<T>(settings: RetrySettings, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof BrokerClientError) || !retryable(err.status) || n >= settings.retries) throw err
      const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** n)
      const delayMs = Math.max((err.retryAfterSeconds ?? 0) * 1000, Math.round(settings.random() * ceiling))
      settings.onRetry?.({ attempt: n + 1, code: err.code, status: err.status, delayMs })
      await settings.sleep(delayMs)
    }
  }
}
