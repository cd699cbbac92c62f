// The SQS operations the emulator answers, as JSON in and JSON out; the HTTP shell is `sqs-emulator.ts`.
import {
  ACCOUNT_ID, MAX_VISIBILITY_TIMEOUT_S, MAX_WAIT_S, SqsError, checkRange, invalidParameter, noSuchQueue,
  type Queue, type QueueOptions, type QueueStore, type StoredMessage,
} from './sqs-emulator-queues.js'

export type Json = Record<string, unknown>

const MAX_MESSAGES_PER_RECEIVE = 10
const ALL_ATTRIBUTES = 'All'
const BAD_REDRIVE_POLICY = 'Value for parameter RedrivePolicy is invalid. Reason:'

/** A ReceiveMessage that found nothing and asked to wait: the shell holds the request open. */
export class Hold {
  constructor(readonly queue: Queue, readonly waitSeconds: number, readonly take: () => Json | undefined) {}
}

// --- input readers: the SDK does not validate, so wrong shapes get the service's own errors ---

function optString(body: Json, key: string): string | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalidParameter(`Value for parameter ${key} must be a string.`)
  return value
}

const missing = (key: string): SqsError =>
  new SqsError('MissingParameter', `The request must contain the parameter ${key}.`)

function reqString(body: Json, key: string): string {
  const value = optString(body, key)
  if (value === undefined) throw missing(key)
  return value
}

/** Only the type is checked here; ranges are checked where their meaning lives. */
function optNumber(body: Json, key: string): number | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw invalidParameter(`Value for parameter ${key} must be a number.`)
  return value
}

function optInt(body: Json, key: string, min: number, max: number): number | undefined {
  const value = optNumber(body, key)
  return value === undefined ? undefined : checkRange(key, value, min, max)
}

function strings(body: Json, key: string): string[] {
  const value = body[key] ?? []
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw invalidParameter(`${key} must be a list of strings.`)
  }
  return value
}

// --- one handler per operation ---

export type Handler = (store: QueueStore, body: Json) => Json | Hold

/** CreateQueue `Attributes` the emulator models; any other is refused rather than silently ignored. */
function queueOptions(store: QueueStore, attributes: unknown): QueueOptions {
  const attrs = (attributes ?? {}) as Record<string, unknown>
  const options: QueueOptions = {}
  const number = (key: string): number => Number(attrs[key])
  for (const key of Object.keys(attrs)) {
    if (key === 'VisibilityTimeout') options.visibilityTimeoutSeconds = number(key)
    else if (key === 'DelaySeconds') options.delaySeconds = number(key)
    else if (key === 'ReceiveMessageWaitTimeSeconds') options.receiveWaitTimeSeconds = number(key)
    else if (key === 'RedrivePolicy') Object.assign(options, redrivePolicy(store, attrs[key]))
    else throw new SqsError('InvalidAttributeName', `The emulator does not support the attribute ${key}.`)
  }
  return options
}

function redrivePolicy(store: QueueStore, raw: unknown): QueueOptions {
  let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
  try {
    policy = JSON.parse(String(raw)) as typeof policy
  } catch {
    throw invalidParameter(`${BAD_REDRIVE_POLICY} Redrive policy is not a valid JSON map.`)
  }
  const target = store.byArn(String(policy.deadLetterTargetArn))
  if (!target) throw invalidParameter(`${BAD_REDRIVE_POLICY} Dead letter target does not exist.`)
  return { deadLetterQueue: target.name, maxReceiveCount: Number(policy.maxReceiveCount) }
}

function createQueue(store: QueueStore, body: Json): Json {
  const name = reqString(body, 'QueueName')
  return { QueueUrl: store.create(name, queueOptions(store, body['Attributes'])).url }
}

function getQueueUrl(store: QueueStore, body: Json): Json {
  const name = reqString(body, 'QueueName')
  const owner = optString(body, 'QueueOwnerAWSAccountId')
  if (owner !== undefined && owner !== ACCOUNT_ID) throw noSuchQueue()
  return { QueueUrl: store.get(name).url }
}

function sendMessage(store: QueueStore, body: Json): Json {
  const queue = store.byUrl(reqString(body, 'QueueUrl'))
  for (const key of ['MessageAttributes', 'MessageSystemAttributes', 'MessageGroupId', 'MessageDeduplicationId']) {
    if (body[key] !== undefined) throw new SqsError('UnsupportedOperation', `The emulator does not support ${key}.`)
  }
  const message = store.send(queue, reqString(body, 'MessageBody'), optNumber(body, 'DelaySeconds'))
  return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody }
}

function receiveMessage(store: QueueStore, body: Json): Json | Hold {
  const queue = store.byUrl(reqString(body, 'QueueUrl'))
  const max = optInt(body, 'MaxNumberOfMessages', 1, MAX_MESSAGES_PER_RECEIVE) ?? 1
  const waitS = optInt(body, 'WaitTimeSeconds', 0, MAX_WAIT_S) ?? queue.waitS
  const visibilityS = optInt(body, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_S) ?? queue.visibilityTimeoutS
  const names = new Set([...strings(body, 'AttributeNames'), ...strings(body, 'MessageSystemAttributeNames')])
  const take = (): Json | undefined => {
    const got = store.receive(queue, max, visibilityS)
    return got.length === 0 ? undefined : { Messages: got.map((r) => messageJson(r.message, r.receiptHandle, names)) }
  }
  // Long polling answers as soon as one message is there; it does not wait to fill MaxNumberOfMessages.
  return take() ?? (waitS === 0 ? {} : new Hold(queue, waitS, take))
}

function messageJson(message: StoredMessage, receiptHandle: string, names: Set<string>): Json {
  const all: Record<string, string | undefined> = {
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt), // set by the receive that got it here
    SentTimestamp: String(message.sentAt),
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  }
  const wanted = Object.entries(all).filter(([k, v]) => v !== undefined && (names.has(ALL_ATTRIBUTES) || names.has(k)))
  const json: Json = {
    MessageId: message.messageId, ReceiptHandle: receiptHandle, MD5OfBody: message.md5OfBody, Body: message.body,
  }
  if (wanted.length > 0) json['Attributes'] = Object.fromEntries(wanted)
  return json
}

function deleteMessage(store: QueueStore, body: Json): Json {
  store.delete(store.byUrl(reqString(body, 'QueueUrl')), reqString(body, 'ReceiptHandle'))
  return {}
}

function changeMessageVisibility(store: QueueStore, body: Json): Json {
  const queue = store.byUrl(reqString(body, 'QueueUrl'))
  const handle = reqString(body, 'ReceiptHandle')
  const seconds = optNumber(body, 'VisibilityTimeout')
  if (seconds === undefined) throw missing('VisibilityTimeout')
  store.changeVisibility(queue, handle, seconds)
  return {}
}

export const HANDLERS: Record<string, Handler> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  SendMessage: sendMessage,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  ChangeMessageVisibility: changeMessageVisibility,
}
