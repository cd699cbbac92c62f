import t from 'tap'
import { createHash } from 'node:crypto'
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  MessageNotInflight,
  OverLimit,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs'
import type { MessageSystemAttributeName, ReceiveMessageCommandInput } from '@aws-sdk/client-sqs'
import type { Test } from 'tap'
import { FakeClock } from './fake-clock.js'
import { SqsEmulator, type SqsEmulatorOptions } from './sqs-emulator.js'

const QUEUE = 'lwa-app-notifications'
const NOTIFICATION = JSON.stringify({
  notificationType: 'APPLICATION_OAUTH_CLIENT_NEW_SECRET',
  payload: {
    applicationOAuthClientNewSecret: { clientId: 'amzn1.application-oa2-client.abc', newClientSecret: 'sëcret-✓-🔑' },
  },
})
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex')

/** The rejection of `promise`; t.rejects only takes classes or patterns, and we want both. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err)
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > 2_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const clientFor = (sqs: SqsEmulator, maxAttempts = 1): SQSClient => new SQSClient({
  endpoint: sqs.url, region: 'us-east-1', maxAttempts, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
})

/** A real SDK client against a fresh emulator; both are torn down with the test. */
async function setup(t: Test, options: SqsEmulatorOptions = {}, maxAttempts = 1) {
  const sqs = await SqsEmulator.start(options)
  const client = clientFor(sqs, maxAttempts)
  t.teardown(async () => {
    client.destroy()
    await sqs.close()
  })
  return { sqs, client }
}

function receiver(client: SQSClient, queueUrl: string) {
  return (input: Omit<ReceiveMessageCommandInput, 'QueueUrl'> = {}, abortSignal?: AbortSignal) =>
    client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, ...input }), abortSignal ? { abortSignal } : {})
}

t.test('send, receive and delete through the SDK, whose MD5 checks pass on a multi-byte body', async (t) => {
  const { sqs, client } = await setup(t)
  sqs.createQueue(QUEUE)
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: QUEUE }))
  t.equal(QueueUrl, `${sqs.url}/000000000000/${QUEUE}`)
  t.match(QueueUrl, /^http:\/\/127\.0\.0\.1:\d+\/000000000000\/lwa-app-notifications$/)

  const sent = await client.send(new SendMessageCommand({ QueueUrl, MessageBody: NOTIFICATION }))
  t.equal(sent.MD5OfMessageBody, md5(NOTIFICATION), 'MD5 of the UTF-8 bytes, lower-case hex')
  t.match(sent.MessageId, /^[0-9a-f-]{36}$/)

  const out = await receiver(client, QueueUrl ?? '')({ MaxNumberOfMessages: 10 })
  t.equal(out.Messages?.length, 1)
  const [message] = out.Messages ?? []
  t.match(message, {
    MessageId: sent.MessageId, Body: NOTIFICATION, MD5OfBody: md5(NOTIFICATION), ReceiptHandle: /^[A-Za-z0-9+/=]{100,}$/,
  })
  t.equal(message?.Attributes, undefined, 'no attributes unless asked for')
  t.same(sqs.messages(QUEUE).map((m) => [m.state, m.receiveCount]), [['inFlight', 1]])

  await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message?.ReceiptHandle }))
  t.same(sqs.messages(QUEUE), [])
  const empty = await receiver(client, QueueUrl ?? '')()
  t.equal(empty.Messages, undefined, 'an empty receive has no Messages')
  t.same(sqs.calls.map((c) => [c.operation, c.status, c.received]), [
    ['GetQueueUrl', 200, undefined], ['SendMessage', 200, undefined], ['ReceiveMessage', 200, 1],
    ['DeleteMessage', 200, undefined], ['ReceiveMessage', 200, 0],
  ])
  t.equal(sqs.callCount({ operation: 'ReceiveMessage', queueName: QUEUE }), 2)
})

