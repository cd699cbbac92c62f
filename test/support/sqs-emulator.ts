// A loopback Amazon SQS that the real v3 SDK talks to over HTTP (AWS JSON 1.0, query-compatible errors).
// ReceiveMessage long polls are held open as on the real service, so consumer tests see real timing;
// queue state lives in `sqs-emulator-queues.ts`.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { systemClock, type Clock } from '../../src/clock.js'
import { HANDLERS, Hold, type Handler, type Json } from './sqs-emulator-ops.js'
import { QueueStore, SqsError, type QueueOptions, type StaleHandlePolicy } from './sqs-emulator-queues.js'

export { SqsError, type QueueOptions } from './sqs-emulator-queues.js'

export type SqsFault =
  | { kind: 'error'; type: string; status?: number; message?: string }
  | { kind: 'reset' }
  | { kind: 'slow'; ms: number }

export interface SqsCall {
  operation: string
  queueName?: string
  waitTimeSeconds?: number
  /** Messages a ReceiveMessage answer carried. */
  received?: number
  /** 0 when no answer was sent: a reset fault, the client hung up, or the emulator closed. */
  status: number
  errorType?: string
  at: number
}

export interface SqsMatch { operation?: string; queueName?: string }

export interface SqsMessageView {
  messageId: string
  body: string
  receiveCount: number
  state: 'visible' | 'inFlight' | 'delayed'
  sentAt: number
}

export interface SqsEmulatorOptions {
  /** Visibility timeouts and delays run on this clock; after moving a fake one, call `tick()`. */
  clock?: Clock
  /** Real milliseconds one WaitTimeSeconds second lasts; lower it so a 20 s long poll ends quickly. */
  msPerWaitSecond?: number
  /** An outdated receipt handle on DeleteMessage: real SQS may silently keep the message or reject it. */
  staleDelete?: StaleHandlePolicy
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0'
const TARGET_PREFIX = 'AmazonSQS.'
const MS_PER_WAIT_SECOND_DEFAULT = 1000
// Longer than the SDK agent's idle time, so a pooled socket is never closed under a new request.
const KEEP_ALIVE_TIMEOUT_MS = 60_000

interface Waiter { hold: Hold; deadline: number; timer?: NodeJS.Timeout; done(result: Json | undefined): void }

// --- the HTTP shell: protocol checks, faults, call log, held long polls ---

interface Rule { fault: SqsFault; match: SqsMatch; remaining: number }

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parseObject(raw: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(raw === '' ? '{}' : raw)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined
  } catch {
    return undefined
  }
}

/** The checks a real endpoint makes before it runs an operation; the signature itself is not verified. */
function route(req: IncomingMessage, operation: string, body: Json | undefined): Handler | SqsError {
  if (req.method !== 'POST' || req.url !== '/') {
    return new SqsError('UnknownOperationException', `${req.method} ${req.url} is not an API.`, 404)
  }
  if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    return new SqsError('MissingAuthenticationToken',
      'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.')
  }
  if (!req.headers['content-type']?.startsWith(JSON_CONTENT_TYPE)) {
    return new SqsError('SerializationException', `Expected content-type ${JSON_CONTENT_TYPE}.`)
  }
  const handler = Object.hasOwn(HANDLERS, operation) ? HANDLERS[operation] : undefined
  if (!handler) {
    return new SqsError('InvalidAction', `The action ${operation || '(none)'} is not valid for this endpoint.`)
  }
  if (body === undefined) return new SqsError('SerializationException', 'The request body is not a JSON object.')
  return handler
}

function describeCall(operation: string, body: Json, at: number): SqsCall {
  const call: SqsCall = { operation, status: 0, at }
  const url = body['QueueUrl']
  const name = typeof url === 'string' ? url.split('/').at(-1) : body['QueueName']
  if (typeof name === 'string' && name !== '') call.queueName = name
  if (typeof body['WaitTimeSeconds'] === 'number') call.waitTimeSeconds = body['WaitTimeSeconds']
  return call
}

const matches = (call: SqsCall, match: SqsMatch): boolean =>
  (match.operation === undefined || call.operation === match.operation) &&
  (match.queueName === undefined || call.queueName === match.queueName)

