// Queues and messages of the SQS emulator: visibility, receive counts, receipt handles and redrive.
// No HTTP here; `sqs-emulator.ts` is the wire shell around it.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from '../../src/clock.js'

export const ACCOUNT_ID = '000000000000'
const REGION = 'us-east-1'
const ERROR_NAMESPACE = 'com.amazonaws.sqs'
const MAX_BODY_BYTES = 262_144
export const MAX_VISIBILITY_TIMEOUT_S = 43_200
const MAX_DELAY_S = 900
export const MAX_WAIT_S = 20
const MAX_RECEIVES = 1_000
const VISIBILITY_TIMEOUT_S_DEFAULT = 30
const RECEIPT_HANDLE_BYTES = 96
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/
// The characters SQS accepts in a body (XML 1.0's Char production); anything else is InvalidMessageContents.
const BODY_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u

/** The awsQuery code (sent as `x-amzn-query-error`) and status of each error, from the SDK's SQS model. */
const KNOWN_ERRORS: Record<string, [queryCode: string, status: number]> = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  InvalidAddress: ['InvalidAddress', 404],
  InvalidSecurity: ['InvalidSecurity', 403],
  OverLimit: ['OverLimit', 403],
  RequestThrottled: ['RequestThrottled', 403],
  KmsThrottled: ['KMS.ThrottlingException', 400],
  MissingAuthenticationToken: ['MissingAuthenticationToken', 403],
  InternalError: ['InternalError', 500],
  InternalFailure: ['InternalFailure', 500],
  ServiceUnavailable: ['ServiceUnavailable', 503],
}

/** A service error; `type` is a shape id (`com.amazonaws.sqs#OverLimit`) or a bare code (`OverLimit`). */
export class SqsError extends Error {
  readonly code: string
  readonly shapeId: string
  readonly queryCode: string
  readonly status: number

  constructor(type: string, message: string, status?: number) {
    super(message)
    this.code = type.includes('#') ? type.slice(type.indexOf('#') + 1) : type
    this.shapeId = type.includes('#') ? type : `${ERROR_NAMESPACE}#${type}`
    const known = KNOWN_ERRORS[this.code]
    this.queryCode = known?.[0] ?? this.code
    this.status = status ?? known?.[1] ?? 400
  }
}

export const noSuchQueue = (): SqsError => new SqsError('QueueDoesNotExist', 'The specified queue does not exist.')
export const invalidParameter = (message: string): SqsError => new SqsError('InvalidParameterValue', message)

export function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`Value ${value} for parameter ${name} is invalid. `
      + `Reason: Must be between ${min} and ${max}.`)
  }
  return value
}

export const md5Hex = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex')

export interface QueueOptions {
  visibilityTimeoutSeconds?: number
  delaySeconds?: number
  /** Used when ReceiveMessage sends no WaitTimeSeconds (ReceiveMessageWaitTimeSeconds). */
  receiveWaitTimeSeconds?: number
  /** Receives after which the next receive moves the message to the dead-letter queue instead. */
  maxReceiveCount?: number
  deadLetterQueue?: string
}

export interface StoredMessage {
  readonly messageId: string
  readonly body: string
  readonly md5OfBody: string
  readonly sentAt: number
  visibleAt: number
  receiveCount: number
  firstReceivedAt?: number
  /** The latest handle; older ones stay known so they can be told from invented ones. */
  receiptHandle?: string
  deadLetterSourceArn?: string
}

export interface Queue {
  readonly name: string
  readonly arn: string
  readonly url: string
  readonly visibilityTimeoutS: number
  readonly delayS: number
  readonly waitS: number
  readonly redrive?: { target: Queue; maxReceiveCount: number }
  readonly messages: StoredMessage[]
  readonly handles: Map<string, StoredMessage>
}

export type StaleHandlePolicy = 'ignore' | 'reject'

const expired = (handle: string): SqsError =>
  invalidParameter(`Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`)

export class QueueStore {
  /** Messages moved to a dead-letter queue so far; the shell watches it to wake polls there. */
  redrives = 0
  private readonly queues = new Map<string, Queue>()

  constructor(
    private readonly clock: Clock, private readonly baseUrl: string, private readonly staleDelete: StaleHandlePolicy,
  ) {}

