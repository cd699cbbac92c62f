// Seller-initiated authorization (SPAPI.md): Seller Central's Appstore "Authorize now" and the
// yearly "Re-authorize" load the app's Login URI (/oauth/login); the broker sends the browser back
// to amazon_callback_uri, only on an allow-listed Amazon host, and Amazon's confirm page then
// comes back to /oauth/callback with the code. Seller Central is the LWA emulator's.
import t from 'tap'
import { call } from '../support/api-test-client.js'
import { fixtures, type BuildOptions, type Harness } from '../helper.js'
import { admin, callback, onboardingBroker, publicUrl } from '../support/onboarding-fixture.js'
import { decide, linkOf, location } from '../support/page-client.js'
import type { AppstoreStart } from '../support/seller-central.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const applicationId = 'amzn1.sp.solution.test'
const prefix = 'lwa-broker/sellers/'
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const selfService = { name: 'sp-{account}-{region}', app: 'lwa/apps/sp', applicationId, draft: true, labels: { tier: 'self' } }

interface Setup { region?: 'na' | 'eu' | 'fe'; selfService?: boolean; secrets?: BuildOptions['secrets'] }

/** A broker whose allow-list puts the emulated Seller Central in `region`; sp-acme-eu is connected to A3ACME. */
async function broker(t: Test, setup: Setup = {}): Promise<Harness> {
  const { region = 'eu' } = setup
  const h = await onboardingBroker(t, {
    secretsBackend: 'aws',
    secrets: setup.secrets ?? ((s) => ({ ...s, 'lwa/sellers/acme': { refresh_token: fixtures.spRefreshToken, selling_partner_id: 'A3ACME' } })),
    config: (c) => {
      const seller = new URL((c.lwa as { endpoints: { eu: string } }).endpoints.eu).origin
      const onboarding = {
        ...(c.onboarding as object),
        amazonOrigins: { [region]: [seller] },
        ...(setup.selfService ? { selfService } : {}),
      }
      return { ...c, onboarding, catalogue: { namePrefix: prefix } }
    },
  })
  h.lwa.addApplication({ applicationId, clientId: fixtures.spClient.clientId })
  return h
}

const loginUri = `${publicUrl}/oauth/login`
const cookieOf = (res: { cookies: unknown }) => {
  const cookie = (res.cookies as Array<{ name: string; value: string }>).find((c) => c.name === 'lwa_broker_onboarding')
  return cookie ? `${cookie.name}=${cookie.value}` : undefined
}

/** Seller Central's page, its button, and the request our Login URI receives (as a path on the broker). */
async function fromSellerCentral(h: Harness, start: Partial<AppstoreStart> = {}): Promise<string> {
  const url = h.lwa.startAppstoreAuthorization({ applicationId, loginUri, sellingPartnerId: 'A3ACME', flavour: 'reauthorize', draft: true, ...start })
  const login = linkOf((await call(url)).text, 'authorize')
  return `${login.pathname}${login.search}`
}

/** Amazon's confirm page for where our Login URI sent the browser, its Allow, and the callback it leads to. */
async function confirmAndReturn(h: Harness, to: URL, cookie: string | undefined) {
  const page = await call(to.toString())
  const back = location(await decide(h.lwa, page.text, 'allow'))
  h.logs.secrets.add(back.searchParams.get('spapi_oauth_code') ?? '')
  h.logs.secrets.add(h.lwa.lastConsent?.refreshToken ?? '')
  return { page, back, done: await callback(h, Object.fromEntries(back.searchParams), cookie) }
}

