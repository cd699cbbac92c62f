// An in-process broker against the LWA and Ads emulators, all on one fake clock, whose ads-us
// refresh token reaches the profiles given: what the profile tests and the caller client's share.
import { build, fixtures, seedEmulator, type BuildOptions, type Harness } from '../helper.js'
import { AdsEmulator, type AdsProfile } from './ads-emulator.js'
import { FakeClock } from './fake-clock.js'
import { LwaEmulator } from './lwa-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

export const adsProfile = (profileId: string, accountId = 'A2ADVERTISER01',
  type: AdsProfile['accountInfo']['type'] = 'seller'): AdsProfile => ({
  profileId, countryCode: 'US', currencyCode: 'USD', timezone: 'America/Los_Angeles',
  accountInfo: {
    marketplaceStringId: 'ATVPDKIKX0DER', id: accountId, type, name: `Account ${accountId}`, validPaymentMethod: true,
  },
})

/** The Ads API at the emulator in every region; an ops:admin rule besides the harness's own. */
export async function adsBroker(t: Test, profiles: AdsProfile[], options: BuildOptions = {}):
  Promise<Harness & { ads: AdsEmulator }> {
  const clock = new FakeClock()
  const lwa = await LwaEmulator.start({ clock })
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const ads = await AdsEmulator.start({ lwa, clock })
  t.teardown(() => ads.close())
  ads.setProfiles(fixtures.adsRefreshToken, profiles)
  const change = options.config ?? ((c) => c)
  const h = await build(t, {
    ...options, lwa, clock,
    config: (c) => change({
      ...c,
      ads: { endpoints: { na: ads.url, eu: ads.url, fe: ads.url } },
      policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
    }),
  })
  return Object.assign(h, { ads })
}