t.test('a receive returns up to MaxNumberOfMessages, oldest first; DelaySeconds hides a message', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock })
  const url = sqs.createQueue(QUEUE)
  for (let i = 1; i <= 12; i++) sqs.send(QUEUE, { n: i })
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 5 }))
  t.equal(sqs.messages(QUEUE).at(-1)?.state, 'delayed')
  const receive = receiver(client, url)
  const numbers = (await receive({ MaxNumberOfMessages: 10 })).Messages?.map((m) => JSON.parse(m.Body ?? '').n)
  t.same(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.same((await receive({ MaxNumberOfMessages: 10 })).Messages?.map((m) => m.Body), ['{"n":11}', '{"n":12}'])
  t.same((await receive()).Messages, undefined, 'the delayed message is not there yet')
  clock.advance(5_000)
  t.same((await receive()).Messages?.map((m) => m.Body), ['later'])
})

t.test('a long poll is answered as soon as a message arrives', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  const started = Date.now()
  const poll = receiver(client, url)({ WaitTimeSeconds: 20 })
  await until(() => sqs.heldPolls === 1, 'the poll to be held')
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: NOTIFICATION }))
  const out = await poll
  t.equal(out.Messages?.[0]?.Body, NOTIFICATION)
  t.ok(Date.now() - started < 2_000, 'did not wait for the 20 s to end')
  t.equal(sqs.heldPolls, 0)
  t.match(sqs.calls.find((c) => c.operation === 'ReceiveMessage'), { waitTimeSeconds: 20, received: 1, status: 200 })

  const second = receiver(client, url)({ WaitTimeSeconds: 20 })
  await until(() => sqs.heldPolls === 1, 'the second poll to be held')
  sqs.send(QUEUE, 'from the helper')
  t.equal((await second).Messages?.[0]?.Body, 'from the helper')
})

t.test('a long poll with nothing to deliver answers empty when its wait ends', async (t) => {
  const { sqs, client } = await setup(t, { msPerWaitSecond: 25 })
  const url = sqs.createQueue(QUEUE)
  const started = Date.now()
  const out = await receiver(client, url)({ WaitTimeSeconds: 20 })
  const waited = Date.now() - started
  t.equal(out.Messages, undefined)
  t.ok(waited >= 480 && waited < 2_000, `held for the scaled 20 s (${waited} ms)`)
  t.match(sqs.calls, [{ operation: 'ReceiveMessage', status: 200, received: 0, waitTimeSeconds: 20 }])

  sqs.createQueue('waits-by-default', { receiveWaitTimeSeconds: 20 })
  const byDefault = receiver(client, sqs.queueUrl('waits-by-default'))()
  await until(() => sqs.heldPolls === 1, 'the queue default to hold the poll')
  t.equal((await byDefault).Messages, undefined)
})

t.test('an undeleted message comes back after its visibility timeout, with a new handle and receive count', async (t) => {
  const clock = new FakeClock(1_780_000_000_000)
  const { sqs, client } = await setup(t, { clock })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 30 })
  const id = sqs.send(QUEUE, NOTIFICATION)
  const receive = receiver(client, url)
  const names: MessageSystemAttributeName[] = ['ApproximateReceiveCount', 'SentTimestamp']
  const attributes = { MessageSystemAttributeNames: names }

  const first = (await receive(attributes)).Messages?.[0]
  t.same(first?.Attributes, { ApproximateReceiveCount: '1', SentTimestamp: '1780000000000' })
  t.equal((await receive()).Messages, undefined, 'invisible while in flight')
  clock.advance(29_999)
  t.equal((await receive()).Messages, undefined)
  clock.advance(1)
  const second = (await receive({ AttributeNames: ['All'] })).Messages?.[0]
  t.equal(second?.MessageId, id)
  t.not(second?.ReceiptHandle, first?.ReceiptHandle, 'each receive has its own handle')
  t.same(second?.Attributes, {
    ApproximateReceiveCount: '2', SentTimestamp: '1780000000000', ApproximateFirstReceiveTimestamp: '1780000000000',
  })

  // Standard queues: an outdated handle "succeeds, but the message might not be deleted".
  await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }))
  t.same(sqs.messages(QUEUE).map((m) => [m.messageId, m.receiveCount, m.state]), [[id, 2, 'inFlight']], 'still there')
  clock.advance(30_000)
  const third = (await receive({ VisibilityTimeout: 5, MessageSystemAttributeNames: ['All'] })).Messages?.[0]
  t.equal(third?.Attributes?.ApproximateReceiveCount, '3', 'comes back once more')
  clock.advance(5_000)
  t.equal(sqs.messages(QUEUE)[0]?.state, 'visible', 'VisibilityTimeout on the receive overrides the queue default')
  await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third?.ReceiptHandle }))
  t.same(sqs.messages(QUEUE), [], 'the latest handle deletes, even after its timeout ran out')
})