t.test('yearly re-authorization from Manage Your Apps: straight back to Amazon, the same credential renewed', async (t) => {
  const h = await broker(t)
  const login = await h.app.inject({ url: await fromSellerCentral(h) })
  t.equal(login.statusCode, 303, 'no admin needed for a seller the broker knows')
  const to = location({ headers: login.headers } as never)
  t.equal(`${to.origin}${to.pathname}`, `${h.lwa.url}/apps/authorize/confirm`, 'to amazon_callback_uri')
  const [started] = h.lwa.sellerCentral.authorizations
  t.same([...to.searchParams.keys()].sort(), ['amazon_state', 'redirect_uri', 'state', 'version'])
  t.equal(to.searchParams.get('amazon_state'), started?.amazonState, 'Amazon\'s state unchanged')
  t.equal(to.searchParams.get('redirect_uri'), `${publicUrl}/oauth/callback`)
  t.equal(to.searchParams.get('version'), 'beta', 'a draft app\'s flow keeps version=beta')
  const cookie = cookieOf(login)
  t.ok(cookie, 'the state is bound to this browser')

  const { page, back, done } = await confirmAndReturn(h, to, cookie)
  t.equal(page.status, 200, 'Seller Central accepts what the broker sent')
  t.equal(back.searchParams.get('selling_partner_id'), 'A3ACME')
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential sp-acme-eu is connected to Amazon account A3ACME')
  const stored = JSON.parse(h.sm?.current('lwa/sellers/acme')?.value ?? '{}')
  t.equal(stored.refresh_token, h.lwa.lastConsent?.refreshToken, 'the new refresh token')
  t.equal(stored.authorized_at, new Date(h.clock.now()).toISOString(), 'the 365 days start again')
  t.match(h.logs.find((r) => r.event === 'onboarding.started'), [{ flow: 'reauthorize', account: 'A3ACME', credential: 'sp-acme-eu' }])
  t.match(h.logs.find((r) => r.event === 'credential.reauthorized'), [{ credential: 'sp-acme-eu' }])
  t.equal(h.sm?.callCount({ operation: 'CreateSecret' }), 0)
})

t.test('Appstore "Authorize now" from a new seller with self-service: the credential is created', async (t) => {
  const h = await broker(t, { selfService: true })
  const login = await h.app.inject({ url: await fromSellerCentral(h, { sellingPartnerId: 'A3APPSTORE', flavour: 'appstore' }) })
  t.equal(login.statusCode, 303)
  const { done } = await confirmAndReturn(h, location({ headers: login.headers } as never), cookieOf(login))
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential sp-A3APPSTORE-eu is connected to Amazon account A3APPSTORE')
  t.match(h.sm?.tags(`${prefix}sp-A3APPSTORE-eu`), { 'lwa-broker:selling-partner-id': 'A3APPSTORE', 'lwa-broker:label:tier': 'self' })
  t.equal((await h.getToken('sp-A3APPSTORE-eu', await h.jwt(platform))).statusCode, 200)
  t.match(h.logs.find((r) => r.event === 'onboarding.started'), [{ flow: 'self_service', account: 'A3APPSTORE' }])
})

t.test('a new seller without self-service is asked for an admin link; the link continues the flow', async (t) => {
  const h = await broker(t)
  const path = await fromSellerCentral(h, { sellingPartnerId: 'A3NEWSELLER', flavour: 'appstore' })
  const asked = await h.app.inject({ url: path })
  t.equal(asked.statusCode, 403)
  t.match(asked.body, 'Selling account A3NEWSELLER is not connected to this app yet')
  t.match(asked.body, '<input id="link" name="link"', 'a form for the link')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'seller_unknown')

  const made = await h.app.inject({
    method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` },
    payload: { create: { name: 'sp-{account}', api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', application_id: applicationId, draft: true } },
  })
  const present = (link: string) => h.app.inject({ method: 'POST', url: path, payload: { link } })
  const login = await present(made.json().url as string)
  t.equal(login.statusCode, 303, 'the admin\'s link, pasted into the form')
  t.equal((await present(made.json().url as string)).statusCode, 410, 'and used up')
  const { done } = await confirmAndReturn(h, location({ headers: login.headers } as never), cookieOf(login))
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential sp-A3NEWSELLER is connected')
})

t.test('a forged amazon_callback_uri is followed nowhere', async (t) => {
  const h = await broker(t)
  const path = await fromSellerCentral(h)
  const forged = (uri: string) => {
    const url = new URL(path, publicUrl)
    url.searchParams.set('amazon_callback_uri', uri)
    return h.app.inject({ url: `${url.pathname}${url.search}` })
  }
  for (const uri of ['https://evil.example/apps/authorize/confirm', 'https://sellercentral.amazon.com.evil.example/x',
    `http://user:pw@${new URL(h.lwa.url).host}/apps/authorize/confirm`, 'not a url', 'javascript:alert(1)']) {
    const res = await forged(uri)
    t.equal(res.statusCode, 400, uri)
    t.notOk(res.headers.location, `${uri}: no redirect`)
    t.match(res.body, 'did not come from Amazon')
  }
  const posted = await h.app.inject({ method: 'POST', url: `/oauth/login?${new URLSearchParams({ amazon_callback_uri: 'https://evil.example/', amazon_state: 'a', selling_partner_id: 'A3ACME' })}`, payload: { link: 'AAAAAAAAAAAAAAAAAAAAAAAA' } })
  t.equal(posted.statusCode, 400, 'a link presented with a forged callback is not even looked at')
  const missing = await h.app.inject({ url: `/oauth/login?amazon_callback_uri=${encodeURIComponent(`${h.lwa.url}/apps/authorize/confirm`)}` })
  t.equal(missing.statusCode, 400, 'no amazon_state or seller')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'account_unknown')
})

