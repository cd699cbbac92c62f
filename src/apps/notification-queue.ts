import { setTimeout as sleepFor } from 'node:timers/promises'
import {
  DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message, type SQSClientConfig,
} from '@aws-sdk/client-sqs'
import type { Logger } from 'pino'
import { backoffDelayMs, type BackoffPolicy } from '../tokens/backoff.js'
import { parseAppNotification, type AppNotification } from './notifications.js'

export type NotificationKind = AppNotification['kind'] | 'unknown'
export type NotificationOutcome = 'deleted' | 'kept' | 'unparseable' | 'unknown_type' | 'failed'

export interface NotificationQueueEvents {
  notification(kind: NotificationKind, outcome: NotificationOutcome): void
  receiveFailed(): void
}

export interface NotificationQueueOptions {
  queueUrl: string
  region: string
  /** Unset: the regional endpoint (or AWS_ENDPOINT_URL_SQS). */
  endpoint?: string
  /** Unset: the SDK's default chain, so IRSA, Pod Identity and instance roles need no config. */
  credentials?: SQSClientConfig['credentials']
  /** Long-poll wait per ReceiveMessage, 1 to 20 s. */
  waitTimeSeconds?: number
  /** Per ReceiveMessage, 1 to 10. */
  maxMessages?: number
  /** 'delete' only once the notification's effect is durable: the message is gone for good then. */
  handle: (notification: AppNotification) => Promise<'delete' | 'keep'>
  logger: Logger
  events?: NotificationQueueEvents
  /** A pause that ends early when `signal` aborts (tests make backoff instant or count it). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  random?: () => number
}

const WAIT_TIME_S_DEFAULT = 20
const WAIT_TIME_S_MAX = 20
const MAX_MESSAGES_DEFAULT = 10
const MAX_MESSAGES_MAX = 10
// On top of the long poll: a receive that outlives its wait by this much is black-holed, not slow.
const REQUEST_MARGIN_MS = 5_000
const CONNECTION_TIMEOUT_MS = 2_000
/** SQS down or refusing us is retried for as long as it lasts, at most every 30 s. */
const receiveRetry: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 }
const ERROR_NAME = /^[A-Za-z0-9_.]{1,64}$/

/**
 * The SDK's default logger is a NoOpLogger, for which the SQS QueueUrl middleware falls back to
 * console.warn; this one has every method and does nothing. The queue logs its calls itself.
 */
const sdkLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/**
 * Long-polls one SQS queue for the application's client-secret notifications. A message is deleted
 * only when `handle` says its effect is durable; anything else leaves it to come back after its
 * visibility timeout, and the queue's redrive policy dead-letters what never succeeds. Delivery is
 * at least once: `handle` sees repeats (by `notificationId`) and decides what they mean.
 */
export class NotificationQueue {
  private readonly client: SQSClient
  private readonly stopped = new AbortController()
  private loop: Promise<void> | undefined

  constructor(private readonly options: NotificationQueueOptions) {
    const { queueUrl, region, endpoint, credentials, waitTimeSeconds, maxMessages } = options
    if (queueUrl === '') throw new TypeError('NotificationQueue: queueUrl is required')
    checkInteger('waitTimeSeconds', waitTimeSeconds, 1, WAIT_TIME_S_MAX)
    checkInteger('maxMessages', maxMessages, 1, MAX_MESSAGES_MAX)
    const config: SQSClientConfig = {
      region, logger: sdkLogger,
      // The loop is the retry: its backoff is counted and logged; a failed delete comes back to `handle`.
      maxAttempts: 1,
      // A DeleteMessage answers at once; a receive gets its long-poll wait on top of this (see receive()).
      requestHandler: { requestTimeout: REQUEST_MARGIN_MS, connectionTimeout: CONNECTION_TIMEOUT_MS,
        throwOnRequestTimeout: true },
    }
    if (endpoint !== undefined) config.endpoint = endpoint
    if (credentials !== undefined) config.credentials = credentials
    this.client = new SQSClient(config)
  }

  /** Polls until close(); receive failures are logged, counted and retried with backoff. */
  start(): void {
    if (this.loop || this.stopped.signal.aborted) throw new TypeError('NotificationQueue: start() once, before close()')
    this.loop = this.run()
  }

  /** Ends a long poll in flight, waits for the messages being handled, then releases the client's sockets. */
  async close(): Promise<void> {
    this.stopped.abort()
    await this.loop
    this.client.destroy()
  }

