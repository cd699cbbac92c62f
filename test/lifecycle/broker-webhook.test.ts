import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { build, fixtures } from '../helper.js'
import { eventually } from '../cache/fixtures/deployment.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

const key = 'whsec-broker-test-0123456789abcdef01234567'

/** What must never reach a webhook receiver or an audit line. */
const secrets = [
  fixtures.spRefreshToken, fixtures.adsRefreshToken, fixtures.spClient.clientSecret, fixtures.adsClient.clientSecret, key,
]

t.test('the broker tells the webhook of a revoked grant and a removed credential, signed, without a secret', async (t) => {
  const receiver = await WebhookReceiver.start(key)
  t.teardown(() => receiver.close())
  // Not t.testdir: build() makes the test's one for the secrets file, and would empty it.
  const dir = mkdtempSync(join(tmpdir(), 'lwa-broker-webhook-'))
  t.teardown(() => rmSync(dir, { recursive: true }))
  const keyFile = join(dir, 'webhook.key')
  writeFileSync(keyFile, `${key}\n`)
  const h = await build(t, { config: (c) => ({ ...c, lifecycle: { webhook: { url: receiver.url, keyFile } } }) })
  h.logs.secrets.add(key)
  const caller = await h.jwt({ claims: { sub: 'system:serviceaccount:platform:all' } })

  receiver.failNext(500)
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  t.equal((await h.getToken('sp-acme-eu', caller)).statusCode, 502, 'LWA says invalid_grant')
  const { credentials: { 'sp-acme-eu': _gone, ...kept } } = h.config
  t.match(h.services.reload(() => ({ ...h.config, credentials: kept })), { result: 'applied' })

  const delivered = await receiver.waitForDelivered(2)
  t.match(delivered, [
    { type: 'revoked', credential: 'sp-acme-eu', api: 'sp-api', region: 'eu', detail: { lwaError: 'invalid_grant' } },
    { type: 'removed', credential: 'sp-acme-eu' },
  ])
  t.same(receiver.requests.map((r) => r.status), [500, 204, 204], 'retried after the 500')
  t.ok(receiver.requests.every((r) => r.valid), 'every request signed with the configured key')
  const audit = h.logs.find((r) => String(r.event).startsWith('credential.'))
  t.same(audit.map((r) => [r.event, r.eventId]), delivered.map((e) => [`credential.${e.type}`, e.id]),
    'an audit line per event, with the id the receiver saw')
  const texts = [...receiver.requests.map((r) => r.body), ...audit.map((r) => JSON.stringify(r))]
  for (const secret of secrets) t.notOk(texts.some((text) => text.includes(secret)), 'no secret in a body or line')

  // The receiver has answered before the sender reads the reply and counts it: wait for the count.
  let metrics = ''
  await eventually(async () => {
    metrics = (await h.ops.inject('/metrics')).body
    return /lwa_broker_webhook_deliveries_total\{outcome="delivered"\} 2/.test(metrics)
  }, 5000)
  t.match(metrics, /lwa_broker_credential_lifecycle_events_total\{event="revoked"\} 1/)
  t.match(metrics, /lwa_broker_webhook_deliveries_total\{outcome="delivered"\} 2/)
  t.match(metrics, /lwa_broker_webhook_deliveries_total\{outcome="retried"\} 1/)
})
