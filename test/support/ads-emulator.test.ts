import t from 'tap'
import type { Test } from 'tap'
import { FakeClock } from './fake-clock.js'
import { LwaEmulator } from './lwa-emulator.js'
import { AdsEmulator, clientIdMismatchDetails, invalidTokenMessage } from './ads-emulator.js'
import type { AdsCampaign, AdsProfile } from './ads-emulator.js'
import { call, grantless, refreshGrant } from './api-test-client.js'
import type { Answer } from './api-test-client.js'

const clientId = 'amzn1.application-oa2-client.ads'
const clientSecret = 'ads-secret'
const refreshToken = 'Atzr|advertiser-one'
// Beyond 2^53: JSON.parse would turn it into ...992.
const bigProfileId = '9007199254740993'

const usProfile: AdsProfile = {
  profileId: '3316636565473405',
  countryCode: 'US',
  currencyCode: 'USD',
  dailyBudget: 100.5,
  timezone: 'America/Los_Angeles',
  accountInfo: { marketplaceStringId: 'ATVPDKIKX0DER', id: 'A2ABCDEF123456', type: 'seller', name: 'Seller One', validPaymentMethod: true },
}
const ukProfile: AdsProfile = {
  profileId: BigInt(bigProfileId),
  countryCode: 'UK',
  currencyCode: 'GBP',
  timezone: 'Europe/London',
  accountInfo: { marketplaceStringId: 'A1F83G8C2ARO7P', id: 'ENTITY1ABCDEF', type: 'vendor', name: 'Vendor UK', validPaymentMethod: false },
}
const campaign: AdsCampaign = {
  campaignId: '144147368340394165', name: 'Spring sale', campaignType: 'sponsoredProducts', targetingType: 'manual',
  state: 'enabled', dailyBudget: 25, startDate: '20260301',
}

interface Ctx { clock: FakeClock; lwa: LwaEmulator; ads: AdsEmulator; token: string }

async function start(t: Test): Promise<Ctx> {
  const clock = new FakeClock()
  const lwa = await LwaEmulator.start({ clock })
  const ads = await AdsEmulator.start({ lwa, clock })
  t.teardown(async () => {
    await ads.close()
    await lwa.close()
  })
  lwa.addClient({ clientId, clientSecret })
  lwa.addRefreshToken({ refreshToken, clientId })
  ads.setProfiles(refreshToken, [usProfile, ukProfile])
  return { clock, lwa, ads, token: await refreshGrant(lwa, { clientId, clientSecret, refreshToken }) }
}

function get(ctx: Ctx, path: string, headers: Record<string, string>): Promise<Answer> {
  return call(ctx.ads.url + path, { headers })
}

const auth = (ctx: Ctx, over: Record<string, string> = {}): Record<string, string> =>
  ({ authorization: `Bearer ${ctx.token}`, 'amazon-advertising-api-clientid': clientId, ...over })

