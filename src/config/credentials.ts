import type { Region, RawCredential, RawSecrets } from './schema.js'

/** An advertiser's or seller's own grant: a refresh token, exchanged with the app's client secret. */
export interface RefreshTokenCredential {
  grant: 'refresh_token'
  api: 'ads' | 'sp-api'
  region: Region
  /** The secret holding client_id and client_secret. */
  appSecret: string
  /** The secret holding refresh_token (the app secret itself in the one-secret layout). */
  grantSecret: string
  /** Ads: the profile sent as Amazon-Advertising-API-Scope. */
  profileId: string | undefined
  /** SP-API: the seller account the grant is declared to belong to. */
  sellingPartnerId: string | undefined
  /** How the account owner is sent to Amazon's consent page; absent: the credential cannot be onboarded. */
  onboarding: ConsentSettings | undefined
}

/** Ads consent needs only the client id; the SP-API website workflow names the application. */
export type ConsentSettings =
  | { api: 'ads' }
  /** `vendor`: a vendor app, whose consent page is Vendor Central's. */
  | { api: 'sp-api'; applicationId: string; draft: boolean; vendor: boolean }

/** The app's own (grantless) token for a scope: no seller involved. */
export interface ClientCredentialsCredential {
  grant: 'client_credentials'
  api: 'sp-api' | 'appstore'
  region: Region
  appSecret: string
  scope: string
}

/** A credential as the broker uses it: one of the grants, with every field its grant needs. */
export type CredentialConfig = (RefreshTokenCredential | ClientCredentialsCredential) & {
  /** What policy rules can select on besides the name (config `labels`, or `lwa-broker:label:*` tags). */
  labels: Readonly<Record<string, string>>
}

/**
 * The typed variant of a credential that passed the schema and the cross-field checks
 * (check.ts), which guarantee what this relies on. An Ads credential can always be
 * onboarded (its consent page needs only the client id); an SP-API one with an application id.
 */
export function toCredential(raw: RawCredential): CredentialConfig {
  if (raw.grant === 'client_credentials') {
    return {
      grant: raw.grant,
      api: raw.api === 'appstore' ? 'appstore' : 'sp-api',
      region: raw.region,
      appSecret: required(raw.app ?? raw.secret),
      scope: required(raw.scope),
      labels: raw.labels,
    }
  }
  const grantSecret = required(raw.secret)
  const api = raw.api === 'ads' ? 'ads' : 'sp-api'
  const applicationId = raw.onboarding?.applicationId
  const onboarding: ConsentSettings | undefined = api === 'ads' ? { api }
    : applicationId !== undefined
      ? { api, applicationId, draft: raw.onboarding?.draft ?? false, vendor: raw.onboarding?.vendor ?? false }
      : undefined
  return {
    grant: raw.grant,
    api,
    region: raw.region,
    appSecret: raw.app ?? grantSecret,
    grantSecret,
    profileId: raw.profileId,
    sellingPartnerId: raw.sellingPartnerId,
    onboarding,
    labels: raw.labels,
  }
}

/** The file backend's path, which check.ts requires for that backend. */
export function secretsFilePath(secrets: RawSecrets): string {
  return required(secrets.path)
}

function required(value: string | undefined): string {
  if (value === undefined) throw new TypeError('a field check.ts requires is missing: the config was not checked')
  return value
}

/** Every secret id a credential uses: its app secret, and its grant secret if it has its own. */
export function secretIdsOfCredential(credential: CredentialConfig): string[] {
  return credential.grant === 'refresh_token' && credential.grantSecret !== credential.appSecret
    ? [credential.appSecret, credential.grantSecret]
    : [credential.appSecret]
}
