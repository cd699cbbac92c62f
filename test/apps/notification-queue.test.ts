import t from 'tap'
import {
  NotificationQueue, type NotificationKind, type NotificationOutcome, type NotificationQueueOptions,
} from '../../src/apps/notification-queue.js'
import type { AppNotification } from '../../src/apps/notifications.js'
import { createLogger } from '../../src/observability/logger.js'
import { waitFor } from '../support/broker-process.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import {
  newSecretType, notificationBody, secretExpiryType, type NewSecretPayload, type SecretExpiryPayload,
} from '../support/sp-api-notifications.js'
import { SqsEmulator, type SqsEmulatorOptions } from '../support/sqs-emulator.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const QUEUE = 'lwa-app-notifications'
const VISIBILITY_S = 30
const MAX_RECEIVES = 3
const secret = 'amzn1.oa2-cs.v1.5ecre7-0123456789abcdef0123456789abcdef0123456789abcdef'
const app = { applicationId: 'amzn1.sp.solution.0123', subscriptionId: 'sub-0123' }
const nowMs = Date.parse('2026-09-19T10:00:00Z')

function newSecret(clientId = 'amzn1.application-oa2-client.0123'): string {
  const payload: NewSecretPayload = {
    clientId, newClientSecret: secret,
    newClientSecretExpiryTime: '2027-03-18T10:00:00Z', oldClientSecretExpiryTime: '2026-09-26T10:00:00Z',
  }
  return notificationBody({ type: newSecretType, payload, app, payloadVersion: '2023-11-30', nowMs })
}

function expiry(): string {
  const payload: SecretExpiryPayload = {
    clientId: 'amzn1.application-oa2-client.0123', clientSecretExpiryTime: '2026-09-26T10:00:00Z',
    clientSecretExpiryReason: 'ROTATION',
  }
  return notificationBody({ type: secretExpiryType, payload, app, payloadVersion: '1.0', nowMs })
}

const sns = (message: string): string =>
  JSON.stringify({ Type: 'Notification', MessageId: 'sns-0001', Message: message, SignatureVersion: '1' })

interface Setup {
  sqs: SqsEmulator
  queue: NotificationQueue
  clock: FakeClock
  logs: LogCapture
  handled: AppNotification[]
  outcomes: Array<[NotificationKind, NotificationOutcome]>
  receiveFailures: () => number
  pauses: number[]
  warnings: () => Array<Record<string, unknown>>
}

interface SetupOptions {
  handle?: NotificationQueueOptions['handle']
  emulator?: SqsEmulatorOptions
  queue?: Partial<NotificationQueueOptions>
}

/**
 * A queue with a redrive policy on a fresh emulator (its clock fake, its waits 10 ms a second
 * unless told otherwise) and a NotificationQueue on it; backoff pauses are recorded and skipped.
 */
async function setup(t: Test, options: SetupOptions = {}): Promise<Setup> {
  const clock = new FakeClock(nowMs)
  const sqs = await SqsEmulator.start({ clock, msPerWaitSecond: 10, ...options.emulator })
  const queueUrl = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: VISIBILITY_S, maxReceiveCount: MAX_RECEIVES })
  const logs = new LogCapture()
  logs.secrets.add(secret)
  const handled: AppNotification[] = []
  const outcomes: Setup['outcomes'] = []
  const pauses: number[] = []
  let receiveFailures = 0
  const handle = options.handle ?? (async () => 'delete' as const)
  const queue = new NotificationQueue({
    queueUrl, region: 'us-east-1', endpoint: sqs.url, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    waitTimeSeconds: 1, logger: createLogger('info', logs), random: () => 0.75,
    handle: async (n) => {
      handled.push(n)
      return handle(n)
    },
    events: {
      notification: (kind, outcome) => void outcomes.push([kind, outcome]),
      receiveFailed: () => void receiveFailures++,
    },
    sleep: async (ms) => void pauses.push(ms),
    ...options.queue,
  })
  t.teardown(async () => {
    await queue.close()
    await sqs.close()
    if (logs.leaks().length > 0) throw new Error(`a log line contains a ${logs.leaks().join(', ')}`)
  })
  const warnings = (): Array<Record<string, unknown>> => logs.find((r) => r['level'] === 40)
  return { sqs, queue, clock, logs, handled, outcomes, receiveFailures: () => receiveFailures, pauses, warnings }
}

