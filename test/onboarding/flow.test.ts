import t from 'tap'
import { fixtures } from '../helper.js'
import { admin, advertiser, approve, callback, link, onboardingBroker, open, publicUrl } from '../support/onboarding-fixture.js'

t.test('Ads: link -> consent URL with a signed state -> callback -> the refresh token lands as a new secret version', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  t.match(url, /^https:\/\/broker\.example\.test\/onboarding\/[A-Za-z0-9_-]{32}$/)
  const { res, location, state, cookie } = await open(h, url)
  t.equal(res.statusCode, 303)
  t.equal(location?.origin + (location?.pathname ?? ''), 'https://consent.example.test/ap/oa')
  t.same(Object.fromEntries([...(location?.searchParams ?? [])].filter(([k]) => k !== 'state')), {
    client_id: fixtures.adsClient.clientId, scope: 'advertising::campaign_management', response_type: 'code', redirect_uri: `${publicUrl}/oauth/callback`,
  })
  t.ok(state.length > 40, 'an unguessable state')
  t.match(res.headers['set-cookie'], /HttpOnly/)
  t.match(res.headers['set-cookie'], /SameSite=Lax/)
  t.match(res.headers['set-cookie'], /Secure/)

  const newToken = 'Atzr|IwEBIOnboarded-ads-token'
  const done = await callback(h, { code: approve(h, fixtures.adsClient.clientId, newToken), scope: 'advertising::campaign_management', state }, cookie)
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential ads-us is connected')
  t.notMatch(done.body, /Atz/, 'never a token on the page')
  const stored = JSON.parse(h.sm?.current('lwa/ads-us')?.value ?? '{}')
  t.equal(stored.refresh_token, newToken)
  t.equal(stored.client_secret, fixtures.adsClient.clientSecret, 'other fields kept')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 1)
  const events = h.logs.find((r) => typeof r.event === 'string' && r.event.startsWith('onboarding.')).map((r) => r.event)
  t.same(events, ['onboarding.started', 'onboarding.completed'])
  const detail = await h.app.inject({ url: '/admin/credentials/ads-us', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.match(detail.json().profiles, [{ id: advertiser.profileId, account_id: 'A2ADVERTISER01' }], 'the profiles read to learn the account are kept')
  t.equal(h.ads.callCount({ operation: 'listProfiles' }), 1, 'read once, at the callback')

  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const res2 = await h.app.inject({ method: 'POST', url: '/admin/credentials/ads-us/refresh', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.equal(res2.statusCode, 200, 'the broker now refreshes with the onboarded token')
})

t.test('SP-API: the website workflow URL, version=beta for a draft app, and selling_partner_id stored', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const { location, state, cookie } = await open(h, await link(h, 'sp-acme-eu'))
  t.equal(location?.origin + (location?.pathname ?? ''), 'https://sellercentral-europe.amazon.com/apps/authorize/consent', 'LWA.md default for eu')
  t.equal(location?.searchParams.get('application_id'), 'amzn1.sp.solution.test')
  t.equal(location?.searchParams.get('version'), 'beta')
  const done = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBIOnboarded-seller'), state, selling_partner_id: 'A3SELLERTEST1' }, cookie)
  t.equal(done.statusCode, 200)
  const authorizedAt = new Date(h.clock.now()).toISOString()
  t.same(JSON.parse(h.sm?.current('lwa/sellers/acme')?.value ?? '{}'), {
    refresh_token: 'Atzr|IwEBIOnboarded-seller', selling_partner_id: 'A3SELLERTEST1', authorized_at: authorizedAt,
  }, 'the authorization time is stored beside the refresh token')
  const lifecycle = h.logs.find((r) => typeof r.event === 'string' && r.event.startsWith('credential.'))
  t.match(lifecycle, [{ event: 'credential.replaced', credential: 'sp-acme-eu', account: 'A3SELLERTEST1' }],
    'another seller than the one the secret held: replaced (the link said replace)')

  // The same seller again, a year's deadline later: re-authorized, and the deadline moves on.
  h.clock.advance(60_000)
  const again = await open(h, await link(h, 'sp-acme-eu', {}))
  const code = approve(h, fixtures.spClient.clientId, 'Atzr|IwEBIOnboarded-seller-2')
  t.equal((await callback(h, { spapi_oauth_code: code, state: again.state, selling_partner_id: 'A3SELLERTEST1' }, again.cookie)).statusCode, 200)
  t.match(h.logs.find((r) => r.event === 'credential.reauthorized'), [{ credential: 'sp-acme-eu', account: 'A3SELLERTEST1' }])
  await h.services.secrets.get('lwa/sellers/acme')
  const gauge = await h.services.metrics.registry.getSingleMetric('lwa_broker_authorization_expiry_timestamp_seconds')?.get()
  t.same(gauge?.values.map((v) => [v.labels.credential, v.value]), [['sp-acme-eu', (h.clock.now() + 365 * 86_400_000) / 1000]],
    'the 365-day deadline counts from the last authorization')
})

t.test('CSRF and replay: wrong, tampered, expired, reused, cross-browser or cross-credential state is refused and nothing is stored', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const ads = await open(h, await link(h, 'ads-us'))
  const sp = await open(h, await link(h, 'sp-acme-eu'))
  const code = () => approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIShould-never-be-stored')
  const cases: Array<[string, Record<string, string>, string | undefined, RegExp, string]> = [
    ['no state', { code: code() }, ads.cookie, /not valid/, 'state_invalid'],
    ['a forged state', { code: code(), state: 'eyJjcmVkZW50aWFsIjoiYWRzLXVzIn0.forged' }, ads.cookie, /not valid/, 'state_invalid'],
    ['a tampered state', { code: code(), state: ads.state.replace(/^./, (c) => (c === 'e' ? 'f' : 'e')) }, ads.cookie, /not valid/, 'state_invalid'],
    ['no cookie: another browser', { code: code(), state: ads.state }, undefined, /browser that started it/, 'other_browser'],
    ['another flow\'s cookie (cross-credential)', { code: code(), state: ads.state }, sp.cookie, /browser that started it/, 'other_browser'],
    ['declined on Amazon\'s page', { error: 'access_denied', error_description: 'The user denied', state: sp.state }, sp.cookie, /declined/, 'declined'],
  ]
  for (const [name, query, cookie, message, reason] of cases) {
    const res = await callback(h, query, cookie)
    t.equal(res.statusCode, 400, name)
    t.match(res.body, message, name)
    t.match(res.headers['content-type'], /^text\/html/)
    t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, reason, `${name}: audited`)
  }
  const replay = await callback(h, { spapi_oauth_code: 'x', state: sp.state }, sp.cookie)
  t.match(replay.body, /already completed or used/, 'a used state (even a declined one) cannot be replayed')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0, 'nothing stored')
  t.equal(h.lwa.callCount(), 0, 'no code was ever exchanged')
})