t.test('staleDelete: reject answers an outdated handle with InvalidParameterValue', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock, staleDelete: 'reject' })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 1 })
  sqs.send(QUEUE, 'x')
  const old = (await receiver(client, url)()).Messages?.[0]?.ReceiptHandle
  clock.advance(1_000)
  await receiver(client, url)()
  const err = await failure(client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: old })))
  t.type(err, SQSServiceException)
  t.match(err, { name: 'InvalidParameterValue', message: /receipt handle has expired/, $metadata: { httpStatusCode: 400 } })
  t.equal(sqs.messages(QUEUE).length, 1)
})

t.test('a held poll gets a message whose timeout ran out: on tick() with a fake clock, alone with a real one', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 30 })
  sqs.send(QUEUE, 'retry me')
  await receiver(client, url)()
  const poll = receiver(client, url)({ WaitTimeSeconds: 20, MessageSystemAttributeNames: ['ApproximateReceiveCount'] })
  await until(() => sqs.heldPolls === 1, 'the poll to be held')
  clock.advance(29_999)
  sqs.tick()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(sqs.heldPolls, 1, 'a tick before the timeout ran out leaves the poll waiting')
  clock.advance(1)
  sqs.tick()
  t.same((await poll).Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount]), [['retry me', '2']])

  const real = await setup(t)
  const realUrl = real.sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 1 })
  await real.client.send(new SendMessageCommand({ QueueUrl: realUrl, MessageBody: 'delayed', DelaySeconds: 1 }))
  const started = Date.now()
  const out = await receiver(real.client, realUrl)({ WaitTimeSeconds: 5 })
  const waited = Date.now() - started
  t.equal(out.Messages?.[0]?.Body, 'delayed')
  t.ok(waited >= 900 && waited < 3_000, `answered when the delay ended (${waited} ms)`)
})

t.test('a fake clock that does not move never releases a message, however long the real wait', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock, msPerWaitSecond: 400 })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 1 })
  sqs.send(QUEUE, 'x')
  await receiver(client, url)()
  const started = Date.now()
  const out = await receiver(client, url)({ WaitTimeSeconds: 3 }) // 1.2 s real, past the 1 s timeout
  t.equal(out.Messages, undefined)
  t.ok(Date.now() - started >= 1_150, 'held for the whole wait')
  t.equal(sqs.messages(QUEUE)[0]?.state, 'inFlight')
})

t.test('ChangeMessageVisibility extends or releases a message; wrong handles are the SDK\'s errors', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 30 })
  sqs.send(QUEUE, 'work')
  const receive = receiver(client, url)
  const change = (ReceiptHandle: string | undefined, VisibilityTimeout: number) =>
    client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle, VisibilityTimeout }))
  const first = (await receive()).Messages?.[0]?.ReceiptHandle

  await change(first, 120) // a heartbeat while the work takes long
  clock.advance(60_000)
  t.equal((await receive()).Messages, undefined, 'extended past the queue default')
  const poll = receive({ WaitTimeSeconds: 20 })
  await until(() => sqs.heldPolls === 1, 'the poll to be held')
  await change(first, 0) // give up on it: the waiting poll gets it at once
  const second = (await poll).Messages?.[0]?.ReceiptHandle
  t.ok(second)

  const stale = await failure(change(first, 10))
  t.type(stale, SQSServiceException)
  t.match(stale, { name: 'InvalidParameterValue', message: /expired/ })
  clock.advance(30_000)
  const notInFlight = await failure(change(second, 10))
  t.type(notInFlight, MessageNotInflight)
  t.match(notInFlight, { name: 'MessageNotInflight', $metadata: { httpStatusCode: 400 } })
  const invented = await failure(change('bm90LWEtaGFuZGxl', 10))
  t.type(invented, ReceiptHandleIsInvalid)
  t.match(invented, { name: 'ReceiptHandleIsInvalid', $metadata: { httpStatusCode: 404 } })
  await t.rejects(change(second, 43_201), { name: 'InvalidParameterValue' })
})