export class SqsEmulator {
  readonly calls: SqsCall[] = []
  private readonly queued: Rule[] = []
  private readonly waiters = new Set<Waiter>()
  private readonly timers = new Set<NodeJS.Timeout>()

  private constructor(
    private readonly server: Server, private readonly store: QueueStore, private readonly clock: Clock,
    private readonly msPerWaitSecond: number, readonly url: string,
  ) {}

  /** Listens on 127.0.0.1 with a random port; queue URLs are `<url>/000000000000/<name>`. */
  static async start(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
    const { clock = systemClock, msPerWaitSecond = MS_PER_WAIT_SECOND_DEFAULT, staleDelete = 'ignore' } = options
    if (!(msPerWaitSecond > 0)) throw new TypeError('msPerWaitSecond must be a positive number')
    const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const emulator = new SqsEmulator(server, new QueueStore(clock, url, staleDelete), clock, msPerWaitSecond, url)
    // A handler bug must surface as a dropped request in the test, not an unhandled rejection.
    server.on('request', (req, res) => void emulator.onRequest(req, res).catch(() => req.socket.destroy()))
    return emulator
  }

  /** Creates the dead-letter queue too when it does not exist; `maxReceiveCount` alone implies `<name>-dlq`. */
  createQueue(name: string, options: QueueOptions = {}): string {
    if (options.deadLetterQueue !== undefined && options.maxReceiveCount === undefined) {
      throw new TypeError('deadLetterQueue needs maxReceiveCount')
    }
    const deadLetterQueue = options.maxReceiveCount === undefined ? undefined : options.deadLetterQueue ?? `${name}-dlq`
    if (deadLetterQueue !== undefined && !this.store.find(deadLetterQueue)) this.store.create(deadLetterQueue)
    return this.store.create(name, { ...options, deadLetterQueue }).url
  }

  queueUrl(name: string): string {
    return this.store.get(name).url
  }

  /** Objects are sent as JSON, as SP-API notifications arrive. Returns the message id. */
  send(queueName: string, body: string | object, options: { delaySeconds?: number } = {}): string {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const id = this.store.send(this.store.get(queueName), text, options.delaySeconds).messageId
    this.wakeAll()
    return id
  }

  /** Everything not deleted, oldest first, as seen on the emulator's clock now. */
  messages(queueName: string): SqsMessageView[] {
    const now = this.clock.now()
    return this.store.get(queueName).messages.map((m) => ({
      messageId: m.messageId, body: m.body, receiveCount: m.receiveCount, sentAt: m.sentAt,
      state: m.visibleAt <= now ? 'visible' : m.receiptHandle === undefined ? 'delayed' : 'inFlight',
    }))
  }

  /** The messages redriven from this queue to its dead-letter queue. */
  deadLetters(queueName: string): SqsMessageView[] {
    const queue = this.store.get(queueName)
    if (!queue.redrive) throw new TypeError(`queue ${queueName} has no dead-letter queue`)
    const dlq = queue.redrive.target
    const fromHere = new Set(dlq.messages.filter((m) => m.deadLetterSourceArn === queue.arn).map((m) => m.messageId))
    return this.messages(dlq.name).filter((m) => fromHere.has(m.messageId))
  }

  /** ReceiveMessage requests being held open right now. */
  get heldPolls(): number {
    return this.waiters.size
  }

  callCount(filter: SqsMatch & { ok?: boolean } = {}): number {
    const okMatches = (c: SqsCall): boolean => filter.ok === undefined || (c.status === 200) === filter.ok
    return this.calls.filter((c) => matches(c, filter) && okMatches(c)).length
  }

  failNext(fault: SqsFault, times = 1, match: SqsMatch = {}): void {
    this.queued.push({ fault, match, remaining: times })
  }

  /** Re-checks held long polls; call it after moving an injected clock past a visibility timeout or delay. */
  tick(): void {
    this.wakeAll()
  }

  reset(): void {
    this.calls.length = 0 // in place, so arrays the test already holds stay live
    this.queued.length = 0
  }