t.test('a seller from another region: not re-authorized there, and a link for another region is refused', async (t) => {
  const h = await broker(t, { region: 'na' })
  const path = await fromSellerCentral(h)
  const asked = await h.app.inject({ url: path })
  t.equal(asked.statusCode, 403, 'A3ACME is connected in eu only: a new seller in na')
  const made = await h.app.inject({
    method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: { credential: 'sp-acme-eu' },
  })
  const refused = await h.app.inject({ method: 'POST', url: path, payload: { link: made.json().url as string } })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, 'This link is for the eu region, but this authorization came from the na region')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'region_mismatch')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0, 'nothing stored')
})

t.test('the callback must come back for the seller who signed in', async (t) => {
  const h = await broker(t)
  const login = await h.app.inject({ url: await fromSellerCentral(h) })
  const to = location({ headers: login.headers } as never)
  const page = await call(to.toString())
  const back = location(await decide(h.lwa, page.text, 'allow'))
  back.searchParams.set('selling_partner_id', 'A3SOMEONEELSE')
  h.logs.secrets.add(h.lwa.lastConsent?.refreshToken ?? '')
  const done = await callback(h, Object.fromEntries(back.searchParams), cookieOf(login))
  t.equal(done.statusCode, 403)
  t.match(done.body, 'this link is for account A3ACME')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0)
})

t.test('the default allow-list: each region\'s Seller and Vendor Central; a vendor\'s self-service credential is a vendor app\'s', async (t) => {
  const h = await broker(t, { region: 'fe', selfService: true })
  const stateOf = (location: string) => {
    const state = new URL(location).searchParams.get('state') ?? ''
    return JSON.parse(Buffer.from(state.split('.')[0] ?? '', 'base64url').toString('utf8'))
  }
  const from = (origin: string) => h.app.inject({
    url: `/oauth/login?${new URLSearchParams({ amazon_callback_uri: `${origin}/apps/authorize/confirm`, amazon_state: 'amz', selling_partner_id: 'A3VENDOR' })}`,
  })
  const vendor = await from('https://vendorcentral.amazon.de')
  t.equal(vendor.statusCode, 303)
  t.equal(new URL(vendor.headers.location as string).origin, 'https://vendorcentral.amazon.de')
  t.match(stateOf(vendor.headers.location as string), { create: { region: 'eu', vendor: true }, expectedAccount: 'A3VENDOR' })
  const seller = await from('https://sellercentral.amazon.com.mx')
  t.match(stateOf(seller.headers.location as string), { create: { region: 'na', vendor: false } })
  t.equal((await from('https://sellercentral.amazon.com.au')).statusCode, 400, 'a region configured replaces its defaults')
  t.equal((await from('http://sellercentral.amazon.com')).statusCode, 400, 'https only')
})

t.test('the Login URI shares the onboarding pages\' budget per address', async (t) => {
  const h = await onboardingBroker(t, { config: (c) => ({ ...c, rateLimit: { ...(c.rateLimit as object), onboardingMax: 3 } }) })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await h.app.inject({ url: '/oauth/login', remoteAddress: '10.3.3.3' })).statusCode)
  t.same(statuses, [400, 400, 400, 429])
  const posted = await h.app.inject({ method: 'POST', url: '/oauth/login', payload: { link: 'x' }, remoteAddress: '10.3.3.3' })
  t.equal(posted.statusCode, 429)
  t.match(posted.body, 'Too many requests from this address')
})