t.test('after maxReceiveCount receives the next receive moves the message to the dead-letter queue', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock })
  const url = sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 30, maxReceiveCount: 2 })
  const id = sqs.send(QUEUE, NOTIFICATION)
  const sentAt = clock.now()
  const receive = receiver(client, url)
  const handles: Array<string | undefined> = []
  for (let i = 0; i < 2; i++) {
    handles.push((await receive()).Messages?.[0]?.ReceiptHandle)
    clock.advance(30_000)
  }
  t.same(sqs.deadLetters(QUEUE), [], 'moved only when a receive finds it over the limit')
  const { QueueUrl: dlqUrl } = await client.send(new GetQueueUrlCommand({ QueueName: `${QUEUE}-dlq` }))
  const dlqPoll = receiver(client, dlqUrl ?? '')({ WaitTimeSeconds: 20, MessageSystemAttributeNames: ['All'] })
  await until(() => sqs.heldPolls === 1, 'the dead-letter poll to be held')
  t.equal((await receive()).Messages, undefined, 'the third receive finds nothing: the message moved')
  t.same(sqs.messages(QUEUE), [])

  const dead = (await dlqPoll).Messages?.[0]
  t.match(dead, { MessageId: id, Body: NOTIFICATION, MD5OfBody: md5(NOTIFICATION) }, 'a poll on the DLQ gets it at once')
  t.equal(dead?.Attributes?.DeadLetterQueueSourceArn, `arn:aws:sqs:us-east-1:000000000000:${QUEUE}`)
  t.equal(dead?.Attributes?.SentTimestamp, String(sentAt), 'the enqueue time survives the move')
  t.equal(dead?.Attributes?.ApproximateReceiveCount, '3', 'the receive count is not reset')
  t.match(sqs.deadLetters(QUEUE), [{ messageId: id, body: NOTIFICATION, receiveCount: 3, state: 'inFlight' }])
  await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handles[1] }))
  t.equal(sqs.messages(`${QUEUE}-dlq`).length, 1, 'a source-queue handle does not delete the dead letter')
  t.throws(() => sqs.deadLetters(`${QUEUE}-dlq`), TypeError)
  t.throws(() => sqs.createQueue('q', { deadLetterQueue: 'dlq' }), TypeError)
})

