import t from 'tap'
import { accountsOf, AdsProfilesError, parseProfiles, readAdsProfiles } from '../../src/ads/profiles.js'
import { request } from 'undici'
import { fixtures, seedEmulator } from '../helper.js'
import { advertiser } from '../support/onboarding-fixture.js'
import { AdsEmulator } from '../support/ads-emulator.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

t.test('profile ids are read digit for digit, whatever the JSON around them holds', async (t) => {
  const text = '[{"profileId":3316636565473405123,"countryCode":"US","accountInfo":{"id":"A2X","type":"vendor",'
    + '"name":"Say \\"profileId\\":12 here"}},{"countryCode":"DE", "profileId" : 9223372036854775807 ,'
    + '"x\\"profileId":5,"accountInfo":{"id":"A3Y","type":"agency","name":"B"}}]'
  t.same(parseProfiles(text), [
    { id: '3316636565473405123', countryCode: 'US', type: 'vendor', accountId: 'A2X', accountName: 'Say "profileId":12 here' },
    { id: '9223372036854775807', countryCode: 'DE', type: 'agency', accountId: 'A3Y', accountName: 'B' },
  ])
  t.equal(Number('3316636565473405123').toString(), '3316636565473405000', 'what JSON.parse alone would have made')
})

t.test('an entry without a usable id is no profile; missing fields are empty; accounts are the distinct ids', async (t) => {
  const profiles = parseProfiles('[{"profileId":1.5},{"profileId":-3},{"countryCode":"US"},{"profileId":"42"},{"profileId":7,"accountInfo":{"id":"A1"}},{"profileId":8,"accountInfo":{"id":"A1"}}]')
  t.same(profiles.map((p) => p.id), ['42', '7', '8'])
  t.same(profiles[0], { id: '42', countryCode: '', type: '', accountId: '', accountName: '' })
  t.equal(accountsOf(profiles), 'A1')
  t.equal(accountsOf([]), undefined)
})

t.test('what is no profile list is an AdsProfilesError', async (t) => {
  for (const text of ['not json', '{"profileId":1}', ' '.repeat(1024 * 1024 + 1)]) t.throws(() => parseProfiles(text), AdsProfilesError)
})

t.test('the Ads emulator wants the ClientId on /v2/profiles, as the Ads API does', async (t) => {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const ads = await AdsEmulator.start({ lwa })
  t.teardown(() => ads.close())
  ads.setProfiles(fixtures.adsRefreshToken, [advertiser])
  const { adsClient } = fixtures
  const form = { grant_type: 'refresh_token', refresh_token: fixtures.adsRefreshToken, client_id: adsClient.clientId, client_secret: adsClient.clientSecret }
  const granted = await request(lwa.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() })
  const token = ((await granted.body.json()) as { access_token: string }).access_token
  const read = (clientId: string) => readAdsProfiles({ ads: { endpoints: { na: ads.url }, timeoutMs: 2000, profilesRefreshSeconds: 0, profilesMinRefreshSeconds: 60 } }, 'na', token, clientId)
  await t.rejects(read(''), { name: 'AdsProfilesError', status: 400 })
  t.equal(ads.callCount({ operation: 'listProfiles', status: 400 }), 1, 'refused without it')
  t.same((await read(adsClient.clientId)).map((p) => p.id), [String(advertiser.profileId)], 'served with it')
})
