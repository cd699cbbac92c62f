import type { BrokerConfig, RefreshTokenCredential } from '../config/index.js'
import { LwaError, tokenUrlFor, type LwaClient } from '../lwa/index.js'
import type { SecretStore } from '../secrets/index.js'
import { OnboardingError } from './failures.js'

export type AppClient = { clientId: string; clientSecret: string }

/** The app's client id and secret; unreadable is ours to fix, so the link stays usable. */
export async function readApp(secrets: SecretStore, credential: string, appSecret: string): Promise<AppClient> {
  try {
    const { fields } = await secrets.get(appSecret)
    if (typeof fields.client_id !== 'string' || typeof fields.client_secret !== 'string') {
      throw new Error('missing client fields')
    }
    return { clientId: fields.client_id, clientSecret: fields.client_secret }
  } catch {
    throw new OnboardingError('secret_unavailable',
      'The app\'s client credentials cannot be read right now. Try again later.', credential)
  }
}

/** Amazon's answer carries a code, unless the person declined. */
export function codeOf(credential: string, query: Record<string, string | undefined>): string {
  if (query.error) {
    throw new OnboardingError('declined',
      'The authorization was declined on Amazon\'s page. Nothing was stored.', credential)
  }
  const code = query.code ?? query.spapi_oauth_code
  if (!code) {
    throw new OnboardingError('code_missing',
      'Amazon did not send an authorization code. Nothing was stored.', credential)
  }
  return code
}

/** Trades the consent's code for a refresh token (and an access token to learn the account with). */
export async function exchangeCode(
  lwa: LwaClient,
  via: { endpoints: BrokerConfig['lwa']['endpoints']; redirectUri: string },
  target: { credential: string; region: RefreshTokenCredential['region']; app: AppClient },
  code: string,
): Promise<{ refreshToken: string; accessToken: string }> {
  const { credential, region, app } = target
  try {
    const answer = await lwa.requestToken(tokenUrlFor(region, via.endpoints), app, {
      grantType: 'authorization_code', code, redirectUri: via.redirectUri,
    })
    if (!answer.refreshToken) {
      throw new LwaError('malformed_response', { retryable: true, description: 'no refresh_token' })
    }
    return { refreshToken: answer.refreshToken, accessToken: answer.accessToken }
  } catch (err) {
    const lwaError = err instanceof LwaError ? err : undefined
    if (lwaError?.retryable) {
      throw new OnboardingError('lwa_unavailable',
        'Login with Amazon is unavailable right now. Nothing was stored; open the link again later.', credential)
    }
    throw new OnboardingError('code_rejected', 'Login with Amazon refused the authorization code '
      + `(${lwaError?.code ?? 'error'}): it expires after about five minutes and works once. Nothing was stored; `
      + 'ask for a new link.', credential)
  }
}
