// Onboarding end to end in a real headless browser: Debian's Chromium, driven by playwright-core,
// clicks through the broker's one-time link, the LWA emulator's consent page and the broker's
// callback, exactly as the person who owns the Amazon account would (see LWA.md, "Getting a
// refresh token"). npm run test:all installs Chromium; without it this file fails, it never skips.
import t from 'tap'
import type { BrowserContext, Cookie, Page } from 'playwright-core'
import { build, fixtures, seedEmulator, type Harness } from '../helper.js'
import { AdsEmulator } from '../support/ads-emulator.js'
import {
  assertNoToken, brokerHost, clickThrough, escapeRegExp, freePort, newPage, openLink, useChromium, visit, type Shown,
} from '../support/browser.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const applicationId = 'amzn1.sp.solution.test'
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const allCredentials = { claims: { sub: 'system:serviceaccount:platform:all' } }

const browser = useChromium(t)

interface Flow {
  h: Harness
  /** The broker as the browser reaches it. */
  publicUrl: string
  callbackUrl: string
  /** The LWA emulator's origin, where the consent pages are. */
  lwaUrl: string
  /** A fresh browser profile: no cookies from any other test. */
  newPage(): Promise<{ context: BrowserContext; page: Page }>
}

/** The real broker listening on a real port, onboarding configured against the emulator's consent pages. */
async function start(t: Test): Promise<Flow> {
  const active = browser()
  const port = await freePort()
  const publicUrl = `http://${brokerHost}:${port}`
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  // Whoever allows on the consent page is this advertiser: the broker reads it off the new token's profiles.
  const ads = await AdsEmulator.start({ lwa })
  t.teardown(() => ads.close())
  ads.setDefaultProfiles([advertiser])
  const lwaUrl = lwa.url
  const h = await build(t, {
    secretsBackend: 'aws',
    lwa,
    config: (c) => {
      const credentials = c.credentials as Record<string, Record<string, unknown>>
      return {
        ...c,
        // The broker's own host name is plain http://: Chromium maps it to loopback, the config cannot know that.
        allowInsecureEndpoints: true,
        ads: { endpoints: { na: ads.url, eu: ads.url, fe: ads.url } },
        onboarding: { publicUrl, consentUrls: { ads: { na: `${lwaUrl}/ap/oa` }, 'sp-api': { eu: `${lwaUrl}/apps/authorize/consent` } } },
        credentials: { ...credentials, 'sp-acme-eu': { ...credentials['sp-acme-eu'], onboarding: { applicationId, draft: true } } },
        policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
      }
    },
  })
  h.lwa.addApplication({ applicationId, clientId: fixtures.spClient.clientId })
  await h.app.listen({ host: '127.0.0.1', port })
  return {
    h, publicUrl, lwaUrl, callbackUrl: `${publicUrl}/oauth/callback`,
    newPage: () => newPage(t, active),
  }
}

const advertiser = {
  profileId: '3316636565473405', countryCode: 'US', currencyCode: 'USD', timezone: 'America/Los_Angeles',
  accountInfo: { marketplaceStringId: 'ATVPDKIKX0DER', id: 'A2ADVERTISER01', type: 'seller' as const, name: 'Acme', validPaymentMethod: true },
}

/**
 * The admin asks for a one-time link (POST /admin/onboarding). The credentials here are
 * connected already (their secrets hold refresh tokens), so the link may replace the account.
 */
