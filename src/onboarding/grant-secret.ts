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

/** A new AWSCURRENT version of the grant secret: the refresh token and its account, other fields kept. */
export async function storeGrant(
  secrets: SecretStore,
  credential: string,
  config: RefreshTokenCredential,
  current: SecretValue,
  refreshToken: string,
  account: string | undefined,
): Promise<void> {
  const fields = { ...current.fields, refresh_token: refreshToken, ...accountFields(config, account) }
  try {
    if (!secrets.put) throw new SecretError('unavailable', current.id, 'this secrets backend cannot store secrets')
    await secrets.put(current.id, fields, randomUUID())
  } catch {
    throw new OnboardingError('secret_unavailable',
      'The refresh token could not be stored. Nothing was stored; open the link again later.', credential)
  }
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
  const connected = typeof current.fields.refresh_token === 'string' && current.fields.refresh_token.length > 0
  const connectedTo = accountOf(current.fields)
  if (!connected || replace || (connectedTo !== undefined && connectedTo === account)) return
  throw new OnboardingError('already_connected', `Credential ${credential} is already connected to `
    + `${connectedTo ? `Amazon account ${connectedTo}` : 'an Amazon account'}. `
    + 'Nothing was stored; an admin can make a link that replaces it.', credential, account)
}
