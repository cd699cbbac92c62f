import t from 'tap'
import { Registry } from 'prom-client'
import { Agent } from 'undici'
import { Catalogue } from '../../src/catalogue/catalogue.js'
import { parseConfig } from '../../src/config/index.js'
import { Lifecycle, type LifecycleOptions } from '../../src/lifecycle/lifecycle.js'
import { authorizationLifetimeMs } from '../../src/lifecycle/lifecycle-metrics.js'
import { AuditLog } from '../../src/observability/audit.js'
import { createLogger } from '../../src/observability/logger.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import { WebhookReceiver } from '../support/webhook-receiver.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const dayMs = 86_400_000
const key = 'whsec-test-0123456789abcdef0123456789abcdef'

const config = parseConfig({
  secrets: { backend: 'file', path: 'secrets.json' },
  issuers: [{ issuer: 'https://oidc.test.example/id/CLUSTER', audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { file: 'jwks.json' } }],
  credentials: {
    'sp-acme-eu': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/acme', sellingPartnerId: 'A2EUQ1WTGCTBG2' },
    'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us', profileId: '2502259796' },
  },
}, '/etc/lwa-broker/broker.yaml')

interface Replica { lifecycle: Lifecycle; audit: LogCapture; registry: Registry; catalogue: Catalogue }

/** A Lifecycle as the broker builds it, with its audit lines captured and its own metrics registry. */
function replica(t: Test, clock: FakeClock, options: Partial<LifecycleOptions> = {}): Replica {
  const audit = new LogCapture()
  const registry = new Registry()
  const catalogue = new Catalogue(config.credentials)
  const lifecycle = new Lifecycle({
    audit: new AuditLog(audit, { rateLimitWindowMs: 60_000, now: () => clock.now() }),
    registry, clock, catalogue, logger: createLogger('info', new LogCapture()), ...options,
  })
  t.teardown(() => lifecycle.close(1000))
  return { lifecycle, audit, registry, catalogue }
}

const lifecycleLines = (audit: LogCapture): Array<Record<string, unknown>> =>
  audit.find((r) => String(r.event).startsWith('credential.'))

async function counted(registry: Registry, event: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('lwa_broker_credential_lifecycle_events_total')?.get()
  return metric?.values.find((v) => v.labels.event === event)?.value
}

t.test('invalid_grant on a refresh revokes once; the next success recovers once', async (t) => {
  const { lifecycle, audit, registry } = replica(t, new FakeClock())
  lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'server_error')
  lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'invalid_grant')
  lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'invalid_grant')
  lifecycle.lwaCall('sp-notifications', 'client_credentials', 'invalid_grant')
  lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'ok')
  lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'ok')
  await lifecycle.settled()
  const lines = lifecycleLines(audit)
  t.same(lines.map((l) => l.event), ['credential.revoked', 'credential.recovered'])
  t.match(lines[0], {
    log: 'audit', credential: 'sp-acme-eu', account: 'A2EUQ1WTGCTBG2', api: 'sp-api', region: 'eu',
    detail: { lwaError: 'invalid_grant' }, msg: 'credential revoked', eventId: /^evt_[0-9a-f]{32}$/,
  })
  t.equal(await counted(registry, 'revoked'), 1)
  t.equal(await counted(registry, 'recovered'), 1)
  t.equal(await counted(registry, 'removed'), 0, 'every event type is exported from 0')
})

t.test('a credential removed from the catalogue is a removed event', async (t) => {
  const { lifecycle, audit, catalogue, registry } = replica(t, new FakeClock())
  catalogue.replaceFixed({ 'ads-us': config.credentials['ads-us']! })
  await lifecycle.settled()
  t.match(lifecycleLines(audit), [{ event: 'credential.removed', credential: 'sp-acme-eu' }])
  t.equal(lifecycleLines(audit).length, 1, 'a kept credential is not reported')
  t.equal(await counted(registry, 'removed'), 1)
})