t.test('CreateQueue with attributes and a RedrivePolicy; GetQueueUrl; queue errors by name', async (t) => {
  const clock = new FakeClock()
  const { sqs, client } = await setup(t, { clock })
  const dlq = await client.send(new CreateQueueCommand({ QueueName: 'dead' }))
  t.equal(dlq.QueueUrl, `${sqs.url}/000000000000/dead`)
  const attributes = {
    VisibilityTimeout: '10',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dead', maxReceiveCount: '1' }),
  }
  const created = await client.send(new CreateQueueCommand({ QueueName: QUEUE, Attributes: attributes }))
  const again = await client.send(new CreateQueueCommand({ QueueName: QUEUE, Attributes: attributes }))
  t.equal(again.QueueUrl, created.QueueUrl, 'same name and attributes: the same queue')
  const create = (QueueName: string, Attributes?: Record<string, string>) =>
    client.send(new CreateQueueCommand({ QueueName, Attributes }))
  const exists = await failure(create(QUEUE, { VisibilityTimeout: '11' }))
  t.type(exists, QueueNameExists)

  sqs.send(QUEUE, 'once')
  await receiver(client, created.QueueUrl ?? '')()
  clock.advance(10_000)
  await receiver(client, created.QueueUrl ?? '')()
  t.equal(sqs.deadLetters(QUEUE).length, 1, 'the RedrivePolicy is in force')

  const tuned = await create('tuned', { DelaySeconds: '5', ReceiveMessageWaitTimeSeconds: '20' })
  const held = receiver(client, tuned.QueueUrl ?? '')()
  await until(() => sqs.heldPolls === 1, 'ReceiveMessageWaitTimeSeconds to hold the poll')
  sqs.send('tuned', 'slow')
  t.same(sqs.messages('tuned').map((m) => m.state), ['delayed'], 'DelaySeconds is the default delay')
  clock.advance(5_000)
  sqs.tick()
  t.equal((await held).Messages?.[0]?.Body, 'slow')

  const missing = await failure(client.send(new GetQueueUrlCommand({ QueueName: 'nope' })))
  t.type(missing, QueueDoesNotExist)
  t.match(missing, { message: 'The specified queue does not exist.', $metadata: { httpStatusCode: 400 } })
  const urlOf = (QueueOwnerAWSAccountId: string) =>
    client.send(new GetQueueUrlCommand({ QueueName: QUEUE, QueueOwnerAWSAccountId }))
  await t.rejects(urlOf('111122223333'), QueueDoesNotExist)
  t.equal((await urlOf('000000000000')).QueueUrl, created.QueueUrl)
  const sendTo = (QueueUrl: string) => client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }))
  await t.rejects(sendTo(`${sqs.url}/000000000000/nope`), QueueDoesNotExist)
  await t.rejects(sendTo(`${sqs.url}/123456789012/${QUEUE}`), QueueDoesNotExist, 'another account')
  await t.rejects(sendTo('not a url'), { name: 'InvalidAddress' })
  await t.rejects(create('x', { FifoQueue: 'true' }), { name: 'InvalidAttributeName' })
  await t.rejects(create('x.fifo'), { name: 'InvalidParameterValue' })
  const gone = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:gone', maxReceiveCount: 3 })
  await t.rejects(create('x', { RedrivePolicy: gone }), { name: 'InvalidParameterValue', message: /target does not exist/ })
  await t.rejects(create('x', { RedrivePolicy: '{' }), { name: 'InvalidParameterValue' })
})

t.test('bad input is the service\'s error, by name', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  const send = (MessageBody: string) => client.send(new SendMessageCommand({ QueueUrl: url, MessageBody }))

  const invented = await failure(client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'made-up' })))
  t.type(invented, ReceiptHandleIsInvalid)
  t.match(invented, { $metadata: { httpStatusCode: 404 }, message: /is not a valid receipt handle/ })
  const receive = receiver(client, url)
  await t.rejects(receive({ MaxNumberOfMessages: 11 }), { name: 'InvalidParameterValue', message: /MaxNumberOfMessages/ })
  await t.rejects(receive({ WaitTimeSeconds: 21 }), { name: 'InvalidParameterValue', message: /WaitTimeSeconds/ })
  await t.rejects(send('nul \u0000 byte'), { name: 'InvalidMessageContents' })
  await t.rejects(send('x'.repeat(262_145)), { name: 'InvalidParameterValue', message: /shorter than 262144 bytes/ })
  await t.rejects(send(''), { name: 'MissingParameter' })
  const delayed = client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }))
  await t.rejects(delayed, { name: 'InvalidParameterValue' })
  const attrs = await failure(client.send(new SendMessageCommand({
    QueueUrl: url, MessageBody: 'x', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
  })))
  t.type(attrs, UnsupportedOperation, 'not emulated, so refused rather than dropped')
  t.equal(sqs.messages(QUEUE).length, 0)
  t.equal(sqs.callCount({ ok: false }), 8)
})