t.test('a handled notification is deleted; the handler gets it parsed, raw or from an SNS envelope', async (t) => {
  const { sqs, queue, handled, outcomes, logs } = await setup(t)
  const body = newSecret()
  const id = sqs.send(QUEUE, body)
  t.equal(await queue.pollOnce(), 1)
  t.same(handled, [{
    kind: 'new_secret', clientId: 'amzn1.application-oa2-client.0123', newClientSecret: secret,
    newExpiresAtMs: Date.parse('2027-03-18T10:00:00Z'), oldExpiresAtMs: Date.parse('2026-09-26T10:00:00Z'),
    notificationId: JSON.parse(body).notificationMetadata.notificationId,
  }])
  t.same(sqs.messages(QUEUE), [], 'deleted')
  t.match(logs.find((r) => r['msg'] === 'app notifications: handled and deleted'),
    [{ messageId: id, receiveCount: 1, kind: 'new_secret' }])

  sqs.send(QUEUE, sns(expiry()))
  t.equal(await queue.pollOnce(), 1)
  t.match(handled[1], { kind: 'secret_expiry', reason: 'ROTATION' })
  t.same(sqs.messages(QUEUE), [])
  t.same(outcomes, [['new_secret', 'deleted'], ['secret_expiry', 'deleted']])
  t.equal(sqs.callCount({ operation: 'DeleteMessage', ok: true }), 2)
  t.match(sqs.calls.filter((c) => c.operation === 'ReceiveMessage'), [{ waitTimeSeconds: 1 }, { waitTimeSeconds: 1 }])
  t.same(logs.leaks(), [])
})

t.test('keep leaves the message; it comes back after its visibility timeout, then goes to the dead-letter queue',
  async (t) => {
    const { sqs, queue, clock, handled, outcomes, warnings } = await setup(t, { handle: async () => 'keep' })
    const id = sqs.send(QUEUE, newSecret())
    t.equal(await queue.pollOnce(), 1)
    t.same(sqs.messages(QUEUE).map((m) => [m.messageId, m.state]), [[id, 'inFlight']], 'left on the queue')
    t.equal(sqs.callCount({ operation: 'DeleteMessage' }), 0)
    t.equal(await queue.pollOnce(), 0, 'invisible until its timeout runs out')
    clock.advance(VISIBILITY_S * 1000 - 1)
    t.equal(await queue.pollOnce(), 0)
    for (let receive = 2; receive <= MAX_RECEIVES; receive++) {
      clock.advance(VISIBILITY_S * 1000)
      t.equal(await queue.pollOnce(), 1, `received again (${receive})`)
    }
    clock.advance(VISIBILITY_S * 1000)
    t.equal(await queue.pollOnce(), 0, `not delivered a ${MAX_RECEIVES + 1}th time`)
    t.match(sqs.deadLetters(QUEUE), [{ messageId: id, receiveCount: MAX_RECEIVES }])
    t.same(sqs.messages(QUEUE), [])
    t.equal(handled.length, MAX_RECEIVES)
    t.same(outcomes, Array(MAX_RECEIVES).fill(['new_secret', 'kept']))
    t.same(warnings().map((w) => [w['messageId'], w['receiveCount'], w['kind'], w['outcome']]),
      [[id, 1, 'new_secret', 'kept'], [id, 2, 'new_secret', 'kept'], [id, 3, 'new_secret', 'kept']],
      'one warning per receive, with the count that nears the redrive limit')
  })

