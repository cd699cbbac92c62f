import { randomUUID } from 'node:crypto'
import type { RefreshTokenCredential } from '../config/index.js'
import { accountFields, accountOf } from '../secrets/grant-account.js'
import { SecretError, type SecretStore, type SecretValue } from '../secrets/index.js'
import { OnboardingError } from './failures.js'

export async function readGrant(
  secrets: SecretStore,
  credential: string,
  config: RefreshTokenCredential,
): Promise<SecretValue> {
  try {
    return await secrets.get(config.grantSecret)
  } catch (err) {
    if (err instanceof SecretError && err.code === 'not_found') {
      throw new OnboardingError('secret_missing', 'The credential\'s secret does not exist yet; an operator must '
        + 'create it first. Nothing was stored.', credential)
    }
    throw new OnboardingError('secret_unavailable', 'The refresh token could not be stored right now. Nothing was '
      + 'stored; open the link again later.', credential)
  }
}

/** How a consent changed a credential: first connected, the same account again, or another account. */
export type Bound = 'connected' | 'reauthorized' | 'replaced'

/**
 * A new AWSCURRENT version of the grant secret: the refresh token, its account and when it was
 * authorized (an SP-API authorization lasts 365 days: src/onboarding/authorizations.ts), other
 * fields kept. Says what the consent was for the credential.
 */
export async function storeGrant(
  secrets: SecretStore,
  credential: string,
  config: RefreshTokenCredential,
  current: SecretValue,
  grant: { refreshToken: string; account: string | undefined; nowMs: number },
): Promise<Bound> {
  const { refreshToken, account, nowMs } = grant
  const fields = {
    ...current.fields, refresh_token: refreshToken, ...accountFields(config, account),
    authorized_at: new Date(nowMs).toISOString(),
  }
  try {
    if (!secrets.put) throw new SecretError('unavailable', current.id, 'this secrets backend cannot store secrets')
    await secrets.put(current.id, fields, randomUUID())
  } catch {
    throw new OnboardingError('secret_unavailable',
      'The refresh token could not be stored. Nothing was stored; open the link again later.', credential)
  }
  if (!hasRefreshToken(current)) return 'connected'
  return accountOf(current.fields) === account ? 'reauthorized' : 'replaced'
}

/**
 * A credential already connected to an account stays with it: another account only with a
 * link made to replace it. A refresh token stored without its account (before accounts were
 * recorded) counts as another account: nobody can tell.
 */
export function refuseRebind(
  credential: string,
  current: SecretValue,
  account: string | undefined,
  replace: boolean,
): void {
  const connectedTo = accountOf(current.fields)
  if (!hasRefreshToken(current) || replace || (connectedTo !== undefined && connectedTo === account)) return
  throw new OnboardingError('already_connected', `Credential ${credential} is already connected to `
    + `${connectedTo ? `Amazon account ${connectedTo}` : 'an Amazon account'}. `
    + 'Nothing was stored; an admin can make a link that replaces it.', credential, account)
}

const hasRefreshToken = (secret: SecretValue): boolean =>
  typeof secret.fields.refresh_token === 'string' && secret.fields.refresh_token.length > 0
