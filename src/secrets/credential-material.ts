import type { CredentialConfig } from '../config/index.js'
import { SecretError, type SecretStage, type SecretStore, type SecretValue } from './secret-store.js'

/** What the LWA client needs for one credential, read from its app and grant secrets. */
export interface CredentialMaterial {
  clientId: string
  clientSecret: string
  refreshToken: string | undefined
  /** Version ids of the secrets used, for status and rotation bookkeeping. */
  appVersionId: string
  grantVersionId: string | undefined
}

/**
 * Reads a credential's secrets. `app` (client_id, client_secret) may be its own secret
 * shared by many grant secrets, or absent, in which case `secret` holds all three.
 */
export async function readCredentialMaterial(
  store: SecretStore,
  credential: CredentialConfig,
  appStage: SecretStage = 'AWSCURRENT',
): Promise<CredentialMaterial> {
  const appId = credential.app ?? credential.secret
  /* c8 ignore next */ if (appId === undefined) throw new TypeError('credential has neither app nor secret (config check missed it)')
  const app = await store.get(appId, appStage)
  const grant = credential.grant === 'refresh_token' && credential.secret !== undefined
    ? (credential.app === undefined ? app : await store.get(credential.secret))
    : undefined
  return {
    clientId: field(app, 'client_id'),
    clientSecret: field(app, 'client_secret'),
    refreshToken: grant ? field(grant, 'refresh_token') : undefined,
    appVersionId: app.versionId,
    grantVersionId: grant?.versionId,
  }
}

function field(secret: SecretValue, name: string): string {
  const value = secret.fields[name]
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretError('missing_field', secret.id, `lacks the field "${name}" (a non-empty string)`, { field: name })
  }
  return value
}
