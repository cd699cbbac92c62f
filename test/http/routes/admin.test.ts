import t from 'tap'
import { build, fixtures, type MintOptions } from '../../helper.js'

const admin: MintOptions = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const withAdminRule = (c: Record<string, unknown>) => ({ ...c, policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }] })

async function call(h: Awaited<ReturnType<typeof build>>, method: 'GET' | 'POST', url: string, who: MintOptions | undefined) {
  return h.app.inject({ method, url, headers: who ? { authorization: `Bearer ${await h.jwt(who)}` } : {} })
}

t.test('an admin lists credentials with their status, and never a secret or a token', async (t) => {
  const h = await build(t, { config: withAdminRule, secretsBackend: 'aws' })
  await h.getToken('ads-us', await h.jwt(reporter))
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  await h.getToken('sp-acme-eu', await h.jwt({ claims: { sub: 'system:serviceaccount:platform:all' } }))
  const res = await call(h, 'GET', '/admin/credentials', admin)
  t.equal(res.statusCode, 200)
  const byName = Object.fromEntries((res.json().credentials as Array<Record<string, unknown>>).map((c) => [c.credential, c]))
  t.same(Object.keys(byName).sort(), ['ads-us', 'appstore-main', 'sp-acme-eu', 'sp-notifications'])
  t.match(byName['ads-us'], {
    api: 'ads', region: 'na', health: 'healthy',
    token_expires_at: new Date(h.clock.now() + 3600_000).toISOString(),
    last_refresh_at: new Date(h.clock.now()).toISOString(),
    secret_versions: { app: h.sm?.current('lwa/ads-us')?.versionId, grant: h.sm?.current('lwa/ads-us')?.versionId },
    last_error: null,
  })
  t.match(byName['sp-acme-eu'], { health: 'rejected', token_expires_at: null, last_error: { code: 'credential_rejected', lwa_error: 'invalid_grant', consecutive_failures: 1 } })
  t.match(byName['appstore-main'], { health: 'healthy', token_expires_at: null, last_used_at: null })
  for (const forbidden of [/Atz[ar]\|/, /Atc\|/, fixtures.adsClient.clientSecret, fixtures.spClient.clientSecret, fixtures.adsRefreshToken]) t.notMatch(res.body, forbidden)
})

t.test('admin routes are for admins only: 401 without a JWT, 403 for other callers, and audited', async (t) => {
  const h = await build(t, { config: withAdminRule })
  for (const [method, url] of [['GET', '/admin/credentials'], ['GET', '/admin/credentials/ads-us'], ['POST', '/admin/credentials/ads-us/refresh'], ['POST', '/admin/secrets/reload'], ['GET', '/admin/apps'], ['POST', '/admin/apps/lwa%2Fapps%2Fsp/rotate']] as const) {
    t.equal((await call(h, method, url, undefined)).statusCode, 401, `${method} ${url} without a JWT`)
    const forbidden = await call(h, method, url, reporter)
    t.equal(forbidden.statusCode, 403, `${method} ${url} as a non-admin`)
    t.equal(forbidden.json().message, 'caller system:serviceaccount:ads:reporter is not an admin')
  }
  t.equal(h.lwa.callCount(), 0, 'a refused refresh reached nothing')
  const audit = h.logs.find((r) => typeof r.event === 'string' && r.event.startsWith('admin.'))
  t.equal(audit.length, 12)
  t.ok(audit.every((e) => e.outcome === 'denied'))
  t.match(audit.find((e) => e.event === 'admin.credentials.refresh' && e.error === 'forbidden'), { credential: 'ads-us', callerSubject: 'system:serviceaccount:ads:reporter' })
})

t.test('a forced refresh obtains a new token now', async (t) => {
  const h = await build(t, { config: withAdminRule })
  const first = (await h.getToken('ads-us', await h.jwt(reporter))).json().access_token
  const res = await call(h, 'POST', '/admin/credentials/ads-us/refresh', admin)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { credential: 'ads-us', health: 'healthy' })
  t.equal(h.lwa.callCount(), 2)
  const after = (await h.getToken('ads-us', await h.jwt(reporter))).json().access_token
  t.not(after, first, 'callers now get the new token')
  t.match(h.logs.find((r) => r.event === 'admin.credentials.refresh')[0], { outcome: 'allowed', credential: 'ads-us', callerSubject: 'system:serviceaccount:ops:admin' })
})