  /** One ReceiveMessage and its messages handled; rejects (with no SDK detail) only when the receive failed. */
  async pollOnce(): Promise<number> {
    const messages = await this.receive()
    for (const message of messages) await this.settle(message)
    return messages.length
  }

  private async run(): Promise<void> {
    const { random = Math.random, sleep = (ms, signal) => sleepFor(ms, undefined, { signal }) } = this.options
    for (let failures = 0; !this.stopped.signal.aborted;) {
      try {
        await this.pollOnce()
        failures = 0
      } catch {
        failures += 1
        await sleep(backoffDelayMs(receiveRetry, failures, random), this.stopped.signal).catch(() => undefined)
      }
    }
  }

  private async receive(): Promise<Message[]> {
    const { queueUrl, waitTimeSeconds = WAIT_TIME_S_DEFAULT, maxMessages = MAX_MESSAGES_DEFAULT } = this.options
    if (this.stopped.signal.aborted) return []
    const command = new ReceiveMessageCommand({
      QueueUrl: queueUrl, WaitTimeSeconds: waitTimeSeconds, MaxNumberOfMessages: maxMessages,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    })
    const requestTimeout = waitTimeSeconds * 1000 + REQUEST_MARGIN_MS
    try {
      return (await this.client.send(command, { abortSignal: this.stopped.signal, requestTimeout })).Messages ?? []
    } catch (err) {
      if (this.stopped.signal.aborted) return []
      // Only the name: an SDK error can carry the raw answer, and an answer carries client secrets.
      const error = errorName(err)
      this.options.events?.receiveFailed()
      this.options.logger.warn({ error }, 'app notifications: SQS ReceiveMessage failed')
      throw new Error(`SQS ReceiveMessage failed: ${error}`)
    }
  }

  /** Never throws: whatever happens to one message is logged by its id and leaves the others alone. */
  private async settle(message: Message): Promise<void> {
    const { logger, events } = this.options
    // How close the message is to the redrive policy's maxReceiveCount, and so to the dead-letter queue.
    const count = message.Attributes?.ApproximateReceiveCount
    const about = { messageId: message.MessageId, ...(count === undefined ? {} : { receiveCount: Number(count) }) }
    const notification = parseAppNotification(message.Body ?? '')
    if (notification.kind === 'unparseable' || notification.kind === 'unknown_type') {
      events?.notification('unknown', notification.kind)
      const type = notification.kind === 'unknown_type' ? { type: notification.type } : {}
      logger.warn({ ...about, refusal: notification.kind, ...type }, 'app notifications: message refused, left queued')
      return
    }
    const { kind, clientId } = notification
    const outcome = await this.handled(message, notification)
    events?.notification(kind, outcome.outcome)
    if (outcome.outcome === 'deleted') {
      logger.info({ ...about, kind, clientId }, 'app notifications: handled and deleted')
      return
    }
    const error = 'error' in outcome ? { error: outcome.error, step: outcome.step } : {}
    logger.warn({ ...about, kind, clientId, outcome: outcome.outcome, ...error },
      'app notifications: message not deleted, it comes back after its visibility timeout')
  }

  private async handled(message: Message, notification: AppNotification): Promise<HandleResult> {
    let verdict: 'delete' | 'keep'
    try {
      verdict = await this.options.handle(notification)
    } catch (err) {
      return { outcome: 'failed', step: 'handle', error: errorName(err) }
    }
    if (verdict !== 'delete') return { outcome: 'kept' }
    try {
      const input = { QueueUrl: this.options.queueUrl, ReceiptHandle: message.ReceiptHandle }
      await this.client.send(new DeleteMessageCommand(input))
      return { outcome: 'deleted' }
    } catch (err) {
      return { outcome: 'failed', step: 'delete', error: errorName(err) }
    }
  }
}

type HandleResult = { outcome: 'deleted' | 'kept' } | { outcome: 'failed'; step: 'handle' | 'delete'; error: string }

/** A Node error's code (ECONNRESET) or the AWS / JS error name: never its message, which may quote a body. */
function errorName(err: unknown): string {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown }
  const candidate = typeof code === 'string' ? code : name
  return typeof candidate === 'string' && ERROR_NAME.test(candidate) ? candidate : 'Error'
}

function checkInteger(field: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    throw new TypeError(`NotificationQueue: ${field} must be an integer from ${min} to ${max}`)
  }
}
