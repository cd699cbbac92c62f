import t from 'tap'
import { fixtures, type Harness } from '../helper.js'
import { admin, approve, callback, link, onboardingBroker, open } from '../support/onboarding-fixture.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const seller = 'lwa/sellers/acme'
const stored = (h: Harness, id: string) => JSON.parse(h.sm?.current(id)?.value ?? '{}') as Record<string, unknown>

/** An SP-API consent round trip for sp-acme-eu: the seller that allows is `sellingPartnerId`. */
async function connectSeller(h: Harness, sellingPartnerId: string, options: Record<string, unknown> = {}) {
  const { state, cookie } = await open(h, await link(h, 'sp-acme-eu', options))
  const refreshToken = `Atzr|IwEBI-${sellingPartnerId}-${Math.random().toString(36).slice(2)}`
  const code = approve(h, fixtures.spClient.clientId, refreshToken)
  return { res: await callback(h, { spapi_oauth_code: code, state, selling_partner_id: sellingPartnerId }, cookie), refreshToken }
}

t.test('an onboarding link silently re-binds a connected credential: without replace, another account is refused and nothing stored', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  h.sm?.putSecret(seller, { refresh_token: fixtures.spRefreshToken, selling_partner_id: 'A1ACCOUNTA' })
  const before = h.sm?.current(seller)?.versionId
  const { res } = await connectSeller(h, 'A2ATTACKER', {})
  t.equal(res.statusCode, 409)
  t.match(res.body, /already connected to Amazon account A1ACCOUNTA/)
  t.equal(h.sm?.current(seller)?.versionId, before, 'the secret is untouched')
  t.match(h.logs.find((r) => r.event === 'onboarding.failed').at(-1), { reason: 'already_connected', account: 'A2ATTACKER', credential: 'sp-acme-eu' })
})

t.test('an onboarding link silently re-binds a connected credential: the same account re-authorizes without replace', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  h.sm?.putSecret(seller, { refresh_token: fixtures.spRefreshToken, selling_partner_id: 'A1ACCOUNTA' })
  const { res, refreshToken } = await connectSeller(h, 'A1ACCOUNTA', {})
  t.equal(res.statusCode, 200)
  t.match(res.body, /connected to Amazon account A1ACCOUNTA/, 'the page shows the account')
  t.same(stored(h, seller), { refresh_token: refreshToken, selling_partner_id: 'A1ACCOUNTA', authorized_at: new Date(h.clock.now()).toISOString() })
})

t.test('an onboarding link silently re-binds a connected credential: a credential with a refresh token but no recorded account needs replace', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const { res } = await connectSeller(h, 'A1ACCOUNTA', {})
  t.equal(res.statusCode, 409, 'nobody can tell which account the stored token is, so it is not silently replaced')
  const replaced = await connectSeller(h, 'A1ACCOUNTA', { replace: true })
  t.equal(replaced.res.statusCode, 200, 'a link made to replace it does')
  t.equal(stored(h, seller).selling_partner_id, 'A1ACCOUNTA')
})

t.test('an onboarding link silently re-binds a connected credential: a link naming its account refuses any other', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const { res } = await connectSeller(h, 'A2ATTACKER', { replace: true, expected_account: 'A1ACCOUNTA' })
  t.equal(res.statusCode, 403)
  t.match(res.body, /You connected Amazon account A2ATTACKER, but this link is for account A1ACCOUNTA/)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0)
  const right = await connectSeller(h, 'A1ACCOUNTA', { replace: true, expected_account: 'A1ACCOUNTA' })
  t.equal(right.res.statusCode, 200)
})

t.test('an onboarding link silently re-binds a connected credential: the audit says which account, from where, with what browser', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const { state, cookie } = await open(h, await link(h, 'ads-us'))
  const code = approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIAds-onboarded')
  const headers = { cookie: cookie ?? '', 'user-agent': `Mozilla/5.0 ${'x'.repeat(1000)}` }
  const done = await h.app.inject({ url: `/oauth/callback?${new URLSearchParams({ code, state })}`, headers, remoteAddress: '10.1.2.3' })
  t.equal(done.statusCode, 200)
  t.match(done.body, /connected to Amazon account A2ADVERTISER01/, 'the Ads account, read off the new token\'s profiles')
  t.equal(stored(h, 'lwa/ads-us').account_id, 'A2ADVERTISER01', 'and stored with the refresh token')
  const completed = h.logs.find((r) => r.event === 'onboarding.completed')[0]
  t.match(completed, { credential: 'ads-us', account: 'A2ADVERTISER01', clientAddress: '10.1.2.3' })
  t.equal((completed?.userAgent as string).length, 256, 'the user agent is kept, truncated: it is anyone\'s text')
  t.match(h.logs.find((r) => r.event === 'onboarding.started')[0], { credential: 'ads-us', clientAddress: '127.0.0.1' })
})

