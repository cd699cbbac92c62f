import type { BrokerConfig, Region } from '../config/index.js'

const hosts = (prefix: string, domains: string[]): string[] => domains.map((d) => `https://${prefix}.amazon.${d}`)

/**
 * Where Seller Central and Vendor Central live, per SP-API region (SPAPI.md: "only send browsers
 * to Amazon hosts you expect"): the marketplaces of each selling region.
 */
const naDomains = ['com', 'ca', 'com.mx', 'com.br']
const euDomains = [
  'co.uk', 'de', 'fr', 'it', 'es', 'nl', 'se', 'pl', 'com.be', 'com.tr', 'ae', 'sa', 'eg', 'in', 'ie', 'co.za',
]
const feDomains = ['co.jp', 'com.au', 'sg']
const defaultOrigins: Record<Region, string[]> = {
  na: [...hosts('sellercentral', naDomains), ...hosts('vendorcentral', naDomains)],
  eu: ['https://sellercentral-europe.amazon.com', ...hosts('sellercentral', euDomains),
    ...hosts('vendorcentral', euDomains)],
  fe: [...hosts('sellercentral', feDomains), ...hosts('vendorcentral', feDomains)],
}

type AmazonOrigins = NonNullable<BrokerConfig['onboarding']>['amazonOrigins']

/**
 * The region whose Seller or Vendor Central `amazon_callback_uri` points at, or undefined when
 * it is not one of them: the browser is then sent nowhere (no open redirect). A region
 * configured in `onboarding.amazonOrigins` replaces that region's defaults.
 */
export function regionOfAmazonUrl(uri: string | undefined, configured: AmazonOrigins): Region | undefined {
  if (!uri || !URL.canParse(uri)) return undefined
  const url = new URL(uri)
  if (url.username || url.password) return undefined
  return (['na', 'eu', 'fe'] as const).find((region) => (configured[region] ?? defaultOrigins[region])
    .some((allowed) => URL.canParse(allowed) && new URL(allowed).origin === url.origin))
}