t.test('a handler that throws leaves the message; the error is logged by name, its message (with the secret) is not',
  async (t) => {
    let calls = 0
    const handle = async (n: AppNotification): Promise<'delete'> => {
      if (++calls > 1) return 'delete'
      const err = new Error(`could not store ${n.kind === 'new_secret' ? n.newClientSecret : ''}`)
      err.name = 'SecretWriteError'
      throw err
    }
    const { sqs, queue, clock, outcomes, warnings, logs } = await setup(t, { handle })
    const id = sqs.send(QUEUE, newSecret())
    t.equal(await queue.pollOnce(), 1)
    t.same(sqs.messages(QUEUE).map((m) => m.state), ['inFlight'])
    t.match(warnings(), [
      { messageId: id, receiveCount: 1, outcome: 'failed', step: 'handle', error: 'SecretWriteError' },
    ])
    t.notOk(logs.lines.some((l) => l.includes('could not store')), 'no error message in the log')
    t.same(logs.leaks(), [])

    clock.advance(VISIBILITY_S * 1000)
    t.equal(await queue.pollOnce(), 1, 'redelivered')
    t.same(sqs.messages(QUEUE), [], 'and deleted once handled')
    t.same(outcomes, [['new_secret', 'failed'], ['new_secret', 'deleted']])
  })

t.test('a failed DeleteMessage leaves the message to come back; the handler sees it again', async (t) => {
  const { sqs, queue, clock, handled, outcomes, warnings } = await setup(t)
  sqs.failNext({ kind: 'error', type: 'InternalError', status: 500 }, 1, { operation: 'DeleteMessage' })
  const id = sqs.send(QUEUE, newSecret())
  t.equal(await queue.pollOnce(), 1)
  t.same(sqs.messages(QUEUE).map((m) => m.messageId), [id])
  t.match(warnings(), [{ messageId: id, outcome: 'failed', step: 'delete', error: 'InternalError' }])
  clock.advance(VISIBILITY_S * 1000)
  t.equal(await queue.pollOnce(), 1)
  t.same(sqs.messages(QUEUE), [])
  t.equal(handled.length, 2)
  t.same(outcomes, [['new_secret', 'failed'], ['new_secret', 'deleted']])
})

t.test('unparseable and unknown-type bodies are left queued, logged without their content, counted', async (t) => {
  const { sqs, queue, handled, outcomes, warnings, logs } = await setup(t)
  const cut = sqs.send(QUEUE, newSecret().slice(0, -20))
  const other = sqs.send(QUEUE, newSecret().replace(newSecretType, 'ANY_OFFER_CHANGED'))
  t.ok(sqs.messages(QUEUE).every((m) => m.body.includes(secret)), 'both bodies carry the secret')
  t.equal(await queue.pollOnce(), 2)
  t.same(handled, [], 'the handler never sees them')
  t.same(sqs.messages(QUEUE).map((m) => [m.messageId, m.state]), [[cut, 'inFlight'], [other, 'inFlight']])
  t.same(outcomes, [['unknown', 'unparseable'], ['unknown', 'unknown_type']])
  t.match(warnings(), [
    { messageId: cut, receiveCount: 1, refusal: 'unparseable' },
    { messageId: other, receiveCount: 1, refusal: 'unknown_type', type: 'ANY_OFFER_CHANGED' },
  ])
  t.same(logs.leaks(), [])
})

