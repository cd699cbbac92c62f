import t from 'tap'
import { Agent } from 'undici'
import { lifecycleEventId, type LifecycleEvent } from '../../src/lifecycle/events.js'
import type { DeliveryOutcome } from '../../src/lifecycle/lifecycle-metrics.js'
import { WebhookSender, type WebhookSenderOptions } from '../../src/lifecycle/webhook-sender.js'
import { createLogger } from '../../src/observability/logger.js'
import { waitFor } from '../support/broker-process.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import { verifySignature, WebhookReceiver } from '../support/webhook-receiver.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const key = 'whsec-test-0123456789abcdef0123456789abcdef'

function event(credential = 'sp-acme-eu', type: LifecycleEvent['type'] = 'revoked'): LifecycleEvent {
  return {
    id: lifecycleEventId(type, credential), type, occurredAt: new Date(0).toISOString(), credential,
    api: 'sp-api', region: 'eu', detail: { lwaError: 'invalid_grant' },
  }
}

interface Setup {
  receiver: WebhookReceiver
  sender: WebhookSender
  outcomes: DeliveryOutcome[]
  pauses: number[]
  logs: LogCapture
  clock: FakeClock
}

/** A sender to a fresh receiver; backoff pauses are recorded and skipped, so retries take no time. */
async function setup(t: Test, options: Partial<WebhookSenderOptions> = {}): Promise<Setup> {
  const receiver = await WebhookReceiver.start(key)
  const dispatcher = new Agent()
  const logs = new LogCapture()
  logs.secrets.add(key)
  const outcomes: DeliveryOutcome[] = []
  const pauses: number[] = []
  const clock = new FakeClock(1_700_000_000_000)
  const sender = new WebhookSender({
    url: receiver.url, key, timeoutMs: 2000, maxQueue: 100, maxAttempts: 8, dispatcher, clock,
    logger: createLogger('info', logs), outcome: (o) => outcomes.push(o), random: () => 1,
    sleep: async (ms) => void pauses.push(ms),
    ...options,
  })
  t.teardown(async () => {
    await sender.close(1000)
    await receiver.close()
    await dispatcher.close()
    if (logs.leaks().length > 0) throw new Error(`a log line contains a ${logs.leaks().join(', ')}`)
  })
  return { receiver, sender, outcomes, pauses, logs, clock }
}

/** The receiver answers before the sender has read its reply: wait for the sender to count the last outcome. */
async function settled(outcomes: DeliveryOutcome[], count: number): Promise<DeliveryOutcome[]> {
  await waitFor(() => outcomes.length >= count, `${count} delivery outcomes`, 5000)
  return outcomes
}

t.test('a delivery is signed over timestamp and body, with the event id; a tampered body fails', async (t) => {
  const { receiver, sender, clock } = await setup(t)
  const sent = event()
  sender.send(sent)
  const [got] = await receiver.waitForDelivered(1)
  const [request] = receiver.requests
  t.same(got, sent, 'the body is the event')
  t.equal(request?.eventId, sent.id)
  t.equal(request?.timestamp, String(Math.floor(clock.now() / 1000)), 'Unix seconds')
  t.match(request?.signature, /^v1=[0-9a-f]{64}$/)
  t.ok(request?.valid, 'the receiver verifies the signature')
  const { timestamp = '', signature = '', body = '' } = request ?? {}
  t.notOk(verifySignature(key, timestamp, body.replace('sp-acme-eu', 'sp-other-eu'), signature), 'tampered body')
  t.notOk(verifySignature(key, String(Number(timestamp) + 1), body, signature), 'another timestamp')
  t.notOk(verifySignature('another-key-0123456789abcdef0123456789', timestamp, body, signature), 'another key')
  t.notOk(body.includes(key), 'the key is not in the body')
})

t.test('after two 500s the event is delivered, every attempt with the same id, with backoff between', async (t) => {
  const { receiver, sender, outcomes, pauses } = await setup(t, { retry: { baseMs: 1000, capMs: 300_000 } })
  receiver.failNext(500, 2)
  sender.send(event())
  await receiver.waitForDelivered(1)
  t.same(receiver.requests.map((r) => r.status), [500, 500, 204])
  t.equal(new Set(receiver.requests.map((r) => r.eventId)).size, 1, 'one event id on every attempt')
  t.ok(receiver.requests.every((r) => r.valid), 'each attempt signed')
  t.same(await settled(outcomes, 3), ['retried', 'retried', 'delivered'])
  t.same(pauses, [1000, 2000], 'exponential (jitter at its ceiling here)')
})

