import type { Region } from '../config/index.js'

/** The Selling Partner API's regional hosts (SPAPI.md); `spApi.endpoints` may override each one. */
const defaultSpApiUrls: Readonly<Record<Region, string>> = {
  na: 'https://sellingpartnerapi-na.amazon.com',
  eu: 'https://sellingpartnerapi-eu.amazon.com',
  fe: 'https://sellingpartnerapi-fe.amazon.com',
}

/** `path` on the region's SP-API host. */
export function spApiUrl(region: Region, overrides: Partial<Record<Region, string>>, path: string): string {
  return `${(overrides[region] ?? defaultSpApiUrls[region]).replace(/\/$/, '')}${path}`
}
