// Seller Central's seller-initiated pages, driven over plain HTTP as a browser would: the
// Appstore or Manage Your Apps page, the app's Login URI (played here by the test), the
// confirm page, and the redirect back with a code the token endpoint exchanges.
import t from 'tap'
import type { Test } from 'tap'
import { call, type Answer } from './api-test-client.js'
import { LwaEmulator } from './lwa-emulator.js'
import { decide, formOf, linkOf, location } from './page-client.js'
import type { AppstoreStart } from './seller-central.js'

const clientId = 'amzn1.application-oa2-client.appstore'
const clientSecret = 'secret-appstore'
const applicationId = 'amzn1.sp.solution.appstore-test'
const loginUri = 'https://broker.example/onboarding/login?tenant=acme'
const redirectUri = 'https://broker.example/onboarding/callback'
const sellingPartnerId = 'A2SELLERAPPSTORE'
const seller = { applicationId, loginUri, sellingPartnerId }

async function start(t: Test): Promise<LwaEmulator> {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  lwa.addClient({ clientId, clientSecret })
  lwa.addApplication({ applicationId, clientId })
  return lwa
}

/** Opens Seller Central's page and follows its button: the request the app's Login URI receives. */
async function toLoginUri(lwa: LwaEmulator, over: Partial<AppstoreStart> = {}): Promise<URL> {
  const url = lwa.startAppstoreAuthorization({ ...seller, flavour: 'appstore', ...over })
  const page = await call(url)
  if (page.status !== 200) throw new Error(`Seller Central's page answered ${page.status}`)
  return linkOf(page.text, 'authorize')
}

/** What the app does on its Login URI: back to amazon_callback_uri with its own parameters. */
function confirm(login: URL, params: Record<string, string>): Promise<Answer> {
  const callback = new URL(login.searchParams.get('amazon_callback_uri') ?? '')
  for (const [name, value] of Object.entries(params)) callback.searchParams.append(name, value)
  return call(callback.toString())
}

const amazonStateOf = (login: URL): string => login.searchParams.get('amazon_state') ?? ''
const appParams = (login: URL, over: Record<string, string> = {}): Record<string, string> =>
  ({ redirect_uri: redirectUri, amazon_state: amazonStateOf(login), state: 'broker-state', ...over })

/** The parameters of a URL as name → value, with the Login URI's own query left out. */
const query = (url: URL, without: readonly string[] = []): Record<string, string> =>
  Object.fromEntries([...url.searchParams].filter(([name]) => !without.includes(name)))

t.test('Appstore "Authorize now": each step carries exactly the documented parameters', async (t) => {
  const lwa = await start(t)
  const login = await toLoginUri(lwa)
  const [issued] = lwa.sellerCentral.authorizations
  t.equal(`${login.origin}${login.pathname}`, 'https://broker.example/onboarding/login', 'to the Login URI')
  t.same(query(login), {
    tenant: 'acme',
    amazon_callback_uri: `${lwa.url}/apps/authorize/confirm`,
    amazon_state: issued?.amazonState,
    selling_partner_id: sellingPartnerId,
  }, 'its own query kept, and no version for a published app')

  const page = await confirm(login, appParams(login))
  t.equal(page.status, 200)
  t.same(lwa.sellerCentral.confirmations, [appParams(login)], 'what the confirm page received')
  t.match(page.text, applicationId)
  t.match(page.text, sellingPartnerId)
  t.same(formOf(page.text), { action: '/apps/authorize/confirm', fields: appParams(login) })

  const back = location(await decide(lwa, page.text, 'allow'))
  t.equal(`${back.origin}${back.pathname}`, redirectUri)
  const code = back.searchParams.get('spapi_oauth_code') ?? ''
  t.same(query(back), { state: 'broker-state', selling_partner_id: sellingPartnerId, spapi_oauth_code: code })
  t.match(lwa.lastConsent, { kind: 'sp-api', code, sellingPartnerId, state: 'broker-state', clientId, applicationId })
  t.equal(lwa.lastConsent?.redirectUri, redirectUri)
  t.equal(lwa.lastConsent?.version, undefined)

  const exchange = await call(lwa.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri,
      client_id: clientId, client_secret: clientSecret,
    }).toString(),
  })
  t.equal(exchange.status, 200, 'the code exchanges for the app\'s client and redirect_uri')
  const { access_token: accessToken, refresh_token: refreshToken } = exchange.json() as Record<string, string>
  t.equal(refreshToken, lwa.lastConsent?.refreshToken, 'for the refresh token the consent granted')
  t.equal(lwa.grantOf(accessToken ?? '')?.sellingPartnerId, sellingPartnerId, 'which belongs to the seller who started')
})