t.test('in one receive, each message has its own outcome', async (t) => {
  type Verdict = 'delete' | 'keep' | 'throw' | 'throw the secret' | 'throw nothing'
  const verdicts: Record<string, Verdict> = {
    a: 'delete', b: 'keep', c: 'throw', d: 'throw the secret', e: 'throw nothing', f: 'delete',
  }
  const handle = async (n: AppNotification): Promise<'delete' | 'keep'> => {
    const verdict = verdicts[n.clientId]
    if (verdict === 'throw') throw new TypeError('boom')
    if (verdict === 'throw the secret') throw secret // not an Error: no name to log
    if (verdict === 'throw nothing') throw undefined
    return verdict ?? 'keep'
  }
  const { sqs, queue, outcomes, warnings, logs } = await setup(t, { handle })
  const ids = Object.keys(verdicts).map((clientId) => sqs.send(QUEUE, newSecret(clientId)))
  const garbage = sqs.send(QUEUE, 'not json')
  t.equal(await queue.pollOnce(), 7)
  t.same(sqs.messages(QUEUE).map((m) => m.messageId), [...ids.slice(1, 5), garbage], 'all but the deleted stay')
  t.same(outcomes, [
    ['new_secret', 'deleted'], ['new_secret', 'kept'], ['new_secret', 'failed'], ['new_secret', 'failed'],
    ['new_secret', 'failed'], ['new_secret', 'deleted'], ['unknown', 'unparseable'],
  ])
  t.same(warnings().map((w) => [w['clientId'], w['error']]),
    [['b', undefined], ['c', 'TypeError'], ['d', 'Error'], ['e', 'Error'], [undefined, undefined]])
  t.same(logs.leaks(), [])
})

t.test('at most maxMessages per receive', async (t) => {
  const { sqs, queue } = await setup(t, { queue: { maxMessages: 2 } })
  for (let i = 0; i < 3; i++) sqs.send(QUEUE, newSecret())
  t.equal(await queue.pollOnce(), 2)
  t.equal(await queue.pollOnce(), 1)
  t.same(sqs.messages(QUEUE), [])
})

t.test('a notification delivered twice is handed over twice; the handler applies it once and both are deleted',
  async (t) => {
    const applied = new Set<string>()
    const handle = async (n: AppNotification): Promise<'delete'> => {
      applied.add(n.notificationId ?? '')
      return 'delete' // a repeat is already durable: deleting it is what makes it harmless
    }
    const { sqs, queue, handled, outcomes } = await setup(t, { handle })
    const body = newSecret()
    sqs.send(QUEUE, body)
    sqs.send(QUEUE, body)
    t.equal(await queue.pollOnce(), 2)
    t.equal(handled.length, 2)
    t.equal(handled[0]?.notificationId, handled[1]?.notificationId)
    t.equal(applied.size, 1)
    t.same(sqs.messages(QUEUE), [], 'both copies deleted')
    t.equal(sqs.callCount({ operation: 'DeleteMessage', ok: true }), 2)
    t.same(outcomes, [['new_secret', 'deleted'], ['new_secret', 'deleted']])
  })

t.test('receive failures are logged by name and counted; backoff doubles from 1 s to 30 s, a success resets it',
  async (t) => {
    // At the real pace, so the recovered loop sits in its 20 s long poll until a message comes.
    const { sqs, queue, handled, pauses, receiveFailures, warnings } = await setup(t, {
      emulator: { msPerWaitSecond: 1000 }, queue: { waitTimeSeconds: 20 },
    })
    const receives = { operation: 'ReceiveMessage' }
    sqs.failNext({ kind: 'reset' }, 1, receives)
    sqs.failNext({ kind: 'error', type: 'OverLimit' }, 3, receives)
    sqs.failNext({ kind: 'error', type: 'QueueDoesNotExist' }, 1, receives)
    sqs.failNext({ kind: 'error', type: 'AccessDenied', status: 403, message: `denied ${secret}` }, 2, receives)
    queue.start()
    await waitFor(() => sqs.heldPolls === 1, 'the loop to recover into a long poll', 5_000)
    // Full jitter at 0.75 of each ceiling, never under the 1 s base: 1, 2, 4, 8, 16, 32 → 30 s.
    t.same(pauses, [1000, 1500, 3000, 6000, 12000, 22500, 22500])
    t.equal(receiveFailures(), 7)
    t.same(warnings().map((w) => [w['msg'], w['error']]), [
      'ECONNRESET', 'OverLimit', 'OverLimit', 'OverLimit', 'QueueDoesNotExist', 'AccessDenied', 'AccessDenied',
    ].map((error) => ['app notifications: SQS ReceiveMessage failed', error]))

    sqs.failNext({ kind: 'error', type: 'RequestThrottled' }, 2, receives) // the poll held now has passed this check
    sqs.send(QUEUE, newSecret())
    await waitFor(() => pauses.length === 9 && sqs.heldPolls === 1, 'two more failures, then a long poll', 5_000)
    t.same(pauses.slice(7), [1000, 1500], 'the delivery in between reset the backoff')
    t.equal(handled.length, 1)
    t.same(sqs.messages(QUEUE), [])
    t.equal(receiveFailures(), 9)
  })

