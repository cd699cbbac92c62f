import { setTimeout as sleepFor } from 'node:timers/promises'
import type { Logger } from 'pino'
import { request, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../clock.js'
import { backoffDelayMs, type BackoffPolicy } from '../tokens/backoff.js'
import type { LifecycleEvent } from './events.js'
import type { DeliveryOutcome } from './lifecycle-metrics.js'
import { webhookSignature } from './webhook-signature.js'

/** A receiver that is down for minutes is retried at least every 5 minutes, never hammered. */
const defaultRetry: BackoffPolicy = { baseMs: 1000, capMs: 300_000 }

export interface WebhookSenderOptions {
  url: string
  /** The HMAC key; never logged. */
  key: string
  timeoutMs: number
  /** Events waiting on this replica; a new one beyond this is dropped (and counted), not queued. */
  maxQueue: number
  /** Per event, the first included. */
  maxAttempts: number
  logger: Logger
  clock?: Clock
  dispatcher?: Dispatcher
  random?: () => number
  retry?: BackoffPolicy
  /** A pause that ends early when `signal` aborts (tests make backoff instant or count it). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  outcome?: (outcome: DeliveryOutcome) => void
}

type Attempt =
  | { kind: 'delivered' }
  | { kind: 'rejected'; status: number }
  | { kind: 'failed'; reason: string; retryAfterMs?: number }

/**
 * Delivers lifecycle events to one URL, in order, one at a time: signed, each retried with
 * backoff until a 2xx, a permanent refusal or `maxAttempts`. An event leaves the queue only
 * then, so every event is delivered at least once while the process lives (and the queue has
 * room); receivers drop repeats by the event id.
 */
export class WebhookSender {
  private readonly queue: LifecycleEvent[] = []
  private draining: Promise<void> | undefined
  private readonly stopped = new AbortController()
  private readonly retry: BackoffPolicy

  constructor(private readonly options: WebhookSenderOptions) {
    this.retry = options.retry ?? defaultRetry
  }

  queued(): number {
    return this.queue.length
  }

  send(event: LifecycleEvent): void {
    if (this.stopped.signal.aborted || this.queue.length >= this.options.maxQueue) {
      this.options.outcome?.(this.stopped.signal.aborted ? 'dropped_shutdown' : 'dropped_queue_full')
      this.options.logger.warn({ eventId: event.id, event: event.type, credential: event.credential },
        'lifecycle webhook: event dropped, the queue is full or closed')
      return
    }
    this.queue.push(event)
    this.draining ??= this.drain()
  }

  /** Delivers what is queued for at most `deadlineMs`; what is left then is counted as dropped and logged. */
  async close(deadlineMs: number): Promise<void> {
    const timer = setTimeout(() => this.stopped.abort(), deadlineMs)
    await this.draining
    clearTimeout(timer)
    this.stopped.abort()
    if (this.queue.length === 0) return
    this.queue.forEach(() => this.options.outcome?.('dropped_shutdown'))
    // Each of them is in the audit log, which is where to find what a receiver missed.
    this.options.logger.warn({ events: this.queue.length },
      'lifecycle webhook: events still queued at shutdown were not delivered')
    this.queue.length = 0
  }

  private async drain(): Promise<void> {
    try {
      for (let head = this.queue[0]; head; head = this.queue[0]) {
        if (!(await this.deliver(head))) return
        this.queue.shift()
      }
    } finally {
      // In the same turn as the last check of the queue: an event sent from now on starts a new drain.
      this.draining = undefined
    }
  }

  /** False when stopped before the event was done with: it stays queued. */
  private async deliver(event: LifecycleEvent): Promise<boolean> {
    const { maxAttempts, logger, random = Math.random, outcome } = this.options
    const body = JSON.stringify(event)
    const about = { eventId: event.id, event: event.type, credential: event.credential }
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(event.id, body)
      if (this.stopped.signal.aborted && result.kind !== 'delivered') return false
      if (result.kind === 'delivered') {
        outcome?.('delivered')
        return true
      }
      if (result.kind === 'rejected' || attempt >= maxAttempts) {
        outcome?.(result.kind === 'rejected' ? 'dropped_rejected' : 'dropped_attempts')
        logger.error({ ...about, attempt, ...failure(result) }, 'lifecycle webhook: event dropped, not delivered')
        return true
      }
      outcome?.('retried')
      const floorMs = Math.min(this.retry.capMs, result.retryAfterMs ?? this.retry.baseMs)
      const delayMs = backoffDelayMs(this.retry, attempt, random, floorMs)
      logger.warn({ ...about, attempt, ...failure(result), retryInMs: delayMs }, 'lifecycle webhook delivery failed')
      await this.pause(delayMs)
    }
  }

  private async attempt(id: string, body: string): Promise<Attempt> {
    const { url, key, timeoutMs, clock = systemClock, dispatcher } = this.options
    const timestamp = String(Math.floor(clock.now() / 1000))
    try {
      const res = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'lwa-broker-event-id': id,
          'lwa-broker-timestamp': timestamp,
          'lwa-broker-signature': webhookSignature(key, timestamp, body),
        },
        body,
        signal: AbortSignal.any([this.stopped.signal, AbortSignal.timeout(timeoutMs)]),
        ...(dispatcher ? { dispatcher } : {}),
      })
      await res.body.dump()
      return classify(res.statusCode, res.headers['retry-after'])
    } catch (err) {
      return { kind: 'failed', reason: (err as { code?: string; name?: string }).code ?? (err as Error).name }
    }
  }

  private async pause(ms: number): Promise<void> {
    const signal = this.stopped.signal
    const sleep = this.options.sleep ?? ((delay, s) => sleepFor(delay, undefined, { signal: s }))
    await sleep(ms, signal).catch(() => undefined)
  }
}

/** 2xx delivered; 408, 429 and 5xx worth another try; any other answer will not change by retrying. */
function classify(status: number, retryAfter: string | string[] | undefined): Attempt {
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status !== 408 && status !== 429 && status < 500) return { kind: 'rejected', status }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)
  const retryAfterMs = Number.isInteger(seconds) && seconds >= 0 ? seconds * 1000 : undefined
  return { kind: 'failed', reason: `http_${status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
}

const failure = (result: Exclude<Attempt, { kind: 'delivered' }>): Record<string, string | number> =>
  result.kind === 'rejected' ? { status: result.status } : { reason: result.reason }
