import { request, type Dispatcher } from 'undici'
import type { BrokerConfig, Region } from '../config/index.js'

/** The Ads API's regional hosts (LWA.md, "Using the token"). */
export const defaultAdsUrls: Readonly<Record<Region, string>> = {
  na: 'https://advertising-api.amazon.com',
  eu: 'https://advertising-api-eu.amazon.com',
  fe: 'https://advertising-api-fe.amazon.com',
}

/** A profile list is a few KiB even for an agency; anything far bigger is not the Ads API. */
const maxProfilesBytes = 1024 * 1024

/** The Ads API did not answer with a profile list (down, slow, or refusing the token). */
export class AdsProfilesError extends Error {
  constructor(readonly status: number | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AdsProfilesError'
  }
}

export interface AdsProfilesOptions {
  ads: BrokerConfig['ads']
  dispatcher?: Dispatcher
}

/**
 * The advertising accounts an Ads access token reaches: the distinct `accountInfo.id`s of
 * `GET /v2/profiles`, sorted and joined. That is what pins an Ads credential to an account:
 * the same advertiser login reaches the same accounts.
 */
export async function adsAccountOf(
  options: AdsProfilesOptions,
  region: Region,
  accessToken: string,
  clientId: string,
): Promise<string | undefined> {
  const base = options.ads.endpoints[region] ?? defaultAdsUrls[region]
  let text: string
  let status: number
  try {
    const res = await request(`${base.replace(/\/$/, '')}/v2/profiles`, {
      method: 'GET',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'amazon-advertising-api-clientid': clientId,
        accept: 'application/json',
      },
      headersTimeout: options.ads.timeoutMs,
      bodyTimeout: options.ads.timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    })
    status = res.statusCode
    text = await res.body.text()
  } catch (err) {
    throw new AdsProfilesError(undefined, `the Ads API cannot be reached (${(err as Error).name})`, { cause: err })
  }
  if (status !== 200) throw new AdsProfilesError(status, `the Ads API answered HTTP ${status} for the profile list`)
  return accountsIn(text)
}

function accountsIn(text: string): string | undefined {
  if (text.length > maxProfilesBytes) throw new AdsProfilesError(200, 'the profile list is too large')
  let profiles: unknown
  try {
    profiles = JSON.parse(text)
  } catch {
    throw new AdsProfilesError(200, 'the profile list is not JSON')
  }
  if (!Array.isArray(profiles)) throw new AdsProfilesError(200, 'the profile list is not a JSON array')
  const ids = new Set<string>()
  for (const p of profiles as Array<{ accountInfo?: { id?: unknown } }>) {
    if (typeof p?.accountInfo?.id === 'string') ids.add(p.accountInfo.id)
  }
  return ids.size > 0 ? [...ids].sort().join(',') : undefined
}