t.test('close() ends a loop blocked in a 20 s long poll: the poll is abandoned, not answered, and no other follows',
  async (t) => {
    const { sqs, queue, receiveFailures, warnings } = await setup(t, {
      emulator: { msPerWaitSecond: 1000 }, queue: { waitTimeSeconds: 20 },
    })
    queue.start()
    await waitFor(() => sqs.heldPolls === 1, 'the long poll to be held', 5_000)
    await queue.close()
    await waitFor(() => sqs.calls.length === 1, 'the emulator to see the client leave', 5_000)
    t.match(sqs.calls, [{ operation: 'ReceiveMessage', waitTimeSeconds: 20, status: 0 }], 'hung up on, not answered')
    t.equal(sqs.heldPolls, 0)
    sqs.send(QUEUE, newSecret())
    t.equal(await queue.pollOnce(), 0, 'a closed queue receives nothing')
    t.equal(sqs.callCount({ operation: 'ReceiveMessage' }), 1)
    t.same(sqs.messages(QUEUE).map((m) => m.receiveCount), [0])
    t.equal(receiveFailures(), 0, 'closing is not a failure')
    t.same(warnings(), [])
  })

t.test('close() during a backoff pause stops the loop without another receive', async (t) => {
  const { sqs, queue, receiveFailures } = await setup(t, { queue: { sleep: undefined, random: () => 1 } })
  sqs.failNext({ kind: 'error', type: 'ServiceUnavailable' }, 1, { operation: 'ReceiveMessage' })
  queue.start()
  await waitFor(() => receiveFailures() === 1, 'the failure', 5_000)
  await queue.close()
  t.equal(sqs.callCount({ operation: 'ReceiveMessage' }), 1)
})

t.test('the SDK logs nothing of its own: its QueueUrl warning goes to a silent logger, not the console', async (t) => {
  const consoleCalls = (['debug', 'info', 'warn', 'error', 'log'] as const).map((m) => t.capture(console, m))
  // No endpoint: the SDK resolves the regional one and then follows the QueueUrl's host, saying so.
  const { sqs, queue } = await setup(t, { queue: { endpoint: undefined } })
  sqs.send(QUEUE, newSecret())
  t.equal(await queue.pollOnce(), 1, 'still reaches the queue')
  t.same(sqs.messages(QUEUE), [])
  t.same(consoleCalls.flatMap((calls) => calls()), [])
})

t.test('options are checked when the queue is made; start() is once, before close()', async (t) => {
  const base = {
    queueUrl: 'http://127.0.0.1:9/000000000000/q', region: 'us-east-1', handle: async () => 'keep' as const,
    logger: createLogger('silent'),
  }
  const bad: Array<Partial<NotificationQueueOptions>> = [
    { queueUrl: '' }, { waitTimeSeconds: 0 }, { waitTimeSeconds: 21 }, { waitTimeSeconds: 1.5 }, { maxMessages: 0 },
    { maxMessages: 11 },
  ]
  for (const options of bad) {
    t.throws(() => new NotificationQueue({ ...base, ...options }), TypeError, JSON.stringify(options))
  }
  const { queue } = await setup(t)
  queue.start()
  t.throws(() => queue.start(), TypeError)
  await queue.close()
  t.throws(() => queue.start(), TypeError)
  await queue.close()
})
