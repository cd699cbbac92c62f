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

/** A profile id as the broker hands it on (the Scope header): the 64-bit integer's digits. */
export const profileIdPattern = '^[0-9]{1,20}$'
const profileIdText = new RegExp(profileIdPattern)

/** One advertiser profile a refresh token reaches (SPAPI.md, "Ads API: profiles"). */
export interface AdsProfile {
  /** Digits, exactly as Amazon sent them: a JS number would lose the last ones above 2^53. */
  id: string
  countryCode: string
  type: 'seller' | 'vendor' | 'agency' | string
  accountId: string
  accountName: string
}

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

/** `GET /v2/profiles` on the region's Ads host with this access token: every profile it reaches. */
export async function readAdsProfiles(
  options: AdsProfilesOptions,
  region: Region,
  accessToken: string,
  clientId: string,
): Promise<AdsProfile[]> {
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
  return parseProfiles(text)
}

/**
 * The advertising accounts a profile list reaches: the distinct `accountInfo.id`s, sorted and
 * joined. That is what pins an Ads credential to an account: the same advertiser login reaches
 * the same accounts.
 */
export function accountsOf(profiles: readonly AdsProfile[]): string | undefined {
  const ids = new Set(profiles.map((p) => p.accountId).filter((id) => id !== ''))
  return ids.size > 0 ? [...ids].sort().join(',') : undefined
}

/** The profile list's JSON text as profiles; an entry without a usable id is no profile anyone can ask for. */
export function parseProfiles(text: string): AdsProfile[] {
  if (text.length > maxProfilesBytes) throw new AdsProfilesError(200, 'the profile list is too large')
  let parsed: unknown
  try {
    parsed = JSON.parse(quoteProfileIds(text))
  } catch {
    throw new AdsProfilesError(200, 'the profile list is not JSON')
  }
  if (!Array.isArray(parsed)) throw new AdsProfilesError(200, 'the profile list is not a JSON array')
  const profiles: AdsProfile[] = []
  for (const entry of parsed as unknown[]) {
    const p = (entry ?? {}) as { profileId?: unknown; countryCode?: unknown; accountInfo?: Record<string, unknown> }
    if (typeof p.profileId !== 'string' || !profileIdText.test(p.profileId)) continue
    const info = p.accountInfo ?? {}
    profiles.push({
      id: p.profileId,
      countryCode: textOf(p.countryCode),
      type: textOf(info.type),
      accountId: textOf(info.id),
      accountName: textOf(info.name),
    })
  }
  return profiles
}

const textOf = (value: unknown): string => (typeof value === 'string' ? value : '')

/**
 * Every JSON string token, whole, and after a `"profileId"` key its integer value. Matching
 * strings whole from left to right keeps the scan in step with the JSON: a quote inside a
 * string (always escaped) can never start a match, so only a real `profileId` key is touched.
 */
const stringThenInteger = /"(?:[^"\\]|\\.)*"(?:\s*:\s*(\d+)(?=\s*[,}]))?/g

/** The text with `"profileId": 123` written as `"profileId": "123"`, so JSON.parse keeps every digit. */
function quoteProfileIds(text: string): string {
  return text.replace(stringThenInteger, (match, digits: string | undefined) =>
    digits !== undefined && match.startsWith('"profileId"')
      ? `${match.slice(0, -digits.length)}"${digits}"`
      : match)
}
