import type { BrokerConfig, Region } from '../config/index.js'
import type { ConsentSettings } from '../config/credentials.js'

type ConsentPage = 'ads' | 'sp-api' | 'sp-api-vendor'

/**
 * LWA.md, "Getting a refresh token": Ads consent (/ap/oa) and the SP-API website workflow, on
 * Seller Central or, for a vendor app, Vendor Central (one host per marketplace: the region's
 * first by default, others by `onboarding.consentUrls`).
 */
const defaultConsentUrls: Record<ConsentPage, Record<Region, string>> = {
  ads: {
    na: 'https://www.amazon.com/ap/oa',
    eu: 'https://eu.account.amazon.com/ap/oa',
    fe: 'https://apac.account.amazon.com/ap/oa',
  },
  'sp-api': {
    na: 'https://sellercentral.amazon.com/apps/authorize/consent',
    eu: 'https://sellercentral-europe.amazon.com/apps/authorize/consent',
    fe: 'https://sellercentral.amazon.co.jp/apps/authorize/consent',
  },
  'sp-api-vendor': {
    na: 'https://vendorcentral.amazon.com/apps/authorize/consent',
    eu: 'https://vendorcentral.amazon.co.uk/apps/authorize/consent',
    fe: 'https://vendorcentral.amazon.co.jp/apps/authorize/consent',
  },
}

export const adsConsentScope = 'advertising::campaign_management'

/** Where to send the person who owns the Amazon account, with everything the page needs. */
export function consentUrl(
  onboarding: NonNullable<BrokerConfig['onboarding']>,
  consent: ConsentSettings,
  region: Region,
  clientId: string,
  state: string,
): string {
  const which: ConsentPage = consent.api === 'sp-api' && consent.vendor ? 'sp-api-vendor' : consent.api
  const url = new URL(onboarding.consentUrls[which]?.[region] ?? defaultConsentUrls[which][region])
  const params = url.searchParams
  if (consent.api === 'ads') {
    params.set('client_id', clientId)
    params.set('scope', adsConsentScope)
    params.set('response_type', 'code')
  } else {
    params.set('application_id', consent.applicationId)
    if (consent.draft) params.set('version', 'beta')
  }
  params.set('redirect_uri', callbackUrl(onboarding))
  params.set('state', state)
  return url.toString()
}

export function callbackUrl(onboarding: NonNullable<BrokerConfig['onboarding']>): string {
  return `${onboarding.publicUrl.replace(/\/$/, '')}/oauth/callback`
}