t.test('error faults become the SDK\'s own exceptions', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  const receive = receiver(client, url)

  sqs.failNext({ kind: 'error', type: 'com.amazonaws.sqs#OverLimit' })
  const over = await failure(receive())
  t.type(over, OverLimit)
  t.match(over, { name: 'OverLimit', $metadata: { httpStatusCode: 403 } })
  sqs.failNext({ kind: 'error', type: 'InternalError', status: 500 })
  const internal = await failure(receive())
  t.type(internal, SQSServiceException, 'unmodelled errors are the service base class')
  t.match(internal, { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } })
  sqs.failNext({ kind: 'error', type: 'RequestThrottled' })
  await t.rejects(receive(), RequestThrottled)
  sqs.failNext({ kind: 'error', type: 'QueueDoesNotExist', message: 'gone' })
  await t.rejects(receive(), { name: 'QueueDoesNotExist', message: 'gone' })

  sqs.send(QUEUE, 'x')
  t.equal((await receive()).Messages?.[0]?.Body, 'x', 'faults drained')
  t.same(sqs.calls.map((c) => [c.status, c.errorType]), [
    [403, 'OverLimit'], [500, 'InternalError'], [403, 'RequestThrottled'], [400, 'QueueDoesNotExist'], [200, undefined],
  ])
})

t.test('failNext honours times and match; reset clears calls and faults but not queues', async (t) => {
  const { sqs, client } = await setup(t)
  const a = sqs.createQueue('a')
  const b = sqs.createQueue('b')
  sqs.failNext({ kind: 'error', type: 'OverLimit' }, 2, { operation: 'ReceiveMessage', queueName: 'a' })
  t.equal((await receiver(client, b)()).Messages, undefined)
  await client.send(new SendMessageCommand({ QueueUrl: a, MessageBody: 'x' }))
  await t.rejects(receiver(client, a)(), OverLimit)
  await t.rejects(receiver(client, a)(), OverLimit)
  t.equal((await receiver(client, a)()).Messages?.[0]?.Body, 'x')
  t.equal(sqs.callCount({ queueName: 'a' }), 4)
  t.equal(sqs.callCount({ queueName: 'a', operation: 'ReceiveMessage', ok: false }), 2)

  sqs.failNext({ kind: 'error', type: 'OverLimit' })
  sqs.reset()
  t.same(sqs.calls, [])
  t.equal((await client.send(new GetQueueUrlCommand({ QueueName: 'a' }))).QueueUrl, a, 'fault gone, queue kept')
})

t.test('a reset fault drops the connection; with retries on, the SDK retries it', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  sqs.failNext({ kind: 'reset' })
  await t.rejects(receiver(client, url)())
  t.equal(sqs.calls[0]?.status, 0)

  const retrying = await setup(t, {}, 3)
  const retryUrl = retrying.sqs.createQueue(QUEUE)
  retrying.sqs.failNext({ kind: 'reset' }, 1, { operation: 'SendMessage' })
  await retrying.client.send(new SendMessageCommand({ QueueUrl: retryUrl, MessageBody: 'x' }))
  t.equal(retrying.sqs.callCount({ operation: 'SendMessage' }), 2)
  t.equal(retrying.sqs.messages(QUEUE).length, 1)
})

t.test('a slow fault delays the answer', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  sqs.failNext({ kind: 'slow', ms: 150 })
  const started = Date.now()
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))
  t.ok(Date.now() - started >= 140, 'answer came after the delay')
  t.equal(sqs.callCount({ ok: true }), 1)
})

t.test('a poll whose client gives up receives nothing on its behalf', async (t) => {
  const { sqs, client } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  const controller = new AbortController()
  const poll = receiver(client, url)({ WaitTimeSeconds: 20 }, controller.signal)
  await until(() => sqs.heldPolls === 1, 'the poll to be held')
  controller.abort()
  await t.rejects(poll)
  await until(() => sqs.heldPolls === 0, 'the emulator to drop the poll')
  sqs.send(QUEUE, 'x')
  const out = await receiver(client, url)({ MessageSystemAttributeNames: ['ApproximateReceiveCount'] })
  t.equal(out.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '1', 'the abandoned poll did not take it')
  t.match(sqs.calls[0], { operation: 'ReceiveMessage', status: 0 })
})