  /** CreateQueue semantics: asking again with the same settings returns the same queue. */
  create(name: string, options: QueueOptions = {}): Queue {
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameter('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length')
    }
    const target = options.deadLetterQueue === undefined ? undefined : this.get(options.deadLetterQueue)
    const visibility = options.visibilityTimeoutSeconds ?? VISIBILITY_TIMEOUT_S_DEFAULT
    const maxReceives = options.maxReceiveCount ?? 0
    const redrive = target && { target, maxReceiveCount: checkRange('maxReceiveCount', maxReceives, 1, MAX_RECEIVES) }
    const queue: Queue = {
      name, arn: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`, url: `${this.baseUrl}/${ACCOUNT_ID}/${name}`,
      visibilityTimeoutS: checkRange('VisibilityTimeout', visibility, 0, MAX_VISIBILITY_TIMEOUT_S),
      delayS: checkRange('DelaySeconds', options.delaySeconds ?? 0, 0, MAX_DELAY_S),
      waitS: checkRange('ReceiveMessageWaitTimeSeconds', options.receiveWaitTimeSeconds ?? 0, 0, MAX_WAIT_S),
      messages: [], handles: new Map(),
      ...(redrive && { redrive }),
    }
    const existing = this.queues.get(name)
    if (!existing) {
      this.queues.set(name, queue)
      return queue
    }
    if (settingsOf(existing) !== settingsOf(queue)) {
      throw new SqsError('QueueNameExists',
        'A queue already exists with the same name and a different value for an attribute.')
    }
    return existing
  }

  find(name: string): Queue | undefined {
    return this.queues.get(name)
  }

  get(name: string): Queue {
    const queue = this.queues.get(name)
    if (!queue) throw noSuchQueue()
    return queue
  }

  /** The service routes on the path `/<account>/<name>`; the host part of a QueueUrl is not checked. */
  byUrl(queueUrl: string): Queue {
    let path: string
    try {
      path = new URL(queueUrl).pathname
    } catch {
      throw new SqsError('InvalidAddress', `The address ${queueUrl} is not valid for this endpoint.`)
    }
    const [, account, name, ...rest] = path.split('/')
    return this.get(account === ACCOUNT_ID && rest.length === 0 && name ? name : '')
  }

  byArn(arn: string): Queue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn)
  }

  send(queue: Queue, body: string, delaySeconds?: number): StoredMessage {
    if (body.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.')
    if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_BODY_BYTES} bytes.`)
    }
    if (!BODY_CHARS.test(body)) {
      throw new SqsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are '
        + '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF')
    }
    const now = this.clock.now()
    const delayS = delaySeconds === undefined ? queue.delayS : checkRange('DelaySeconds', delaySeconds, 0, MAX_DELAY_S)
    const message: StoredMessage = {
      messageId: randomUUID(), body, md5OfBody: md5Hex(body), sentAt: now, visibleAt: now + delayS * 1000,
      receiveCount: 0,
    }
    queue.messages.push(message)
    return message
  }

  /** Oldest visible first; a message already received `maxReceiveCount` times is redriven, not delivered. */
  receive(queue: Queue, max: number, visibilityS: number): Array<{ message: StoredMessage; receiptHandle: string }> {
    const now = this.clock.now()
    const out: Array<{ message: StoredMessage; receiptHandle: string }> = []
    for (const message of [...queue.messages]) {
      if (out.length >= max) break
      if (message.visibleAt > now) continue
      if (queue.redrive && message.receiveCount >= queue.redrive.maxReceiveCount) {
        this.redrive(queue, message, queue.redrive.target)
        continue
      }
      const receiptHandle = randomBytes(RECEIPT_HANDLE_BYTES).toString('base64')
      message.receiveCount += 1
      message.firstReceivedAt ??= now
      message.visibleAt = now + visibilityS * 1000
      message.receiptHandle = receiptHandle
      queue.handles.set(receiptHandle, message)
      out.push({ message, receiptHandle })
    }
    return out
  }

  /** Documented standard-queue behaviour: an outdated handle "succeeds, but the message might not be deleted". */
  delete(queue: Queue, receiptHandle: string): void {
    const message = this.lookup(queue, receiptHandle)
    if (message.receiptHandle !== receiptHandle) {
      if (this.staleDelete === 'reject') throw expired(receiptHandle)
      return
    }
    const index = queue.messages.indexOf(message)
    if (index >= 0) queue.messages.splice(index, 1)
  }

  changeVisibility(queue: Queue, receiptHandle: string, seconds: number): void {
    checkRange('VisibilityTimeout', seconds, 0, MAX_VISIBILITY_TIMEOUT_S)
    const message = this.lookup(queue, receiptHandle)
    if (message.receiptHandle !== receiptHandle || !queue.messages.includes(message)) throw expired(receiptHandle)
    const now = this.clock.now()
    if (message.visibleAt <= now) {
      throw new SqsError('MessageNotInflight',
        'Message does not exist or is not available for visibility timeout change.')
    }
    message.visibleAt = now + seconds * 1000
  }

  /** The next moment a message of this queue becomes visible (a delay or a visibility timeout ending). */
  nextChangeAt(queue: Queue): number | undefined {
    const now = this.clock.now()
    const future = queue.messages.map((m) => m.visibleAt).filter((at) => at > now)
    return future.length > 0 ? Math.min(...future) : undefined
  }

  private lookup(queue: Queue, receiptHandle: string): StoredMessage {
    const message = queue.handles.get(receiptHandle)
    if (!message) {
      throw new SqsError('ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`)
    }
    return message
  }

  /** Standard queues keep the message id and enqueue time; handles from the source queue stop working. */
  private redrive(source: Queue, message: StoredMessage, target: Queue): void {
    source.messages.splice(source.messages.indexOf(message), 1)
    const { receiptHandle: _dropped, ...rest } = message
    target.messages.push({ ...rest, visibleAt: this.clock.now(), deadLetterSourceArn: source.arn })
    this.redrives += 1
  }
}

function settingsOf(queue: Queue): string {
  const { visibilityTimeoutS, delayS, waitS, redrive } = queue
  return JSON.stringify([visibilityTimeoutS, delayS, waitS, redrive?.target.name, redrive?.maxReceiveCount])
}