  /** Held long polls are dropped with their connections, as when a real endpoint goes away. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const waiter of [...this.waiters]) waiter.done(undefined)
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections() // held polls and the SDK's keep-alive sockets would hold close() open
    await closed
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now()
    const body = parseObject(await readBody(req))
    const target = req.headers['x-amz-target']
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : ''
    const call = describeCall(operation, body ?? {}, at)
    const handler = route(req, operation, body)
    if (handler instanceof SqsError) return this.answer(res, call, handler)

    const fault = this.takeFault(call)
    if (fault?.kind === 'reset') {
      this.calls.push({ ...call, status: 0 })
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'error') {
      return this.answer(res, call, new SqsError(fault.type, fault.message ?? `Injected ${fault.type}.`, fault.status))
    }
    if (fault?.kind === 'slow') await this.delay(fault.ms)

    let result: Json | Hold | undefined
    try {
      result = handler(this.store, body ?? {})
    } catch (err) {
      return this.answer(res, call, err instanceof SqsError ? err : new SqsError('InternalError', String(err)))
    }
    this.wakeAll() // a send, a visibility change or a redrive may serve a poll that is waiting
    if (result instanceof Hold) result = await this.hold(result, res)
    if (result === undefined) this.calls.push({ ...call, status: 0 })
    else this.answer(res, call, result)
  }

  /** Resolves with messages, with `{}` when the wait ends, or undefined if the connection goes first. */
  private hold(hold: Hold, res: ServerResponse): Promise<Json | undefined> {
    if (res.destroyed) return Promise.resolve(undefined) // the client left before the wait even began
    return new Promise((resolve) => {
      const onClose = (): void => waiter.done(undefined)
      const waiter: Waiter = {
        hold,
        deadline: Date.now() + hold.waitSeconds * this.msPerWaitSecond,
        done: (result) => {
          clearTimeout(waiter.timer)
          this.waiters.delete(waiter)
          res.off('close', onClose)
          resolve(result)
        },
      }
      res.once('close', onClose) // the client gave up (abort, timeout): nothing is received on its behalf
      this.waiters.add(waiter)
      this.schedule(waiter)
    })
  }

  /** Wakes at the end of the wait or when a message of the queue turns visible, whichever is first. */
  private schedule(waiter: Waiter): void {
    clearTimeout(waiter.timer)
    const left = waiter.deadline - Date.now()
    const nextChange = this.store.nextChangeAt(waiter.hold.queue)
    const untilChange = nextChange === undefined ? Infinity : nextChange - this.clock.now()
    waiter.timer = setTimeout(() => {
      const result = waiter.hold.take()
      if (result) waiter.done(result)
      else if (Date.now() >= waiter.deadline) waiter.done({})
      this.wakeAll() // reschedules this poll if it still waits; its take may have redriven a message
    }, Math.max(0, Math.min(left, untilChange)))
  }

  /** Oldest poll first; goes round again while a take redrives messages into some poll's dead-letter queue. */
  private wakeAll(): void {
    let redrives: number
    do {
      redrives = this.store.redrives
      for (const waiter of [...this.waiters]) {
        const result = waiter.hold.take()
        if (result) waiter.done(result)
        else this.schedule(waiter)
      }
    } while (this.store.redrives !== redrives)
  }

  private takeFault(call: SqsCall): SqsFault | undefined {
    const index = this.queued.findIndex((r) => matches(call, r.match))
    const rule = this.queued[index]
    if (!rule) return undefined
    if (--rule.remaining <= 0) this.queued.splice(index, 1)
    return rule.fault
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.timers.delete(timer); resolve() }, ms)
      this.timers.add(timer)
    })
  }

  private answer(res: ServerResponse, call: SqsCall, result: Json | SqsError): void {
    const error = result instanceof SqsError ? result : undefined
    const status = error?.status ?? 200
    const logged: SqsCall = { ...call, status }
    if (result instanceof SqsError) logged.errorType = result.code
    else if (call.operation === 'ReceiveMessage') {
      logged.received = (result['Messages'] as unknown[] | undefined)?.length ?? 0
    }
    this.calls.push(logged)
    const text = JSON.stringify(error ? { __type: error.shapeId, message: error.message } : result)
    const headers: Record<string, string | number> = {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    }
    // What query-compatible SDKs name the exception after; `Sender` is the caller's fault, `Receiver` ours.
    if (error) headers['x-amzn-query-error'] = `${error.queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`
    res.writeHead(status, headers)
    res.end(text)
  }
}
