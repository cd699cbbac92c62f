import t from 'tap'
import { fixtures, type Harness, type MintOptions } from '../helper.js'
import { adsBroker, adsProfile } from '../support/ads-broker.js'
import type { AdsEmulator } from '../support/ads-emulator.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const admin: MintOptions = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const scope = 'Amazon-Advertising-API-Scope'

const profile = adsProfile
/** Above 2^53: a JS number would end in …400 instead. */
const bigId = '3316636565473405123'
const usId = '1111000000000001'
const deId = '1111000000000002'

const withProfile = (h: Harness, id: string, caller: MintOptions = platform, credential = 'ads-us') =>
  h.jwt(caller).then((jwt) => h.getToken(credential, jwt, `&profile=${id}`))
const profileReads = (h: { ads: AdsEmulator }) => h.ads.callCount({ operation: 'listProfiles' })

t.test('profile-scoped tokens: each profile of one credential gets its own Scope and the one access token', async (t) => {
  const h = await adsBroker(t, [profile(usId), profile(deId, 'A2ADVERTISER02')])
  const us = await withProfile(h, usId)
  const de = await withProfile(h, deId)
  t.equal(us.statusCode, 200)
  t.equal(de.statusCode, 200)
  t.equal(us.json().headers[scope], usId)
  t.equal(de.json().headers[scope], deId)
  t.equal(us.json().access_token, de.json().access_token, 'one token serves every profile')
  t.same(de.json().headers, {
    Authorization: `Bearer ${de.json().access_token}`,
    'Amazon-Advertising-API-ClientId': fixtures.adsClient.clientId,
    [scope]: deId,
  })
  t.equal(profileReads(h), 1, 'the list is read once')
  t.equal(h.ads.callCount({ operation: 'listProfiles', status: 200, clientId: fixtures.adsClient.clientId }), 1, 'with the app\'s ClientId')
  const plain = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(plain.json().headers[scope], '2502259796', 'without profile=, the fixed profileId is still the scope')
})

t.test('three profiles, many callers: exactly one LWA refresh and one profile read', async (t) => {
  const ids = [usId, deId, bigId]
  const h = await adsBroker(t, ids.map((id) => profile(id)))
  const answers = await Promise.all([...ids, ...ids, ...ids].map((id) => withProfile(h, id)))
  t.same(answers.map((a) => a.statusCode), Array(9).fill(200))
  t.same(answers.map((a) => a.json().headers[scope]), [...ids, ...ids, ...ids])
  t.equal(h.lwa.callCount(), 1, 'one LWA refresh per refresh token, whatever the number of profiles')
  t.equal(profileReads(h), 1, 'concurrent first requests share one read')
})

t.test('a foreign profile is refused with profile_unknown, and cannot make the broker hammer the Ads API', async (t) => {
  const h = await adsBroker(t, [profile(usId)])
  const foreign = await withProfile(h, '999999999999')
  t.equal(foreign.statusCode, 404)
  t.equal(foreign.json().error, 'profile_unknown')
  t.equal(foreign.json().message, 'profile 999999999999 is not one of credential ads-us\'s profiles')
  for (let i = 0; i < 5; i++) t.equal((await withProfile(h, `99999999999${i}`)).json().error, 'profile_unknown')
  t.equal(profileReads(h), 1, 'unknown ids within the window ask the Ads API nothing more')
  t.equal((await withProfile(h, usId)).statusCode, 200, 'the credential\'s own profile is still served')
  t.match(h.logs.find((r) => r.event === 'token.denied').at(-1), { error: 'profile_unknown', credential: 'ads-us' })
})

t.test('profile= is only for Ads credentials: a 400 naming why, without an LWA call', async (t) => {
  const h = await adsBroker(t, [profile(usId)])
  const res = await withProfile(h, usId, platform, 'sp-acme-eu')
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
  t.match(res.json().message, /profile applies only to Ads credentials.*sp-acme-eu is not one/)
  t.equal((await h.getToken('ads-us', await h.jwt(platform), '&profile=12a')).statusCode, 400, 'a profile id is digits')
  t.equal(h.lwa.callCount(), 0)
})

t.test('policy profiles globs restrict profiles; a denied profile answers exactly as a denied credential', async (t) => {
  const narrow = { subject: 'system:serviceaccount:tenant:narrow', credentials: ['ads-*'], profiles: ['1111*'] }
  const h = await adsBroker(t, [profile(usId), profile(bigId)], { config: (c) => ({ ...c, policy: [narrow, ...(c.policy as unknown[])] }) })
  const caller = { claims: { sub: 'system:serviceaccount:tenant:narrow' } }
  t.equal((await withProfile(h, usId, caller)).statusCode, 200, 'a profile its globs match')
  const denied = await withProfile(h, bigId, caller)
  const deniedForeign = await withProfile(h, '42', caller)
  const deniedCredential = await withProfile(h, usId, caller, 'sp-acme-eu')
  for (const res of [denied, deniedForeign, deniedCredential]) t.equal(res.statusCode, 403)
  t.equal(denied.json().message, 'caller system:serviceaccount:tenant:narrow may not use credential ads-us')
  t.equal(deniedForeign.json().message, denied.json().message, 'an existing and a foreign profile look the same')
  const fixed = await h.getToken('ads-us', await h.jwt(caller))
  t.equal(fixed.statusCode, 403, 'nor does the fixed profileId (2502259796) escape the globs')
  t.equal(profileReads(h), 1, 'denied requests read nothing')
})