t.test('the link works once and expires; the state expires; an expired code gets a clear page', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  const first = await open(h, url)
  t.equal(first.res.statusCode, 303)
  const again = await open(h, url)
  t.equal(again.res.statusCode, 410)
  t.match(again.res.body, /expired, was already used/)

  const stale = await link(h, 'ads-us')
  h.clock.advance(601_000)
  t.equal((await open(h, stale)).res.statusCode, 410, 'a link older than linkTtlSeconds')
  const late = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|late'), state: first.state }, first.cookie)
  t.equal(late.statusCode, 400)
  t.match(late.body, /expired/)

  const fresh = await open(h, await link(h, 'ads-us'))
  const expiredCode = await callback(h, { code: 'ANcode-never-issued-or-expired', state: fresh.state }, fresh.cookie)
  t.equal(expiredCode.statusCode, 400)
  t.match(expiredCode.body, /refused the authorization code \(invalid_grant\)/)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0)
})

t.test('only admins get links, only for credentials that can be onboarded', async (t) => {
  const h = await onboardingBroker(t)
  const ask = async (credential: string, who = admin) => h.app.inject({ method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(who)}` }, payload: { credential } })
  t.equal((await ask('ads-us', { claims: { sub: 'system:serviceaccount:ads:reporter' } })).statusCode, 403)
  t.equal((await ask('sp-notifications')).json().error, 'invalid_request', 'a grantless credential has nothing to onboard')
  t.equal((await ask('nope')).json().error, 'invalid_request')
  t.equal((await ask('ads-us')).statusCode, 200)
  t.match(h.logs.find((r) => r.event === 'admin.onboarding.link' && r.outcome === 'allowed')[0], { credential: 'ads-us' })
})

t.test('a secrets backend that cannot store (file) ends on a clear page and nothing half-written', async (t) => {
  const h = await onboardingBroker(t)
  const { state, cookie } = await open(h, await link(h, 'ads-us'))
  const res = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|x'), state }, cookie)
  t.equal(res.statusCode, 503)
  t.match(res.body, /could not be stored/)
})

t.test('the onboarding pages: a malformed link id, an unreadable app secret, and a flood from one address', async (t) => {
  const h = await onboardingBroker(t, { config: (c) => ({ ...c, rateLimit: { ...(c.rateLimit as object), onboardingMax: 6 } }) })
  for (const method of ['GET', 'POST'] as const) {
    const bad = await h.app.inject({ method, url: '/onboarding/not-a-link!' })
    t.equal(bad.statusCode, 400, `${method}: not a link id`)
    t.match(bad.body, /This request is not valid/)
  }
  const url = await link(h, 'ads-us')
  h.writeSecrets({})
  const unreadable = await h.app.inject({ method: 'POST', url: url.replace(publicUrl, '') })
  t.equal(unreadable.statusCode, 503, 'the app secret cannot be read: the link is not used up')
  t.match(unreadable.body, /cannot be read right now/)
  const flood = []
  for (let i = 0; i < 7; i++) flood.push((await h.app.inject({ method: 'POST', url: '/onboarding/AAAAAAAAAAAAAAAAAAAAAAAA', remoteAddress: '10.2.2.2' })).statusCode)
  t.same(flood.slice(-1), [429])
  t.equal((await h.app.inject({ url: '/oauth/callback?state=x', remoteAddress: '10.2.2.2' })).statusCode, 429, 'the callback shares the budget')
})

t.test('the onboarding pages in sidecar mode refuse a proxied request with a page', async (t) => {
  const h = await onboardingBroker(t, { config: (c) => ({ ...c, mode: 'sidecar', listen: { host: '127.0.0.1', port: 0 } }) })
  for (const method of ['GET', 'POST'] as const) {
    const res = await h.app.inject({ method, url: '/onboarding/AAAAAAAAAAAAAAAAAAAAAAAA', headers: { 'x-forwarded-for': '10.0.0.1' } })
    t.equal(res.statusCode, 403, method)
    t.match(res.body, /sidecar mode serves only direct loopback requests/)
  }
})

t.test('only admins get links: a request without a JWT is 401', async (t) => {
  const h = await onboardingBroker(t)
  const res = await h.app.inject({ method: 'POST', url: '/admin/onboarding', payload: { credential: 'ads-us' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error, 'unauthenticated')
})

t.test('an admin asking for links shares the caller\'s rate limit', async (t) => {
  const h = await onboardingBroker(t, { config: (c) => ({ ...c, rateLimit: { ...(c.rateLimit as object), max: 1 } }) })
  const ask = async () => h.app.inject({ method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: { credential: 'ads-us' } })
  t.equal((await ask()).statusCode, 200)
  const limited = await ask()
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
})
