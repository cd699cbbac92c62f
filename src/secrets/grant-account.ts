import type { RefreshTokenCredential } from '../config/index.js'

/**
 * The Amazon account a grant secret's refresh token belongs to, as onboarding recorded it:
 * SP-API's `selling_partner_id`, or our `account_id` (Ads: the advertising accounts behind
 * the token's profiles). A credential is pinned to it: nothing ever serves a token of another
 * account under its name.
 */
export function accountOf(fields: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = fields?.account_id ?? fields?.selling_partner_id
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

/** The fields that record the account beside the refresh token: SP-API's own name for it, or ours. */
export function accountFields(
  config: Pick<RefreshTokenCredential, 'api'>,
  account: string | undefined,
): Record<string, string> {
  if (account === undefined) return {}
  return config.api === 'sp-api' ? { selling_partner_id: account } : { account_id: account }
}