t.test('GET /v2/profiles lists the profiles of the refresh token, ids digit for digit', async (t) => {
  const ctx = await start(t)
  const answer = await get(ctx, '/v2/profiles', auth(ctx))
  t.equal(answer.status, 200)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.match(answer.text, /^\[\{"profileId":3316636565473405,"countryCode":"US"/)
  t.match(answer.text, `{"profileId":${bigProfileId},"countryCode":"UK"`, 'a raw JSON integer, not a string')
  const parsed = answer.json() as Array<Record<string, unknown>>
  t.not(String(parsed[1]?.profileId), bigProfileId, 'JSON.parse loses the digits, as it would against Amazon')
  t.same(parsed[0], { ...usProfile, profileId: 3316636565473405 })
  t.same(parsed[1], { ...ukProfile, profileId: Number(bigProfileId) })
  t.notOk('dailyBudget' in (parsed[1] ?? {}))
  t.match(ctx.ads.calls, [{ operation: 'listProfiles', status: 200, clientId, refreshToken }])
})

t.test('profiles belong to refresh tokens: others see theirs or none', async (t) => {
  const ctx = await start(t)
  ctx.lwa.addRefreshToken({ refreshToken: 'Atzr|advertiser-two', clientId })
  ctx.lwa.addRefreshToken({ refreshToken: 'Atzr|no-profiles', clientId })
  ctx.ads.setProfiles('Atzr|advertiser-two', [{ ...usProfile, profileId: 42n }])
  const two = await refreshGrant(ctx.lwa, { clientId, clientSecret, refreshToken: 'Atzr|advertiser-two' })
  t.match((await get(ctx, '/v2/profiles', auth(ctx, { authorization: `Bearer ${two}` }))).text, /^\[\{"profileId":42,/)
  const none = await refreshGrant(ctx.lwa, { clientId, clientSecret, refreshToken: 'Atzr|no-profiles' })
  t.equal((await get(ctx, '/v2/profiles', auth(ctx, { authorization: `Bearer ${none}` }))).text, '[]')
  ctx.ads.setProfiles(refreshToken, [])
  t.equal((await get(ctx, '/v2/profiles', auth(ctx))).text, '[]', 'setProfiles replaces')
})

t.test('ids must be 64-bit integers given as digits or bigint', async (t) => {
  const ctx = await start(t)
  const bad: unknown[] = [3316636565473405, '01', '-1', '12a', '', '9223372036854775808', 2n ** 64n]
  for (const profileId of bad) {
    t.throws(() => ctx.ads.setProfiles(refreshToken, [{ ...usProfile, profileId: profileId as string }]), TypeError, String(profileId))
  }
  t.doesNotThrow(() => ctx.ads.setProfiles(refreshToken, [{ ...usProfile, profileId: '9223372036854775807' }]))
  t.throws(() => ctx.ads.setCampaigns(3 as unknown as string, []), { name: 'TypeError', message: /profileId/ })
})

t.test('Amazon-Advertising-API-ClientId: missing is 400, another client is 401', async (t) => {
  const ctx = await start(t)
  const missing = await get(ctx, '/v2/profiles', { authorization: `Bearer ${ctx.token}` })
  t.equal(missing.status, 400)
  t.match(missing.json(), { code: '400', details: /Amazon-Advertising-API-ClientId/, requestId: /^[0-9A-F-]{36}$/ })
  const wrong = await get(ctx, '/v2/profiles', auth(ctx, { 'amazon-advertising-api-clientid': 'amzn1.application-oa2-client.other' }))
  t.equal(wrong.status, 401)
  t.match(wrong.json(), { code: 'UNAUTHORIZED', details: clientIdMismatchDetails })
  t.equal(ctx.ads.callCount({ status: 401, clientId: 'amzn1.application-oa2-client.other' }), 1)
})

t.test('a missing, refresh, forged, grantless or expired token is the classic 401', async (t) => {
  const ctx = await start(t)
  const rotation = await grantless(ctx.lwa, { clientId, clientSecret, scope: 'sellingpartnerapi::notifications' })
  const cases: Array<[string, Record<string, string>]> = [
    ['no Authorization', { 'amazon-advertising-api-clientid': clientId }],
    ['not Bearer', auth(ctx, { authorization: ctx.token })],
    ['the refresh token', auth(ctx, { authorization: `Bearer ${refreshToken}` })],
    ['forged', auth(ctx, { authorization: 'Bearer Atza|forged' })],
    ['grantless', auth(ctx, { authorization: `Bearer ${rotation}` })],
  ]
  for (const [name, headers] of cases) {
    const answer = await get(ctx, '/v2/profiles', headers)
    t.equal(answer.status, 401, name)
    t.same(answer.json(), { message: invalidTokenMessage }, name)
  }
  t.equal((await get(ctx, '/v2/profiles', auth(ctx, { authorization: `bearer ${ctx.token}` }))).status, 200, 'the scheme is case-insensitive')
  ctx.clock.advance(3600_000)
  t.same((await get(ctx, '/v2/profiles', auth(ctx))).json(), { message: invalidTokenMessage }, 'expired')
  t.match(invalidTokenMessage, /^Unauthorized exception while handling 3P Request: .*Invalid token$/)
})

t.test('GET /v2/campaigns needs Amazon-Advertising-API-Scope naming a profile of the refresh token', async (t) => {
  const ctx = await start(t)
  ctx.ads.setCampaigns('3316636565473405', [campaign])
  const answer = await get(ctx, '/v2/campaigns', auth(ctx, { 'amazon-advertising-api-scope': '3316636565473405' }))
  t.equal(answer.status, 200)
  t.match(answer.text, /^\[\{"campaignId":144147368340394165,"name":"Spring sale"/)
  t.match(ctx.ads.calls.at(-1), { operation: 'listCampaigns', status: 200, profileId: '3316636565473405' })
  const empty = await get(ctx, '/v2/campaigns', auth(ctx, { 'amazon-advertising-api-scope': bigProfileId }))
  t.equal(empty.text, '[]', 'a profile without campaigns')

  const noScope = await get(ctx, '/v2/campaigns', auth(ctx))
  t.equal(noScope.status, 400)
  t.match(noScope.json(), { code: '400', details: /Scope/ })
  t.equal((await get(ctx, '/v2/campaigns', auth(ctx, { 'amazon-advertising-api-scope': 'profile-1' }))).status, 400)
  const foreign = await get(ctx, '/v2/campaigns', auth(ctx, { 'amazon-advertising-api-scope': '123456789' }))
  t.equal(foreign.status, 401)
  t.match(foreign.json(), { code: 'UNAUTHORIZED', details: /does not have access to profile: 123456789/ })
  t.equal((await get(ctx, '/v2/campaigns', { 'amazon-advertising-api-scope': '3316636565473405', 'amazon-advertising-api-clientid': clientId })).status, 401,
    'the token is checked before the scope')
  t.equal(ctx.ads.callCount({ operation: 'listCampaigns', profileId: '123456789' }), 1)
})

t.test('faults, unknown paths, reset() and the call log', async (t) => {
  const ctx = await start(t)
  ctx.ads.failNext({ kind: 'status', status: 429, retryAfter: '3' }, 1, 'listCampaigns')
  ctx.ads.failNext({ kind: 'status', status: 500, code: 'INTERNAL_ERROR', details: 'boom' })
  const first = await get(ctx, '/v2/profiles', auth(ctx))
  t.equal(first.status, 500, 'the campaign fault waits for a campaign call')
  t.match(first.json(), { code: 'INTERNAL_ERROR', details: 'boom' })
  const throttled = await get(ctx, '/v2/campaigns', auth(ctx))
  t.equal(throttled.status, 429)
  t.equal(throttled.headers['retry-after'], '3')
  t.match(throttled.json(), { code: '429', details: 'Too Many Requests' })
  ctx.ads.failNext({ kind: 'status', status: 599 })
  t.match((await get(ctx, '/v2/profiles', auth(ctx))).json(), { code: '599', details: 'Error' })

  ctx.ads.failNext({ kind: 'reset' })
  await t.rejects(get(ctx, '/v2/profiles', auth(ctx)), { code: 'ECONNRESET' })
  ctx.ads.failNext({ kind: 'slow', ms: 30 })
  const started = Date.now()
  t.equal((await get(ctx, '/v2/profiles', auth(ctx))).status, 200)
  t.ok(Date.now() - started >= 25)

  const unknown = await get(ctx, '/v3/sp/campaigns', auth(ctx))
  t.equal(unknown.status, 404)
  t.match(unknown.json(), { code: 'NOT_FOUND', details: 'Could not find resource for full path: /v3/sp/campaigns' })
  t.equal((await call(`${ctx.ads.url}/v2/profiles`, { method: 'POST', headers: auth(ctx), body: '{}' })).status, 404)

  ctx.ads.setFault({ kind: 'status', status: 503 })
  t.equal((await get(ctx, '/v2/profiles', auth(ctx))).status, 503)
  t.equal(ctx.ads.callCount({ operation: 'listProfiles', status: 503 }), 1)
  t.equal(ctx.ads.callCount({ operation: '' }), 2)
  ctx.ads.reset()
  t.same(ctx.ads.calls, [])
  t.equal((await get(ctx, '/v2/profiles', auth(ctx))).status, 200)
  t.equal(ctx.ads.callCount(), 1)
})

t.test('close does not wait for pending slow answers', async (t) => {
  const ctx = await start(t)
  ctx.ads.failNext({ kind: 'slow', ms: 60_000 })
  const pending = get(ctx, '/v2/profiles', auth(ctx))
  while (ctx.ads.calls.length < 1) await new Promise((resolve) => setImmediate(resolve))
  const started = Date.now()
  await ctx.ads.close()
  await t.rejects(pending)
  t.ok(Date.now() - started < 1000)
})