t.test('close() with a poll held ends it at once and drops the connection', async (t) => {
  const sqs = await SqsEmulator.start()
  const client = clientFor(sqs)
  t.teardown(() => client.destroy())
  const url = sqs.createQueue(QUEUE)
  const poll = failure(receiver(client, url)({ WaitTimeSeconds: 20 }))
  await until(() => sqs.heldPolls === 1, 'the poll to be held')
  const started = Date.now()
  await sqs.close()
  t.ok(Date.now() - started < 1_000, 'close did not wait for the poll')
  t.match(await poll, { name: /Error/ })
  t.equal(sqs.heldPolls, 0)
  t.equal(sqs.calls[0]?.status, 0)
})

t.test('protocol checks on raw requests', async (t) => {
  const { sqs } = await setup(t)
  const url = sqs.createQueue(QUEUE)
  const json = 'application/x-amz-json-1.0'
  const auth = 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00'
  const signed = { 'content-type': json, authorization: auth }
  const post = (target: string, body: string, headers: Record<string, string> = signed) =>
    fetch(`${sqs.url}/`, { method: 'POST', headers: { 'x-amz-target': `AmazonSQS.${target}`, ...headers }, body })
  /** The `__type` of the answer, without the `com.amazonaws.sqs#` every one of them carries. */
  const errorOf = async (target: string, body: object | string): Promise<string> => {
    const res = await post(target, typeof body === 'string' ? body : JSON.stringify(body))
    return ((await res.json()) as { __type: string }).__type.replace('com.amazonaws.sqs#', '')
  }

  const missing = await post('GetQueueUrl', '{"QueueName":"nope"}')
  t.equal(missing.status, 400)
  t.equal(missing.headers.get('content-type'), json)
  t.equal(missing.headers.get('x-amzn-query-error'), 'AWS.SimpleQueueService.NonExistentQueue;Sender')
  t.ok(missing.headers.get('x-amzn-requestid'))
  t.same(await missing.json(), {
    __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.',
  })

  const empty = await post('ReceiveMessage', JSON.stringify({ QueueUrl: url }))
  t.same(await empty.json(), {}, 'no Messages key at all')

  const unsigned = await post('ReceiveMessage', JSON.stringify({ QueueUrl: url }), { 'content-type': json })
  t.equal(unsigned.status, 403)
  t.match(await unsigned.json(), { __type: 'com.amazonaws.sqs#MissingAuthenticationToken' })
  const wrongType = await post('ReceiveMessage', '{}', { 'content-type': 'application/x-amz-json-1.1', authorization: auth })
  t.match(await wrongType.json(), { __type: 'com.amazonaws.sqs#SerializationException' })
  const unknown = await post('PurgeQueue', '{}')
  t.equal(unknown.status, 400)
  t.match(await unknown.json(), { __type: 'com.amazonaws.sqs#InvalidAction' })
  t.equal(await errorOf('toString', {}), 'InvalidAction', 'no prototype keys')
  t.equal(await errorOf('ReceiveMessage', 'not json'), 'SerializationException')
  t.equal(await errorOf('ReceiveMessage', { QueueUrl: 7 }), 'InvalidParameterValue')
  t.equal(await errorOf('ReceiveMessage', { QueueUrl: url, MaxNumberOfMessages: '2' }), 'InvalidParameterValue')
  t.equal(await errorOf('ReceiveMessage', { QueueUrl: url, AttributeNames: 'All' }), 'InvalidParameterValue')
  t.equal(await errorOf('GetQueueUrl', {}), 'MissingParameter')
  t.equal(await errorOf('ChangeMessageVisibility', { QueueUrl: url, ReceiptHandle: 'h' }), 'MissingParameter')
  const get = await fetch(sqs.url)
  t.equal(get.status, 404)
  t.equal(sqs.callCount({ ok: false }), 12)
})

t.test('start checks its options', async (t) => {
  await t.rejects(SqsEmulator.start({ msPerWaitSecond: 0 }), TypeError)
})
