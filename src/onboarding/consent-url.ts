import type { BrokerConfig, CredentialConfig, Region } from '../config/index.js'

/** LWA.md, "Getting a refresh token": Ads consent (/ap/oa) and the SP-API website workflow. */
const defaultConsentUrls: Record<'ads' | 'sp-api', Record<Region, string>> = {
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
}

export const adsConsentScope = 'advertising::campaign_management'

/** Where to send the person who owns the Amazon account, with everything the page needs. */
export function consentUrl(onboarding: NonNullable<BrokerConfig['onboarding']>, credential: CredentialConfig, clientId: string, state: string): string {
  const api = credential.api === 'sp-api' ? 'sp-api' : 'ads'
  const url = new URL(onboarding.consentUrls[api]?.[credential.region] ?? defaultConsentUrls[api][credential.region])
  const params = url.searchParams
  if (api === 'ads') {
    params.set('client_id', clientId)
    params.set('scope', adsConsentScope)
    params.set('response_type', 'code')
  } else {
    params.set('application_id', credential.onboarding?.applicationId as string)
    if (credential.onboarding?.draft) params.set('version', 'beta')
  }
  params.set('redirect_uri', callbackUrl(onboarding))
  params.set('state', state)
  return url.toString()
}

export function callbackUrl(onboarding: NonNullable<BrokerConfig['onboarding']>): string {
  return `${onboarding.publicUrl.replace(/\/$/, '')}/oauth/callback`
}
