import t from 'tap'
import { webhookSignature, verifyWebhookSignature } from '../../src/lifecycle/webhook-signature.js'
import { composeEvents, noEvents, type BrokerEvents } from '../../src/observability/events.js'

t.test('composed events reach both sinks, and a sink may listen to only some', async (t) => {
  const seen: string[] = []
  const first: BrokerEvents = {
    lwaCall: (credential) => seen.push(`first lwa ${credential}`),
    cacheLookup: (credential, result) => seen.push(`first cache ${credential} ${result}`),
    secretsCall: (operation) => seen.push(`first secrets ${operation}`),
    jwtFailure: (reason) => seen.push(`first jwt ${reason}`),
  }
  const both = composeEvents(first, { lwaCall: (credential, _grant, result) => seen.push(`second lwa ${credential} ${result}`) })
  both.lwaCall('ads-us', 'refresh_token', 'invalid_grant', 0.1)
  both.cacheLookup('ads-us', 'hit')
  both.secretsCall('GetSecretValue', 'ok')
  both.jwtFailure('expired')
  t.same(seen, ['first lwa ads-us', 'second lwa ads-us invalid_grant', 'first cache ads-us hit', 'first secrets GetSecretValue', 'first jwt expired'])
  const quiet = composeEvents(noEvents, noEvents)
  quiet.lwaCall('ads-us', 'refresh_token', 'ok', 0)
  quiet.cacheLookup('ads-us', 'miss')
  quiet.secretsCall('DescribeSecret', 'ok')
  quiet.jwtFailure('signature')
  t.pass('the no-op sinks take every event')
})

t.test('a webhook signature verifies for its own body and timestamp only', async (t) => {
  const key = 'k'.repeat(32)
  const header = webhookSignature(key, '1764000000', '{"id":"evt_1"}')
  t.ok(verifyWebhookSignature(key, '1764000000', '{"id":"evt_1"}', header))
  t.notOk(verifyWebhookSignature(key, '1764000001', '{"id":"evt_1"}', header), 'another timestamp')
  t.notOk(verifyWebhookSignature(key, '1764000000', '{"id":"evt_2"}', header), 'another body')
  t.notOk(verifyWebhookSignature('x'.repeat(32), '1764000000', '{"id":"evt_1"}', header), 'another key')
  t.notOk(verifyWebhookSignature(key, '1764000000', '{"id":"evt_1"}', 'v1=short'), 'a malformed header')
})