t.test('a forced refresh that fails keeps the cached token serving', async (t) => {
  const h = await build(t, { config: (c) => ({ ...withAdminRule(c), lwa: { ...(c.lwa as object), attempts: 1 } }) })
  const first = (await h.getToken('ads-us', await h.jwt(reporter))).json().access_token
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  t.equal((await call(h, 'POST', '/admin/credentials/ads-us/refresh', admin)).statusCode, 503)
  const res = await h.getToken('ads-us', await h.jwt(reporter))
  t.equal(res.statusCode, 200)
  t.equal(res.json().access_token, first)
})

t.test('admin routes take no query parameters', async (t) => {
  const h = await build(t, { config: withAdminRule })
  const res = await call(h, 'GET', '/admin/credentials?credential=forged-audit-text', admin)
  t.equal(res.statusCode, 400)
  t.equal(h.logs.find((r) => r.credential === 'forged-audit-text').length, 0, 'the query cannot write into the audit trail')
})

t.test('a forced refresh of an unknown or rejected credential answers like /token', async (t) => {
  const h = await build(t, { config: withAdminRule })
  t.equal((await call(h, 'POST', '/admin/credentials/nope/refresh', admin)).json().error, 'unknown_credential')
  t.equal((await call(h, 'POST', '/admin/credentials/bad%20name/refresh', admin)).statusCode, 400)
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const rejected = await call(h, 'POST', '/admin/credentials/ads-us/refresh', admin)
  t.equal(rejected.statusCode, 502)
  t.equal(rejected.json().error, 'credential_rejected')
})

t.test('a secret reload makes a fixed secret work at once, without waiting out the rejected-retry window', async (t) => {
  const h = await build(t, { config: withAdminRule, secretsBackend: 'aws' })
  const jwt = await h.jwt({ claims: { sub: 'system:serviceaccount:platform:all' } })
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 502)
  const fixedToken = 'Atzr|IwEBISp-refresh-token-fixed'
  h.lwa.addRefreshToken({ refreshToken: fixedToken, clientId: fixtures.spClient.clientId })
  h.sm!.putSecret('lwa/sellers/acme', { refresh_token: fixedToken })
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 502, 'still inside the retry window')
  const reload = await call(h, 'POST', '/admin/secrets/reload', admin)
  t.equal(reload.statusCode, 200)
  t.same(reload.json(), { reloaded_secrets: 4 })
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 200, 'works right after the reload')
})

t.test('admin routes share the caller\'s rate limit, refuse a query parameter, and say a credential is misconfigured', async (t) => {
  const h = await build(t, { config: (c) => ({ ...withAdminRule(c), rateLimit: { max: 2, unauthenticatedMax: 100 } }), secrets: (s) => { delete s['lwa/appstore']; return s } })
  t.equal((await call(h, 'POST', '/admin/secrets/reload?now=1', admin)).json().error, 'invalid_request', 'a query parameter')
  t.equal((await call(h, 'GET', '/admin/apps?app=x', admin)).json().error, 'invalid_request', 'a query parameter')
  const refresh = await call(h, 'POST', '/admin/credentials/appstore-main/refresh', admin)
  t.equal(refresh.statusCode, 502)
  t.equal(refresh.json().error, 'credential_misconfigured', 'its secret does not exist')
  t.equal((await call(h, 'GET', '/admin/credentials', admin)).statusCode, 200, 'the second request of the window (a 400 does not count)')
  const limited = [['GET', '/admin/credentials'], ['GET', '/admin/credentials/ads-us'], ['POST', '/admin/credentials/ads-us/refresh'], ['POST', '/admin/secrets/reload'], ['GET', '/admin/apps'], ['POST', '/admin/apps/lwa%2Fapps%2Fsp/rotate']] as const
  for (const [method, url] of limited) t.equal((await call(h, method, url, admin)).json().error, 'rate_limited', `${method} ${url} past the caller's limit`)
})