async function link(t: Test, flow: Flow, credential: string): Promise<string> {
  const res = await flow.h.app.inject({
    method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await flow.h.jwt(admin)}` }, payload: { credential, replace: true },
  })
  t.equal(res.statusCode, 200, `onboarding link for ${credential}`)
  const body = res.json() as { url: string; expires_at: string }
  t.match(body.url, new RegExp(`^${escapeRegExp(flow.publicUrl)}/onboarding/[A-Za-z0-9_-]+$`))
  const expiresIn = Date.parse(body.expires_at) - flow.h.clock.now()
  t.ok(expiresIn > 0 && expiresIn <= 3600_000, `the link expires in ${expiresIn} ms`)
  return body.url
}

/** Clicks a consent button and waits for the broker's callback page the emulator redirects to. */
function click(flow: Flow, page: Page, button: '#allow' | '#deny'): Promise<Shown> {
  return clickThrough(page, button, flow.callbackUrl)
}

/**
 * Clicks Allow but keeps the browser from following Amazon's redirect back, and hands back the
 * callback URL it was sent to. (Playwright routes only the first request of a redirect chain, so
 * the decision POST itself is intercepted: sent on as it was, its 302 read, and not followed.)
 */
async function allowAndCatchCallback(flow: Flow, page: Page): Promise<string> {
  let caught: string | undefined
  await page.route((url) => url.href.startsWith(`${flow.lwaUrl}/`) && url.pathname.endsWith('/decision'), async (route) => {
    const response = await route.fetch({ maxRedirects: 0 })
    caught = response.headers().location
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<title>held</title>' })
  })
  await page.click('#allow')
  await page.waitForURL((url) => url.pathname.endsWith('/decision'))
  await page.unrouteAll({ behavior: 'wait' })
  if (caught === undefined || !caught.startsWith(flow.callbackUrl)) throw new Error(`the consent page did not redirect to the callback (${caught})`)
  return caught
}

function assertConsentPage(t: Test, flow: Flow, page: Shown, path: string): URL {
  t.equal(page.status, 200, 'the consent page')
  t.equal(page.title, 'Amazon (emulator): authorize')
  const url = new URL(page.url)
  t.equal(url.origin + url.pathname, flow.lwaUrl + path)
  t.equal(url.searchParams.get('redirect_uri'), flow.callbackUrl)
  t.ok((url.searchParams.get('state') ?? '').length >= 32, 'an unguessable state')
  return url
}

function assertConnected(t: Test, page: Shown, credential: string): void {
  t.equal(page.status, 200, 'the callback page')
  t.match(page.text, `Credential ${credential} is connected`)
  assertNoToken(t, page)
}

/** A clear failure page: a 4xx, words that say what happened, no token, not "connected". */
function assertFailurePage(t: Test, page: Shown, says: RegExp): void {
  t.ok(page.status >= 400 && page.status < 500, `a 4xx page (${page.status})`)
  t.match(page.text, says)
  t.notMatch(page.text, /is connected/)
  t.ok(page.title.length > 0, 'the page has a title')
  assertNoToken(t, page)
}

function secret(flow: Flow, id: string): Record<string, unknown> {
  return JSON.parse(flow.h.sm?.current(id)?.value ?? '{}') as Record<string, unknown>
}

function puts(flow: Flow): number {
  return flow.h.sm?.callCount({ operation: 'PutSecretValue' }) ?? -1
}

function onboardingEvents(flow: Flow): Array<Record<string, unknown>> {
  return flow.h.logs.find((r) => typeof r.event === 'string' && r.event.startsWith('onboarding.'))
}

/** The failure left its audit event, and no refresh token was stored anywhere. */
function assertRefused(t: Test, flow: Flow, reason: string, credential = 'ads-us'): void {
  t.match(onboardingEvents(flow).at(-1), { event: 'onboarding.failed', reason }, `audited as ${reason}`)
  t.equal(puts(flow), 0, 'nothing stored (no PutSecretValue)')
  t.equal(secret(flow, 'lwa/ads-us').refresh_token, fixtures.adsRefreshToken, 'the Ads secret is untouched')
  t.same(secret(flow, 'lwa/sellers/acme'), { refresh_token: fixtures.spRefreshToken }, 'the seller secret is untouched')
  t.notOk(onboardingEvents(flow).some((e) => e.event === 'onboarding.completed' && e.credential === credential), 'never completed')
}

async function bindingCookie(t: Test, flow: Flow, context: BrowserContext): Promise<Cookie> {
  const cookies = await context.cookies(flow.callbackUrl)
  t.equal(cookies.length, 1, 'one browser-binding cookie for the callback')
  const [cookie] = cookies
  if (!cookie) throw new Error('the broker set no cookie')
  return cookie
}

t.test('Ads: an admin link, Amazon\'s consent page, Allow: the refresh token is stored and GET /token uses it', async (t) => {
  const flow = await start(t)
  const { h } = flow
  // A token from the old refresh token is cached first, so what follows must really switch grants.
  const reporter = await h.jwt()
  const before = await h.getToken('ads-us', reporter)
  t.equal(before.statusCode, 200)

  const url = await link(t, flow, 'ads-us')
  const { context, page } = await flow.newPage()
  const consent = assertConsentPage(t, flow, await openLink(page, url), '/ap/oa')
  t.equal(consent.searchParams.get('client_id'), fixtures.adsClient.clientId)
  t.equal(consent.searchParams.get('scope'), 'advertising::campaign_management')
  t.equal(consent.searchParams.get('response_type'), 'code')
  t.match(await page.locator('#client').innerText(), fixtures.adsClient.clientId, 'the page names the client')
  const cookie = await bindingCookie(t, flow, context)
  t.equal(cookie.httpOnly, true, 'HttpOnly')
  t.equal(cookie.sameSite, 'Lax', 'SameSite=Lax: sent on Amazon\'s cross-site redirect back, not on cross-site POSTs')
  t.match(onboardingEvents(flow), [{ event: 'onboarding.started', credential: 'ads-us' }])

  const done = await click(flow, page, '#allow')
  assertConnected(t, done, 'ads-us')
  const consentGiven = h.lwa.lastConsent
  t.match(consentGiven, { kind: 'ads', clientId: fixtures.adsClient.clientId, redirectUri: flow.callbackUrl })
  const stored = secret(flow, 'lwa/ads-us')
  t.equal(stored.refresh_token, consentGiven?.refreshToken, 'the new refresh token is AWSCURRENT')
  t.equal(stored.client_id, fixtures.adsClient.clientId, 'other fields kept')
  t.equal(stored.client_secret, fixtures.adsClient.clientSecret, 'other fields kept')
  t.equal(puts(flow), 1, 'one new secret version')
  t.equal(h.sm?.versions('lwa/ads-us').length, 2, 'the old version is kept as history')
  t.equal(h.lwa.callCount({ grantType: 'authorization_code', ok: true }), 1, 'the code was exchanged once')
  t.match(onboardingEvents(flow).at(-1), { event: 'onboarding.completed', credential: 'ads-us' })
  t.same(await context.cookies(flow.callbackUrl), [], 'the binding cookie is gone once used')

  // The old grant is gone at Amazon; once the cached token expires only the new one can work.
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  h.clock.advance((h.lwa.expiresInSeconds + 1) * 1000)
  const after = await h.getToken('ads-us', await h.jwt())
  t.equal(after.statusCode, 200, 'GET /token works with the onboarded refresh token')
  t.not(after.json().access_token, before.json().access_token, 'a new access token')
  t.match(h.lwa.calls.at(-1), { grantType: 'refresh_token', clientId: fixtures.adsClient.clientId, status: 200 })
})

t.test('SP-API (draft app): the website workflow with version=beta; selling_partner_id is stored too', async (t) => {
  const flow = await start(t)
  const { h } = flow
  h.lwa.nextSellingPartnerId = 'A1ACMESELLER42'
  const { page } = await flow.newPage()
  const consent = assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'sp-acme-eu')), '/apps/authorize/consent')
  t.equal(consent.searchParams.get('application_id'), applicationId)
  t.equal(consent.searchParams.get('version'), 'beta', 'a draft app is authorised with version=beta')
  t.equal(consent.searchParams.get('client_id'), null, 'the website workflow names the application, not the client')
  t.match(await page.locator('#application').innerText(), applicationId)

  assertConnected(t, await click(flow, page, '#allow'), 'sp-acme-eu')
  t.match(h.lwa.lastConsent, { kind: 'sp-api', applicationId, version: 'beta', sellingPartnerId: 'A1ACMESELLER42' })
  t.same(secret(flow, 'lwa/sellers/acme'), { refresh_token: h.lwa.lastConsent?.refreshToken, selling_partner_id: 'A1ACMESELLER42', authorized_at: new Date(h.clock.now()).toISOString() })
  t.equal(puts(flow), 1)
  t.same(secret(flow, 'lwa/apps/sp'), { client_id: fixtures.spClient.clientId, client_secret: fixtures.spClient.clientSecret }, 'the app secret is not touched')

  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  const res = await h.getToken('sp-acme-eu', await h.jwt(allCredentials))
  t.equal(res.statusCode, 200, 'GET /token works with the onboarded refresh token')
  t.match(h.lwa.calls.at(-1), { grantType: 'refresh_token', clientId: fixtures.spClient.clientId, status: 200 })
})

t.test('Cancel on Amazon\'s page: a clear "declined" page, nothing stored', async (t) => {
  const flow = await start(t)
  const { page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'ads-us')), '/ap/oa')
  const done = await click(flow, page, '#deny')
  t.equal(new URL(done.url).searchParams.get('error'), 'access_denied')
  assertFailurePage(t, done, /declined/i)
  assertRefused(t, flow, 'declined')
  t.equal(flow.h.lwa.lastConsent, undefined)
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code' }), 0)
})

t.test('a link works once and not after it expires', async (t) => {
  const flow = await start(t)
  const url = await link(t, flow, 'ads-us')
  const { page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, url), '/ap/oa')

  // Opened again, in the same browser or another one: refused before anything reaches Amazon.
  const again = await visit(page, url)
  t.equal(new URL(again.url).origin, flow.publicUrl, 'not redirected to Amazon')
  assertFailurePage(t, again, /already used|expired/i)
  const elsewhere = await flow.newPage()
  assertFailurePage(t, await visit(elsewhere.page, url), /already used|expired/i)
  assertRefused(t, flow, 'link_invalid')

  const late = await link(t, flow, 'ads-us')
  flow.h.clock.advance(flow.h.config.onboarding!.linkTtlSeconds * 1000 + 1)
  assertFailurePage(t, await visit(page, late), /already used|expired/i)
  assertRefused(t, flow, 'link_invalid')
  t.equal(flow.h.lwa.callCount(), 0, 'nothing reached LWA')
})

t.test('a callback replayed after success is refused and stores nothing more', async (t) => {
  const flow = await start(t)
  const { context, page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'ads-us')), '/ap/oa')
  const cookie = await bindingCookie(t, flow, context)
  const done = await click(flow, page, '#allow')
  assertConnected(t, done, 'ads-us')
  const connected = secret(flow, 'lwa/ads-us')

  // Reloading the page (or the back button) after success.
  const reload = await visit(page, done.url)
  assertFailurePage(t, reload, /.+/)
  // Even with the browser-binding cookie restored, the state is single-use.
  await context.addCookies([cookie])
  const replay = await visit(page, done.url)
  assertFailurePage(t, replay, /already|used/i)
  t.match(onboardingEvents(flow).at(-1), { event: 'onboarding.failed', reason: 'state_reused' })
  t.equal(puts(flow), 1, 'still exactly one PutSecretValue')
  t.same(secret(flow, 'lwa/ads-us'), connected, 'the stored secret is what the first callback wrote')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code' }), 1, 'the code was not sent to LWA again')
})

t.test('a tampered or foreign state is refused; the rightful callback still completes', async (t) => {
  const flow = await start(t)
  const { page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'ads-us')), '/ap/oa')
  const genuine = new URL(await allowAndCatchCallback(flow, page))
  const state = genuine.searchParams.get('state') ?? ''

  const tamper = (value: string): string => {
    const url = new URL(genuine)
    url.searchParams.set('state', value)
    return url.toString()
  }
  const middle = Math.floor(state.length / 2)
  const flipped = state.slice(0, middle) + (state[middle] === 'A' ? 'B' : 'A') + state.slice(middle + 1)
  for (const [name, value] of [['one character changed', flipped], ['truncated', state.slice(0, -4)], ['empty', '']] as const) {
    assertFailurePage(t, await visit(page, tamper(value)), /not valid|invalid/i)
    t.match(onboardingEvents(flow).at(-1), { event: 'onboarding.failed' }, name)
  }
  const noState = new URL(genuine)
  noState.searchParams.delete('state')
  assertFailurePage(t, await visit(page, noState.toString()), /not valid|invalid/i)

  // A real, signed state from another flow (another credential, another browser).
  const other = await flow.newPage()
  await openLink(other.page, await link(t, flow, 'sp-acme-eu'))
  const foreign = new URL(other.page.url()).searchParams.get('state') ?? ''
  assertFailurePage(t, await visit(page, tamper(foreign)), /.+/)
  assertRefused(t, flow, 'other_browser')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code' }), 0, 'no code was exchanged')

  assertConnected(t, await visit(page, genuine.toString()), 'ads-us')
  t.equal(puts(flow), 1)
})

t.test('a callback finished in another browser is refused (CSRF binding); the rightful browser still can', async (t) => {
  const flow = await start(t)
  const victim = await flow.newPage()
  assertConsentPage(t, flow, await openLink(victim.page, await link(t, flow, 'ads-us')), '/ap/oa')
  const callback = await allowAndCatchCallback(flow, victim.page)

  const attacker = await flow.newPage()
  t.same(await attacker.context.cookies(flow.callbackUrl), [], 'the other browser has no binding cookie')
  assertFailurePage(t, await visit(attacker.page, callback), /browser/i)
  assertRefused(t, flow, 'other_browser')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code' }), 0, 'the code was not exchanged')

  assertConnected(t, await visit(victim.page, callback), 'ads-us')
  t.equal(secret(flow, 'lwa/ads-us').refresh_token, flow.h.lwa.lastConsent?.refreshToken)
  t.equal(puts(flow), 1)
})

t.test('an expired code: LWA answers invalid_grant, the page says so, nothing stored', async (t) => {
  const flow = await start(t)
  const { page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'ads-us')), '/ap/oa')
  // The person took longer than a code lives: Amazon hands out a code that is already dead.
  flow.h.lwa.consentCodeTtlMs = 0
  const done = await click(flow, page, '#allow')
  assertFailurePage(t, done, /code/i)
  t.match(done.text, /expire|new link/i, 'says what to do')
  assertRefused(t, flow, 'code_rejected')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code', error: 'invalid_grant' }), 1, 'the broker did try the code')

  // A code LWA never issued, on a valid state and cookie, ends the same way.
  const second = await flow.newPage()
  assertConsentPage(t, flow, await openLink(second.page, await link(t, flow, 'ads-us')), '/ap/oa')
  const forged = new URL(await allowAndCatchCallback(flow, second.page))
  forged.searchParams.set('code', 'ANneverIssuedCode0000')
  assertFailurePage(t, await visit(second.page, forged.toString()), /code/i)
  assertRefused(t, flow, 'code_rejected')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code', error: 'invalid_grant' }), 2)
})

t.test('a state that expired while the person was on Amazon\'s page is refused', async (t) => {
  const flow = await start(t)
  const { page } = await flow.newPage()
  assertConsentPage(t, flow, await openLink(page, await link(t, flow, 'ads-us')), '/ap/oa')
  flow.h.clock.advance(flow.h.config.onboarding!.stateTtlSeconds * 1000 + 1)
  const done = await click(flow, page, '#allow')
  assertFailurePage(t, done, /expired/i)
  assertRefused(t, flow, 'state_expired')
  t.equal(flow.h.lwa.callCount({ grantType: 'authorization_code' }), 0, 'the code was not exchanged')
})
