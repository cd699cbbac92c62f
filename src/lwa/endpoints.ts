import type { Region } from '../config/index.js'

/** LWA's regional token endpoints (LWA.md). Config may override each one. */
export const defaultTokenUrls: Readonly<Record<Region, string>> = {
  na: 'https://api.amazon.com/auth/o2/token',
  eu: 'https://api.amazon.co.uk/auth/o2/token',
  fe: 'https://api.amazon.co.jp/auth/o2/token',
}

export function tokenUrlFor(region: Region, overrides: Partial<Record<Region, string>>): string {
  return overrides[region] ?? defaultTokenUrls[region]
}
