import t from 'tap'
import type { CachingSecretStore } from '../../src/secrets/index.js'
import { build, fixtures, type MintOptions } from '../helper.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' }, lifetimeSeconds: 30 * 24 * 3600 }
const statusOf = (h: Awaited<ReturnType<typeof build>>, credential: string) => h.services.status.list().find((s) => s.credential === credential)

t.test('invalid_grant → rejected: callers get 502 at once, no retry storm, recovery once the secret is fixed', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  const jwt = await h.jwt(platform)
  const first = await h.getToken('sp-acme-eu', jwt)
  t.equal(first.statusCode, 502)
  t.equal(first.json().error, 'credential_rejected')
  t.match(first.json().message, /LWA rejected credential sp-acme-eu \(invalid_grant\); credential rejected since \d{4}-/, 'the message carries the health')
  for (let i = 0; i < 20; i++) t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 502)
  t.equal(h.lwa.callCount({ error: 'invalid_grant' }), 1, 'one LWA call for 21 callers')
  t.match(statusOf(h, 'sp-acme-eu'), { health: 'rejected', lastError: { code: 'credential_rejected', lwaError: 'invalid_grant', consecutive: 1 } })
  t.match(statusOf(h, 'ads-us'), { health: 'healthy', lastError: undefined }, 'other credentials are unaffected')

  // The seller re-authorises; ops store the new refresh token.
  const fresh = 'Atzr|IwEBISp-refresh-token-reauthorised'
  h.lwa.addRefreshToken({ refreshToken: fresh, clientId: fixtures.spClient.clientId })
  h.sm!.putSecret('lwa/sellers/acme', { refresh_token: fresh })
  h.clock.advance(60_000)
  const recovered = await h.getToken('sp-acme-eu', jwt)
  t.equal(recovered.statusCode, 200, 'recovers after the rejected-retry window')
  t.equal(statusOf(h, 'sp-acme-eu')?.health, 'healthy')
})

t.test('a refresh failing while the cached token is still valid is degraded, and callers are served', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, lwa: { ...(c.lwa as object), attempts: 1 } }) })
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  h.clock.advance(1801_000)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  await h.services.tokens.settled()
  t.match(statusOf(h, 'ads-us'), { health: 'degraded', lastError: { code: 'upstream_unavailable', lwaError: 'temporarily_unavailable' } })
  t.ok((statusOf(h, 'ads-us')?.tokenExpiresAtMs ?? 0) > h.clock.now(), 'the cached token is still valid')
})

t.test('Secrets Manager down at start-up: not ready, with a clear log line; up again: ready', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  h.sm!.setFault({ kind: 'error', type: 'InternalServiceError' })
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 503)
  t.same(res.json().checks, { config: 'ok', issuers: 'ok', secrets: 'failing' })
  const line = h.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('not ready: '))
  t.equal(line.length, 1)
  t.match(line[0]?.msg, /secret lwa\/ads-us: Secrets Manager is unavailable \(InternalServiceError\)/)
  await h.app.inject('/readyz')
  t.equal(h.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('not ready: ')).length, 1, 'logged once, not at every probe')
  h.sm!.setFault(null)
  await h.services.readiness.evaluate()
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
  t.equal(h.logs.find((r) => r.msg === 'ready: secrets and issuer keys are loaded').length, 1)
  await (h.secretStore as CachingSecretStore).settled()
})

t.test('the background refresher keeps used credentials fresh and lets idle ones go', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  await h.getToken('ads-us', jwt)
  await h.getToken('sp-acme-eu', jwt)
  t.equal(h.services.refresher.refreshDue(), 0, 'nothing is due yet')
  h.clock.advance(1800_000)
  t.equal(h.services.refresher.refreshDue(), 2, 'both refreshed at half-life, without a caller asking')
  await h.services.tokens.settled()
  t.equal(h.lwa.callCount(), 4)
  t.equal(h.services.refresher.refreshDue(), 0, 'nothing twice')

  // Only ads-us is used from now on; after an hour without callers sp-acme-eu is left to expire.
  for (let i = 0; i < 4; i++) {
    h.clock.advance(1800_000)
    await h.getToken('ads-us', jwt)
    h.services.refresher.refreshDue()
    await h.services.tokens.settled()
  }
  const sp = statusOf(h, 'sp-acme-eu')
  t.ok((sp?.tokenExpiresAtMs ?? 0) < h.clock.now(), 'the idle credential was not kept fresh')
  t.ok((statusOf(h, 'ads-us')?.tokenExpiresAtMs ?? 0) > h.clock.now(), 'the used one was')
})

t.test('prewarm obtains every credential\'s token before the first caller', async (t) => {
  const h = await build(t)
  await h.services.refresher.prewarm()
  t.equal(h.lwa.callCount(), 4, 'one call per configured credential')
  await h.getToken('ads-us', await h.jwt(platform))
  t.equal(h.lwa.callCount(), 4, 'the first caller is served from the cache')
})

t.test('prewarm logs a credential it cannot warm and goes on', async (t) => {
  const h = await build(t)
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  await h.services.refresher.prewarm()
  t.equal(h.logs.find((r) => r.msg === 'could not pre-warm the token' && r.credential === 'ads-us').length, 1)
  t.equal(h.services.status.list().filter((s) => s.health === 'healthy').length, 3)
})