t.test('on demand, a newly added profile is learnt, at most once per min-refresh window', async (t) => {
  const h = await adsBroker(t, [profile(usId)])
  t.equal((await withProfile(h, usId)).statusCode, 200)
  h.ads.setProfiles(fixtures.adsRefreshToken, [profile(usId), profile(deId)])
  h.clock.advance(30_000)
  t.equal((await withProfile(h, deId)).json().error, 'profile_unknown', 'within the window: judged on the list as read')
  t.equal(profileReads(h), 1)
  h.clock.advance(30_000)
  const learnt = await withProfile(h, deId)
  t.equal(learnt.statusCode, 200, 'past it: read again, and the new profile is there')
  t.equal(learnt.json().headers[scope], deId)
  t.equal(profileReads(h), 2)
  t.equal(h.lwa.callCount(), 1, 'the reads used the cached token')
})

t.test('profile ids are kept digit for digit, above 2^53', async (t) => {
  const h = await adsBroker(t, [profile(bigId)])
  const res = await withProfile(h, bigId)
  t.equal(res.json().headers[scope], bigId)
  t.equal((await withProfile(h, '3316636565473405000')).json().error, 'profile_unknown', 'the id a JS number would make is not it')
  const listing = await h.app.inject({ url: '/admin/credentials/ads-us', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.equal(listing.json().profiles[0].id, bigId)
})

t.test('the admin listing shows an Ads credential\'s profiles and when they were read', async (t) => {
  const h = await adsBroker(t, [profile(usId), profile(bigId, 'ENTITY3AGENCY', 'agency')])
  const get = async (name: string) => h.app.inject({ url: `/admin/credentials/${name}`, headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.match((await get('ads-us')).json(), { credential: 'ads-us', api: 'ads', profiles: null, profiles_read_at: null }, 'not read yet')
  const readAt = new Date(h.clock.now()).toISOString()
  await withProfile(h, usId)
  h.clock.advance(5000)
  const res = await get('ads-us')
  t.equal(res.statusCode, 200)
  t.same(res.json().profiles, [
    { id: usId, country_code: 'US', type: 'seller', account_id: 'A2ADVERTISER01', account_name: 'Account A2ADVERTISER01' },
    { id: bigId, country_code: 'US', type: 'agency', account_id: 'ENTITY3AGENCY', account_name: 'Account ENTITY3AGENCY' },
  ])
  t.equal(res.json().profiles_read_at, readAt)
  t.match((await get('sp-acme-eu')).json(), { api: 'sp-api', profiles: null, profiles_read_at: null })
  t.equal((await get('nope')).json().error, 'unknown_credential')
  t.equal((await get('bad%20name')).statusCode, 400)
  for (const secret of [/Atz[ar]\|/, fixtures.adsClient.clientId, fixtures.adsRefreshToken]) t.notMatch(res.body, secret)
  t.match(h.logs.find((r) => r.event === 'admin.credentials.get')[0], { outcome: 'allowed', credential: 'ads-us' })
})

t.test('the Ads API down: the known list keeps serving, an unknown profile is a 503 until it can be asked', async (t) => {
  const h = await adsBroker(t, [profile(usId)])
  t.equal((await withProfile(h, usId)).statusCode, 200)
  h.ads.setFault({ kind: 'status', status: 503 })
  h.clock.advance(6 * 3600_000)
  t.equal(h.services.profiles.refreshDue(), 1, 'the slow schedule tries again')
  await h.services.profiles.refresh('ads-us')
  t.match(h.logs.find((r) => r.msg === 'could not read the Ads profile list; the list known before still serves')[0], { credential: 'ads-us' })
  const known = await withProfile(h, usId)
  t.equal(known.statusCode, 200, 'a known profile is served')
  const unknown = await withProfile(h, deId)
  t.equal(unknown.statusCode, 503)
  t.equal(unknown.json().error, 'upstream_unavailable')
  t.ok(Number(unknown.headers['retry-after']) > 0)
  t.equal(profileReads(h), 2, 'the failed read is not retried within the window')
  h.ads.setFault(null)
  h.ads.setProfiles(fixtures.adsRefreshToken, [profile(usId), profile(deId)])
  h.clock.advance(60_000)
  t.equal((await withProfile(h, deId)).statusCode, 200, 'back: the next read learns it')
})

t.test('the slow schedule re-reads lists older than profilesRefreshSeconds, and a reconnected credential at once', async (t) => {
  const h = await adsBroker(t, [profile(usId)], { config: (c) => ({ ...c, ads: { ...(c.ads as object), profilesRefreshSeconds: 3600 } }) })
  const book = h.services.profiles
  t.equal(book.refreshDue(), 0, 'nothing used with a profile: nothing to read')
  await withProfile(h, usId)
  h.clock.advance(3599_000)
  t.equal(book.refreshDue(), 0, 'not due yet')
  h.clock.advance(1000)
  t.equal(book.refreshDue(), 1)
  await book.refresh('ads-us')
  t.equal(profileReads(h), 2)
  await h.services.tokens.reconnected('ads-us')
  t.equal(book.listOf('ads-us'), undefined, 'another account may be behind it now: the list is dropped')
  t.equal(book.refreshDue(), 1, 'and read again at once')
  await book.refresh('ads-us')
  t.equal(book.listOf('ads-us')?.profiles[0]?.id, usId)
})

t.test('a list handed over (onboarding already read it) is used without a read', async (t) => {
  const h = await adsBroker(t, [profile(usId)])
  h.services.profiles.record('ads-us', [{ id: deId, countryCode: 'DE', type: 'seller', accountId: 'A2', accountName: 'Acme DE' }])
  t.equal((await withProfile(h, deId)).statusCode, 200)
  t.equal(profileReads(h), 0)
})