t.test('an onboarding link silently re-binds a connected credential: on success the old account\'s cached token is dropped', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const jwt = await h.jwt(platform)
  const old = (await h.getToken('sp-acme-eu', jwt)).json().access_token
  const { res } = await connectSeller(h, 'A1ACCOUNTA', { replace: true })
  t.equal(res.statusCode, 200)
  const next = (await h.getToken('sp-acme-eu', jwt)).json().access_token
  t.not(next, old, 'the next caller gets a token of the newly connected account at once, not the cached one')
  t.equal(h.lwa.grantOf(next)?.refreshToken, stored(h, seller).refresh_token, 'obtained with the new refresh token')
})

t.test('an onboarding link silently re-binds a connected credential: a mail scanner\'s GET of the link uses nothing up', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  const path = new URL(url).pathname
  for (let i = 0; i < 3; i++) {
    const page = await h.app.inject({ url: path })
    t.equal(page.statusCode, 200)
    t.match(page.body, /<form method="post" action=""><button type="submit" id="continue">Continue to Amazon<\/button><\/form>/)
  }
  t.equal(h.logs.find((r) => r.event === 'onboarding.started').length, 0, 'nothing started by looking')
  const { res } = await open(h, url)
  t.equal(res.statusCode, 303, 'the person\'s click still works')
  t.equal((await h.app.inject({ method: 'POST', url: path })).statusCode, 410, 'and uses it up')
})

t.test('onboarding robustness: LWA down at the callback gives the link and the state back, so the promise on the page is true', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  const { state, cookie } = await open(h, url)
  const code = approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIAfter-the-outage')
  h.lwa.failNext({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  const down = await callback(h, { code, state }, cookie)
  t.equal(down.statusCode, 503)
  t.match(down.body, /open the link again later/)
  t.equal((await h.app.inject({ url: new URL(url).pathname })).statusCode, 200, 'the link works again')
  const retried = await callback(h, { code, state }, cookie)
  t.equal(retried.statusCode, 200, 'and reloading the callback, with LWA back, finishes it')
  t.equal(stored(h, 'lwa/ads-us').refresh_token, 'Atzr|IwEBIAfter-the-outage')
})

t.test('onboarding robustness: Secrets Manager down at the write keeps the old grant and gives the link back', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  const { state, cookie } = await open(h, url)
  const before = h.sm?.current('lwa/ads-us')
  h.sm?.failNext({ kind: 'error', type: 'InternalServiceError' }, 10, { operation: 'PutSecretValue' })
  const down = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBISm-down-at-write'), state }, cookie)
  t.equal(down.statusCode, 503)
  t.match(down.body, /could not be stored/)
  t.same(h.sm?.current('lwa/ads-us'), before, 'the grant secret is as it was: nothing half-written')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'secret_unavailable')
  h.sm?.reset()
  const again = await open(h, url)
  t.equal(again.res.statusCode, 303, 'the link works again')
})

t.test('onboarding robustness: the Ads API down at the callback stores nothing and gives the link back', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const url = await link(h, 'ads-us')
  const { state, cookie } = await open(h, url)
  h.ads.setFault({ kind: 'status', status: 503 })
  const res = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIAds-down'), state }, cookie)
  t.equal(res.statusCode, 503)
  t.match(res.body, /advertising account could not be identified/)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0)
  t.equal((await h.app.inject({ url: new URL(url).pathname })).statusCode, 200)
})

t.test('onboarding robustness: a link another replica issued says so', async (t) => {
  const h = await onboardingBroker(t)
  const res = await h.app.inject({ url: '/onboarding/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
  t.equal(res.statusCode, 410)
  t.match(res.body, /issued by another broker replica/)
})

t.test('onboarding robustness: the cookie is scoped to the callback under a publicUrl with a path prefix', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws', config: (c) => ({ ...c, onboarding: { ...(c.onboarding as object), publicUrl: 'https://ops.example.test/lwa' } }) })
  const res = await h.app.inject({ method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: { credential: 'ads-us', replace: true } })
  const linkPath = new URL(res.json().url).pathname
  t.match(linkPath, /^\/lwa\/onboarding\//, 'the link carries the prefix')
  const opened = await h.app.inject({ method: 'POST', url: linkPath.replace('/lwa', '') })
  t.equal(opened.statusCode, 303)
  t.match(opened.headers['set-cookie'], /Path=\/lwa\/oauth\/callback/, 'the browser sends the cookie back to the prefixed callback')
  t.equal(new URL(opened.headers.location as string).searchParams.get('redirect_uri'), 'https://ops.example.test/lwa/oauth/callback')
})

t.test('log and audit flooding: onboarding pages are rate-limited per address', async (t) => {
  const h = await onboardingBroker(t, { config: (c) => ({ ...c, rateLimit: { ...(c.rateLimit as object), onboardingMax: 3 } }) })
  const path = '/onboarding/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await h.app.inject({ url: path, remoteAddress: '10.9.9.9' })).statusCode)
  t.same(statuses, [410, 410, 410, 429, 429])
  t.equal((await h.app.inject({ url: path, remoteAddress: '10.9.9.10' })).statusCode, 410, 'another address has its own budget')
})