t.test('an authorization inside the warning period is reported once; the gauge says when it expires', async (t) => {
  const clock = new FakeClock(Date.UTC(2025, 0, 1))
  const { lifecycle, audit, registry } = replica(t, clock, { expiryWarningDays: 30 })
  const old = { credential: 'sp-acme-eu', authorizedAtMs: clock.now() - 340 * dayMs }
  const recent = { credential: 'ads-us', authorizedAtMs: clock.now() - 300 * dayMs }
  lifecycle.trackAuthorizations(() => [old, recent])
  lifecycle.start()
  lifecycle.checkExpiries()
  await lifecycle.settled()
  t.match(lifecycleLines(audit), [{
    event: 'credential.authorization_expiring', credential: 'sp-acme-eu',
    detail: { daysLeft: 25, expiresAt: new Date(old.authorizedAtMs + authorizationLifetimeMs).toISOString() },
  }])
  t.equal(lifecycleLines(audit).length, 1, 'once, however often it is checked')
  clock.advance(40 * dayMs)
  lifecycle.checkExpiries()
  await lifecycle.settled()
  t.same(lifecycleLines(audit).map((l) => l.credential), ['sp-acme-eu', 'ads-us'], 'the other one in its turn')
  const gauge = await registry.getSingleMetric('lwa_broker_authorization_expiry_timestamp_seconds')?.get()
  t.same(gauge?.values.map((v) => [v.labels.credential, v.value]), [
    ['sp-acme-eu', (old.authorizedAtMs + authorizationLifetimeMs) / 1000],
    ['ads-us', (recent.authorizedAtMs + authorizationLifetimeMs) / 1000],
  ])
})

t.test('replicas sharing a claim store report a revocation once, to the webhook and the audit log', async (t) => {
  const clock = new FakeClock()
  const receiver = await WebhookReceiver.start(key)
  const dispatcher = new Agent()
  t.teardown(async () => {
    await receiver.close()
    await dispatcher.close()
  })
  const claims = new Map<string, number>()
  const once = async (id: string, untilMs: number): Promise<boolean> => {
    if ((claims.get(id) ?? 0) > clock.now()) return false
    claims.set(id, untilMs)
    return true
  }
  const webhook = { url: receiver.url, key, timeoutMs: 2000, maxQueue: 10, maxAttempts: 3, dispatcher }
  const replicas = [replica(t, clock, { once, webhook }), replica(t, clock, { once, webhook })]
  for (const { lifecycle } of replicas) lifecycle.lwaCall('sp-acme-eu', 'refresh_token', 'invalid_grant')
  for (const { lifecycle } of replicas) await lifecycle.close(2000)
  t.equal(replicas.flatMap((r) => lifecycleLines(r.audit)).length, 1, 'one audit line between them')
  t.match(receiver.delivered(), [{ type: 'revoked', credential: 'sp-acme-eu', account: 'A2EUQ1WTGCTBG2' }])
  t.equal(receiver.requests.length, 1, 'one delivery')
  t.ok(receiver.requests[0]?.valid)
})

t.test('without a claim store every replica reports, under the same event id', async (t) => {
  const clock = new FakeClock()
  const replicas = [replica(t, clock), replica(t, clock)]
  for (const { lifecycle } of replicas) lifecycle.emit({ type: 'removed', credential: 'ads-us', discriminator: 'x' })
  for (const { lifecycle } of replicas) await lifecycle.settled()
  const ids = replicas.flatMap((r) => lifecycleLines(r.audit)).map((l) => l.eventId)
  t.equal(ids.length, 2)
  t.equal(ids[0], ids[1], 'receivers can drop the repeat')
})

t.test('a failing claim store does not lose the event', async (t) => {
  const { lifecycle, audit } = replica(t, new FakeClock(), { once: () => Promise.reject(new Error('redis down')) })
  lifecycle.emit({ type: 'connected', credential: 'sp-acme-eu' })
  await lifecycle.settled()
  t.match(lifecycleLines(audit), [{ event: 'credential.connected' }])
})