t.test('a 429 is retried no sooner than its Retry-After, capped', async (t) => {
  const { receiver, sender, pauses } = await setup(t, { retry: { baseMs: 1000, capMs: 30_000 } })
  receiver.failNext(429, 1, { 'retry-after': '20' })
  receiver.failNext(429, 1, { 'retry-after': '3600' })
  receiver.failNext(408)
  sender.send(event())
  await receiver.waitForDelivered(1)
  t.same(pauses, [20_000, 30_000, 4000], 'Retry-After honoured up to the cap; a 408 is retried too')
})

t.test('a 400 is permanent: dropped after one attempt, and the next event still goes', async (t) => {
  const { receiver, sender, outcomes, logs } = await setup(t)
  receiver.failNext(400)
  sender.send(event('sp-acme-eu'))
  sender.send(event('sp-other-eu'))
  await receiver.waitForDelivered(1)
  t.same(receiver.requests.map((r) => r.status), [400, 204])
  t.same(await settled(outcomes, 2), ['dropped_rejected', 'delivered'])
  t.match(logs.find((r) => r.msg === 'lifecycle webhook: event dropped, not delivered'), [{ status: 400 }])
})

t.test('an event that fails maxAttempts times is dropped and counted', async (t) => {
  const { receiver, sender, outcomes } = await setup(t, { maxAttempts: 3 })
  receiver.failNext(503, 3)
  sender.send(event())
  sender.send(event('sp-other-eu'))
  await receiver.waitForDelivered(1)
  t.same(receiver.requests.map((r) => r.status), [503, 503, 503, 204])
  t.same(await settled(outcomes, 4), ['retried', 'retried', 'dropped_attempts', 'delivered'])
})

t.test('a receiver slower than timeoutMs is a failed attempt, retried', async (t) => {
  const { receiver, sender, outcomes } = await setup(t, { timeoutMs: 100 })
  receiver.stallNext(1000)
  sender.send(event())
  await receiver.waitForDelivered(2)
  t.same(await settled(outcomes, 2), ['retried', 'delivered'], 'the stalled attempt counted as failed')
})

t.test('the queue is bounded: what does not fit is dropped and counted; the rest is delivered in order', async (t) => {
  const { receiver, sender, outcomes, logs } = await setup(t, { maxQueue: 2 })
  const events = ['a', 'b', 'c', 'd', 'e'].map((c) => event(c))
  for (const e of events) sender.send(e)
  t.equal(sender.queued(), 2, 'the one being delivered stays queued until its 2xx')
  const delivered = await receiver.waitForDelivered(2)
  t.same(delivered.map((e) => e.credential), ['a', 'b'])
  t.same(outcomes.filter((o) => o === 'dropped_queue_full').length, 3)
  t.equal(logs.find((r) => r.msg === 'lifecycle webhook: event dropped, the queue is full or closed').length, 3)
})

t.test('close delivers what is queued within its deadline', async (t) => {
  const { receiver, sender } = await setup(t)
  receiver.failNext(500)
  for (const c of ['a', 'b', 'c']) sender.send(event(c))
  await sender.close(5000)
  t.same(receiver.delivered().map((e) => e.credential), ['a', 'b', 'c'])
  t.equal(sender.queued(), 0)
})

t.test('close gives up at its deadline against a failing receiver, counting what was not sent', async (t) => {
  const { receiver, sender, outcomes, logs } = await setup(t, {
    sleep: (ms, signal) => new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => resolve(clearTimeout(timer)))
    }),
  })
  receiver.failNext(500, 1000)
  sender.send(event('a'))
  sender.send(event('b'))
  const started = Date.now()
  await sender.close(200)
  t.ok(Date.now() - started < 1500, 'close does not wait out the backoff')
  t.equal(outcomes.filter((o) => o === 'dropped_shutdown').length, 2)
  t.match(logs.find((r) => r.msg === 'lifecycle webhook: events still queued at shutdown were not delivered'),
    [{ events: 2 }])
  sender.send(event('c'))
  t.equal(outcomes.at(-1), 'dropped_shutdown', 'nothing is queued after close')
})
