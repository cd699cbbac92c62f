import type { CredentialConfig } from '../config/index.js'
import { SecretError, type SecretStage, type SecretStore, type SecretValue } from './secret-store.js'

/** What the LWA client needs for one credential, read from its app and grant secrets. */
export interface CredentialMaterial {
  clientId: string
  clientSecret: string
  refreshToken: string | undefined
  app: SecretValue
  /** The secret holding refresh_token, when the grant needs one (the app secret itself in the one-secret layout). */
  grant: SecretValue | undefined
}

/** Which version of a secret to read: AWSCURRENT unless a rotation is being worked through. */
export type StageOf = (secretId: string) => SecretStage

const current: StageOf = () => 'AWSCURRENT'

/**
 * Reads a credential's secrets: the app secret (client_id, client_secret), shared by many
 * grant secrets or the grant secret itself, and the grant secret's refresh_token.
 */
export async function readCredentialMaterial(
  store: SecretStore,
  credential: CredentialConfig,
  stageOf: StageOf = current,
): Promise<CredentialMaterial> {
  const appId = credential.appSecret
  const app = await store.get(appId, stageOf(appId))
  const grantId = credential.grant === 'refresh_token' ? credential.grantSecret : undefined
  const grant = grantId === undefined ? undefined : grantId === appId ? app : await store.get(grantId, stageOf(grantId))
  return {
    clientId: field(app, 'client_id'),
    clientSecret: field(app, 'client_secret'),
    refreshToken: grant ? field(grant, 'refresh_token') : undefined,
    app,
    grant,
  }
}

function field(secret: SecretValue, name: string): string {
  const value = secret.fields[name]
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretError('missing_field', secret.id, `lacks the field "${name}" (a non-empty string)`, { field: name })
  }
  return value
}
