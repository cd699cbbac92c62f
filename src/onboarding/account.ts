import {
  accountsOf, AdsProfilesError, readAdsProfiles, type AdsProfile, type AdsProfilesOptions,
} from '../ads/profiles.js'
import type { RefreshTokenCredential } from '../config/index.js'
import { OnboardingError } from './failures.js'

/**
 * Which Amazon account the person just connected: SP-API says it in the callback
 * (`selling_partner_id`); for Ads it is the accounts behind the new token's profiles (kept too:
 * the credential's profile list is known from the start).
 */
export async function learnAccount(
  config: RefreshTokenCredential,
  callback: { selling_partner_id?: string | undefined },
  token: { accessToken: string; clientId: string },
  ads: AdsProfilesOptions,
  credential: string,
): Promise<{ account: string | undefined; profiles?: AdsProfile[] }> {
  if (config.api === 'sp-api') {
    if (!callback.selling_partner_id) {
      throw new OnboardingError('account_unknown', 'Amazon did not say which selling account was connected. '
        + 'Nothing was stored; ask for a new link.', credential)
    }
    return { account: callback.selling_partner_id }
  }
  try {
    const profiles = await readAdsProfiles(ads, config.region, token.accessToken, token.clientId)
    return { account: accountsOf(profiles), profiles }
  } catch (err) {
    if (!(err instanceof AdsProfilesError)) throw err
    throw new OnboardingError('account_unavailable', 'The advertising account could not be identified right now. '
      + 'Nothing was stored; open the link again later.', credential)
  }
}
