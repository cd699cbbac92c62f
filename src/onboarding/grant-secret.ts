import { randomUUID } from 'node:crypto'
import type { RefreshTokenCredential } from '../config/index.js'
import { accountFields, accountOf } from '../secrets/grant-account.js'
import { SecretError, type SecretStore, type SecretValue } from '../secrets/index.js'
import { nameUnusable, OnboardingError } from './failures.js'

async function readGrant(
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

/** What a consent yields: the refresh token, its account, when. */
export interface Grant {
  refreshToken: string
  account: string | undefined
  nowMs: number
}

/**
 * The grant secret's fields after a consent: the refresh token, its account and when it was
 * authorized (an SP-API authorization lasts 365 days: src/onboarding/authorizations.ts), other
 * fields kept.
 */
export function grantFields(
  config: Pick<RefreshTokenCredential, 'api'>,
  current: Readonly<Record<string, unknown>>,
  grant: Grant,
): Record<string, unknown> {
  return {
    ...current, refresh_token: grant.refreshToken, ...accountFields(config, grant.account),
    authorized_at: new Date(grant.nowMs).toISOString(),
  }
}

/**
 * Connects an existing credential anew: refused if it is another account's (refuseRebind),
 * otherwise a new AWSCURRENT version of its grant secret. Says what the consent was for it.
 * `onlyConnected`: a secret holding no refresh token is not a grant this broker made (a name
 * a new credential wanted is taken), so it is refused, not written.
 */
export async function rebindGrant(
  secrets: SecretStore,
  credential: string,
  config: RefreshTokenCredential,
  grant: Grant,
  options: { replace: boolean; onlyConnected?: boolean },
): Promise<Bound> {
  const current = await readGrant(secrets, credential, config)
  if (options.onlyConnected && !hasRefreshToken(current)) throw nameUnusable(credential)
  refuseRebind(credential, current, grant.account, options.replace)
  try {
    if (!secrets.put) throw new SecretError('unavailable', current.id, 'this secrets backend cannot store secrets')
    await secrets.put(current.id, grantFields(config, current.fields, grant), randomUUID())
  } catch {
    throw secretUnavailable(credential)
  }
  if (!hasRefreshToken(current)) return 'connected'
  return accountOf(current.fields) === grant.account ? 'reauthorized' : 'replaced'
}

export const secretUnavailable = (credential: string): OnboardingError => new OnboardingError('secret_unavailable',
  'The refresh token could not be stored. Nothing was stored; open the link again later.', credential)

/**
 * A credential already connected to an account stays with it: another account only with a
 * link made to replace it. A refresh token stored without its account (before accounts were
 * recorded) counts as another account: nobody can tell.
 */
function refuseRebind(
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
