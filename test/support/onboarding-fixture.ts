/** Onboarding tests' shared set-up: a broker with onboarding configured, the Ads emulator, and the browser's steps as requests. */
import { build, seedEmulator, type BuildOptions, type Harness } from '../helper.js'
import { AdsEmulator, type AdsProfile } from './ads-emulator.js'
import { LwaEmulator } from './lwa-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

export const publicUrl = 'https://broker.example.test'
export const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }

export const withOnboarding = (c: Record<string, unknown>) => {
  const credentials = c.credentials as Record<string, Record<string, unknown>>
  return {
    ...c,
    onboarding: { publicUrl, consentUrls: { ads: { na: 'https://consent.example.test/ap/oa' } } },
    credentials: { ...credentials, 'sp-acme-eu': { ...credentials['sp-acme-eu'], onboarding: { applicationId: 'amzn1.sp.solution.test', draft: true } } },
    policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
  }
}

/** The advertiser behind every Ads refresh token a test approves. */
export const advertiser: AdsProfile = {
  profileId: '3316636565473405', countryCode: 'US', currencyCode: 'USD', timezone: 'America/Los_Angeles',
  accountInfo: { marketplaceStringId: 'ATVPDKIKX0DER', id: 'A2ADVERTISER01', type: 'seller', name: 'Acme', validPaymentMethod: true },
}

/**
 * A broker with onboarding configured, and the Ads API emulator it reads the new token's
 * profiles from (how it learns which advertiser was connected).
 */
export async function onboardingBroker(t: Test, options: BuildOptions = {}): Promise<Harness & { ads: AdsEmulator }> {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const ads = await AdsEmulator.start({ lwa })
  t.teardown(() => ads.close())
  const change = options.config ?? ((c) => c)
  const h = await build(t, { ...options, lwa, config: (c) => change(withOnboarding({ ...c, ads: { endpoints: { na: ads.url, eu: ads.url, fe: ads.url } } })) })
  return Object.assign(h, { ads })
}

/** The credentials of these tests are connected already (their secrets hold refresh tokens): links replace by default. */
export async function link(h: Harness, credential: string, options: Record<string, unknown> = { replace: true }): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: { credential, ...options } })
  return res.json().url as string
}

/** Opens the link as a browser would: the page, its button, the broker's redirect to Amazon with the cookie it set. */
export async function open(h: Harness, url: string) {
  const path = url.replace(publicUrl, '')
  const page = await h.app.inject({ url: path })
  if (page.statusCode !== 200) return { res: page, location: undefined, state: '', cookie: undefined }
  const res = await h.app.inject({ method: 'POST', url: path })
  const location = res.headers.location ? new URL(res.headers.location as string) : undefined
  const cookie = (res.cookies as Array<{ name: string; value: string }>).find((c) => c.name === 'lwa_broker_onboarding')
  return { res, location, state: location?.searchParams.get('state') ?? '', cookie: cookie ? `${cookie.name}=${cookie.value}` : undefined }
}

/** What Amazon would do on "Allow": a fresh code for a fresh refresh token (an Ads one reaches the advertiser's profiles). */
export function approve(h: Harness, clientId: string, refreshToken: string, profiles: AdsProfile[] = [advertiser]): string {
  const code = `ANcode${Math.random().toString(36).slice(2)}`
  h.lwa.addAuthorizationCode({ code, clientId, redirectUri: `${publicUrl}/oauth/callback`, refreshToken })
  ;(h as Partial<{ ads: AdsEmulator }>).ads?.setProfiles(refreshToken, profiles)
  return code
}

export const callback = (h: Harness, query: Record<string, string>, cookie?: string) =>
  h.app.inject({ url: `/oauth/callback?${new URLSearchParams(query)}`, headers: cookie ? { cookie } : {} })

