// Onboarding end to end in a real headless browser across a deployment: two brokers sharing one
// Redis, one Secrets Manager and one LWA, each on its own port under the broker's host name (a
// load balancer's two backends). The admin's link is made on replica A; the browser is sent to
// replica B, which uses the link up and sends it to Amazon; Amazon sends it back to the deployment's
// public URL, served here by replica A, which exchanges the code and creates the credential the
// consent was for. Both replicas then serve it, and neither takes the callback a second time.
// Without Chromium this file fails, it never skips (test/support/browser.ts).
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build, fixtures, seedEmulator, type Harness } from '../helper.js'
import {
  assertNoToken, brokerHost, clickThrough, escapeRegExp, freePort, newPage, openLink, useChromium, visit,
} from '../support/browser.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { RedisServer } from '../support/redis-server.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const applicationId = 'amzn1.sp.solution.test'
const prefix = 'lwa-broker/sellers/'
const spCreate = {
  name: 'sp-{account}-{region}', api: 'sp-api', region: 'eu', app: 'lwa/apps/sp',
  application_id: applicationId, draft: true, labels: { team: 'marketplaces' },
}
/** How long replica B may take to serve what replica A created: the peer event plus one listing. */
const convergeWithinMs = 10_000

const browser = useChromium(t)

const origin = (h: Harness): string => `http://${brokerHost}:${(h.app.server.address() as AddressInfo).port}`

/** The same URL on another replica: what the load balancer does when it picks that backend. */
function via(h: Harness, url: string): string {
  const moved = new URL(url)
  moved.port = new URL(origin(h)).port
  return moved.toString()
}

const onboardingEvents = (h: Harness, event: string) => h.logs.find((r) => r.event === `onboarding.${event}`)

/**
 * GET /token on a replica until it answers 200: a credential another replica created is
 * served once this one has listed the catalogue, which the Redis peer event asks for at once.
 * (The harness never starts the listing interval, so only that event can tell it in time.)
 */
async function tokenOnceKnown(t: Test, h: Harness, replica: string, credential: string): Promise<void> {
  const deadline = Date.now() + convergeWithinMs
  for (;;) {
    const res = await h.getToken(credential, await h.jwt(platform))
    if (res.statusCode === 200) {
      t.pass(`replica ${replica} serves ${credential}`)
      return
    }
    if (Date.now() > deadline) {
      t.fail(`replica ${replica} still does not serve ${credential} after ${convergeWithinMs} ms (last answer ` +
        `${res.statusCode}: ${res.body}): the catalogue_changed peer event through Redis did not reach it, ` +
        'or its listing did not find the new secret')
      return
    }
    await sleep(25)
  }
}