t.test('yearly "Re-authorize" for a draft app: version=beta goes out and must come back', async (t) => {
  const lwa = await start(t)
  const url = lwa.startAppstoreAuthorization({ ...seller, draft: true, flavour: 'reauthorize' })
  const manage = await call(url)
  t.match(manage.text, 'Manage Your Apps')
  t.match(manage.text, '>Re-authorize</a>')
  const login = linkOf(manage.text, 'authorize')
  t.equal(login.searchParams.get('version'), 'beta')
  t.match((await confirm(login, appParams(login))).text, 'expected version=beta', 'refused without version=beta')
  const page = await confirm(login, appParams(login, { version: 'beta' }))
  t.equal(page.status, 200)
  t.match(page.text, '(draft)')
  const back = location(await decide(lwa, page.text, 'allow'))
  t.equal(back.searchParams.get('version'), null, 'the redirect carries no version')
  t.match(lwa.lastConsent, { sellingPartnerId, version: 'beta' })

  const published = await toLoginUri(lwa)
  const withVersion = await confirm(published, appParams(published, { version: 'beta' }))
  t.equal(withVersion.status, 400, 'a published app\'s flow refuses version=beta')
  t.match(withVersion.text, 'expected no version')
})

t.test('the confirm page refuses what it did not issue and what the app left out', async (t) => {
  const lwa = await start(t)
  const login = await toLoginUri(lwa)
  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['an unknown amazon_state', appParams(login, { amazon_state: 'forged' }), /amazon_state/],
    ['no amazon_state', appParams(login, { amazon_state: '' }), /amazon_state/],
    ['no state', appParams(login, { state: '' }), /state/],
    ['no redirect_uri', appParams(login, { redirect_uri: '' }), /redirect_uri/],
    ['a redirect_uri that is not http(s)', appParams(login, { redirect_uri: 'javascript:alert(1)' }), /redirect_uri/],
  ]
  for (const [what, params, message] of refusals) {
    const answer = await confirm(login, params)
    t.equal(answer.status, 400, what)
    t.match(answer.text, message, `${what}: the page says what is wrong`)
  }
  const twice = new URL(`${lwa.url}/apps/authorize/confirm?` + new URLSearchParams(appParams(login)).toString())
  twice.searchParams.append('state', 'another')
  t.equal((await call(twice.toString())).status, 400, 'a parameter given twice')
  t.equal((await call(`${lwa.url}/apps/authorize/appstore?amazon_state=forged`)).status, 400, 'a start never made')
  t.equal((await call(`${lwa.url}/apps/authorize/appstore`, { method: 'POST' })).status, 405)
  t.equal((await call(`${lwa.url}/apps/authorize/confirm`, { method: 'PUT' })).status, 405)
  const unknownApp = { ...seller, applicationId: 'amzn1.sp.solution.nobody', flavour: 'appstore' } as const
  t.throws(() => lwa.startAppstoreAuthorization(unknownApp), TypeError, 'an unknown application is a test\'s mistake')
  t.equal(lwa.lastConsent, undefined, 'nothing was granted')
})

t.test('Cancel sends access_denied with state; a decided amazon_state is used up', async (t) => {
  const lwa = await start(t)
  const login = await toLoginUri(lwa)
  const page = await confirm(login, appParams(login))
  t.equal((await decide(lwa, page.text, undefined)).status, 400, 'a form without a decision')
  const back = location(await decide(lwa, page.text, 'deny'))
  t.same(query(back), {
    error: 'access_denied', error_description: 'The user denied the authorization request', state: 'broker-state',
  })
  t.equal((await decide(lwa, page.text, 'allow')).status, 400, 'the decision cannot be made again')
  t.equal((await confirm(login, appParams(login))).status, 400, 'nor the confirm page opened again')
  const startPage = await call(`${lwa.url}/apps/authorize/appstore?amazon_state=${amazonStateOf(login)}`)
  t.equal(startPage.status, 400, 'nor Seller Central\'s page')
  t.equal(lwa.lastConsent, undefined, 'nothing was granted')

  const again = await toLoginUri(lwa)
  t.not(amazonStateOf(again), amazonStateOf(login), 'each start has its own amazon_state')
  t.equal((await decide(lwa, (await confirm(again, appParams(again))).text, 'allow')).status, 302, 'and completes')
})