t.test('a create link made on replica A, opened on B, called back on A: connected, tagged, served by both', async (t) => {
  // Started here, not at the top: a file whose Chromium is missing must fail at once, not wait on a live child.
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  lwa.addApplication({ applicationId, clientId: fixtures.spClient.clientId })
  const seller = 'A3BROWSERSELLER'
  lwa.nextSellingPartnerId = seller

  // One public URL for the deployment, as every replica is configured; it leads to replica A here.
  const portA = await freePort()
  const publicUrl = `http://${brokerHost}:${portA}`
  const callbackUrl = `${publicUrl}/oauth/callback`
  const config = (c: Record<string, unknown>) => ({
    ...c,
    // The broker's own host name is plain http://: Chromium maps it to loopback, the config cannot know that.
    allowInsecureEndpoints: true,
    catalogue: { namePrefix: prefix },
    onboarding: {
      publicUrl, consentUrls: { 'sp-api': { eu: `${lwa.url}/apps/authorize/consent` } },
      newCredentials: { secretNamePrefix: prefix },
    },
    policy: [...(c.policy as unknown[]), { subject: admin.claims.sub, admin: true }],
  })
  const shared = { connection: redis.connection, key: randomBytes(32), keyPrefix: 'onboarding-browser-replicas:' }
  const a = await build(t, { secretsBackend: 'aws', lwa, config, redis: shared })
  const b = await build(t, { secretsBackend: 'aws', lwa, config, redis: shared, clock: a.clock, sm: a.sm })
  const sm = a.sm
  if (!sm) throw new Error('no Secrets Manager emulator')
  await a.app.listen({ host: '127.0.0.1', port: portA })
  await b.app.listen({ host: '127.0.0.1', port: 0 })
  t.not(origin(b), origin(a), 'each replica on its own port')

  const credential = `sp-${seller}-eu`
  const secretName = `${prefix}${credential}`
  for (const h of [a, b]) t.equal((await h.getToken(credential, await h.jwt(platform))).statusCode, 404, 'not a credential yet')

  const made = await a.app.inject({
    method: 'POST', url: '/admin/onboarding', payload: { create: spCreate },
    headers: { authorization: `Bearer ${await a.jwt(admin)}` },
  })
  t.equal(made.statusCode, 200, 'the link is made on replica A')
  const link = made.json().url as string
  t.match(link, new RegExp(`^${escapeRegExp(publicUrl)}/onboarding/[A-Za-z0-9_-]+$`), 'under the public URL')

  // The browser reaches replica B: its page, its button, its cookie, its redirect to Amazon.
  const { context, page } = await newPage(t, browser())
  const linkOnB = via(b, link)
  const consent = await openLink(page, linkOnB)
  t.equal(consent.status, 200, 'the consent page')
  t.equal(consent.title, 'Amazon (emulator): authorize')
  const consentUrl = new URL(consent.url)
  t.equal(consentUrl.origin + consentUrl.pathname, `${lwa.url}/apps/authorize/consent`, 'the configured SP-API consent page')
  t.equal(consentUrl.searchParams.get('application_id'), applicationId)
  t.equal(consentUrl.searchParams.get('version'), 'beta', 'a draft app')
  t.equal(consentUrl.searchParams.get('redirect_uri'), callbackUrl, 'Amazon is to send the browser back to the public URL')
  t.match(onboardingEvents(b, 'started'), [{ event: 'onboarding.started' }], 'replica B used the link up')
  t.same(onboardingEvents(a, 'started'), [], 'replica A did not see the browser')
  const cookies = await context.cookies(callbackUrl)
  t.equal(cookies.length, 1, 'replica B\'s browser-binding cookie is sent to replica A\'s callback (cookies ignore ports)')
  const [cookie] = cookies
  if (!cookie) throw new Error('replica B set no cookie')

  // Allow: the emulator redirects to redirect_uri, replica A's callback.
  const done = await clickThrough(page, '#allow', callbackUrl)
  t.equal(new URL(done.url).origin, origin(a), 'the callback is served by replica A')
  t.equal(done.status, 200, 'the callback page')
  t.match(done.text, `Credential ${credential} is connected to Amazon account ${seller}`)
  assertNoToken(t, done)
  const consentGiven = lwa.lastConsent
  t.match(consentGiven, { kind: 'sp-api', applicationId, version: 'beta', sellingPartnerId: seller, redirectUri: callbackUrl })
  const refreshToken = consentGiven?.refreshToken ?? ''
  t.ok(refreshToken.startsWith('Atzr|'), 'a refresh token from the consent')
  for (const h of [a, b]) h.logs.secrets.add(refreshToken)
  t.match(onboardingEvents(a, 'completed'), [{ credential, account: seller }], 'replica A completed it')
  t.same(onboardingEvents(b, 'completed'), [])
  t.equal(lwa.callCount({ grantType: 'authorization_code', ok: true }), 1, 'the code was exchanged once')

  t.same(sm.tags(secretName), {
    'lwa-broker:credential': credential, 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'eu',
    'lwa-broker:app': 'lwa/apps/sp', 'lwa-broker:selling-partner-id': seller,
    'lwa-broker:application-id': applicationId, 'lwa-broker:draft': 'true', 'lwa-broker:label:team': 'marketplaces',
  }, 'the new secret\'s tags declare the credential, pinned to its seller')
  t.match(JSON.parse(sm.current(secretName)?.value ?? '{}'), {
    refresh_token: refreshToken, selling_partner_id: seller, authorized_at: new Date(a.clock.now()).toISOString(),
  }, 'the new secret holds the grant')
  t.equal(sm.callCount({ operation: 'CreateSecret' }), 1, 'created once')

  t.equal((await a.getToken(credential, await a.jwt(platform))).statusCode, 200, `replica A serves ${credential}`)
  await tokenOnceKnown(t, b, 'B', credential)

  // The same callback on replica B: reloaded as it is (A cleared the cookie), then with the cookie put back.
  const replay = via(b, done.url)
  for (const [how, restore] of [['reloaded', false], ['with the cookie restored', true]] as const) {
    if (restore) await context.addCookies([cookie])
    const again = await visit(page, replay)
    t.equal(new URL(again.url).origin, origin(b), `${how}: on replica B`)
    t.equal(again.status, 400, `${how}: refused`)
    t.match(again.text, /already completed or used/, how)
    t.notMatch(again.text, /is connected/)
    assertNoToken(t, again)
    t.match(onboardingEvents(b, 'failed').at(-1), { reason: 'state_reused' }, `${how}: audited on replica B`)
  }
  t.equal(sm.callCount({ operation: 'CreateSecret' }), 1, 'nothing created again')
  t.equal(sm.callCount({ operation: 'PutSecretValue' }), 0, 'nothing written again')
  t.equal(JSON.parse(sm.current(secretName)?.value ?? '{}').refresh_token, refreshToken, 'the secret is what A wrote')
  t.equal(lwa.callCount({ grantType: 'authorization_code' }), 1, 'the code was not sent to LWA again')
})
