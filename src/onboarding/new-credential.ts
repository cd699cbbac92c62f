import { randomUUID } from 'node:crypto'
import type { Catalogue } from '../catalogue/catalogue.js'
import { tagsOf } from '../catalogue/tags.js'
import type { CredentialConfig, RefreshTokenCredential } from '../config/index.js'
import type { ConsentSettings } from '../config/credentials.js'
import { credentialNamePattern } from '../config/schema.js'
import { SecretError, type SecretStore } from '../secrets/index.js'
import { nameUnusable } from './failures.js'
import { grantFields, rebindGrant, secretUnavailable, type Bound, type Grant } from './grant-secret.js'
import type { NewCredential } from './store.js'

/** A refresh-token credential with consent settings: one an account owner can connect. */
export type Onboardable = RefreshTokenCredential & { consent: ConsentSettings }

export interface NewCredentialDeps {
  catalogue: Catalogue
  secrets: SecretStore
  settings: { secretNamePrefix: string; kmsKeyId?: string | undefined }
  /** Lists the catalogue now (and tells the other replicas): the new credential is served at once. */
  discovered?: (() => Promise<unknown>) | undefined
}

const validName = new RegExp(credentialNamePattern)

/** How the consent of a credential that does not exist yet is made: its settings as its tags will say them. */
export function plannedConfig(create: NewCredential, grantSecret: string): Onboardable {
  const consent: ConsentSettings = create.api === 'ads'
    ? { api: 'ads' }
    : { api: 'sp-api', applicationId: create.applicationId ?? '', draft: create.draft ?? false,
      vendor: create.vendor ?? false }
  return {
    grant: 'refresh_token', api: create.api, region: create.region, appSecret: create.app, grantSecret,
    profileId: undefined, sellingPartnerId: undefined, onboarding: consent, consent,
  }
}

/** A name template filled in: `{account}` (characters a name cannot hold become `_`), `{region}`, `{api}`. */
export function credentialName(template: string, create: NewCredential, account: string | undefined): string {
  const name = template
    .replaceAll('{account}', (account ?? 'unknown').replace(/[^A-Za-z0-9._-]/g, '_'))
    .replaceAll('{region}', create.region)
    .replaceAll('{api}', create.api)
  if (!validName.test(name)) throw nameUnusable(name)
  return name
}

/**
 * Where a consent that creates its credential lands: on the credential this account already
 * has (by name, or SP-API by its seller id) it re-authorizes it; otherwise a new tagged
 * secret, which discovery then serves on every replica. A name already taken in Secrets Manager
 * (a retry, another replica, a listing not yet run) is re-authorized only if it holds a grant.
 */
export async function connectNew(
  deps: NewCredentialDeps,
  create: NewCredential,
  grant: Grant,
  replace: boolean,
): Promise<{ credential: string; bound: Bound }> {
  const name = credentialName(create.name, create, grant.account)
  const existing = existingCredential(deps.catalogue, name, create, grant.account)
  if (existing) {
    const bound = await rebindGrant(deps.secrets, existing.name, existing.config, grant, { replace })
    return { credential: existing.name, bound }
  }
  const secretName = `${deps.settings.secretNamePrefix}${name}`
  const planned = plannedConfig(create, secretName)
  try {
    if (!deps.secrets.create) throw new SecretError('unavailable', secretName, 'this secrets backend cannot create')
    await deps.secrets.create(secretName, grantFields(planned, {}, grant), {
      tags: tagsFor(name, create, grant.account), kmsKeyId: deps.settings.kmsKeyId, versionId: randomUUID(),
    })
  } catch (err) {
    if (!(err instanceof SecretError && err.code === 'exists')) throw secretUnavailable(name)
    const bound = await rebindGrant(deps.secrets, name, planned, grant, { replace, onlyConnected: true })
    return { credential: name, bound }
  }
  // Created is what counts; a failed listing leaves the credential to the next interval.
  await deps.discovered?.().catch(() => undefined)
  return { credential: name, bound: 'connected' }
}

/** The credential the new one would duplicate; one of another kind under its name makes the name unusable. */
function existingCredential(
  catalogue: Catalogue,
  name: string,
  create: NewCredential,
  account: string | undefined,
): { name: string; config: RefreshTokenCredential } | undefined {
  const same = (config: CredentialConfig | undefined): config is CredentialConfig & RefreshTokenCredential =>
    config?.grant === 'refresh_token' && config.api === create.api && config.region === create.region
  const named = catalogue.get(name)
  if (named) {
    if (!same(named)) throw nameUnusable(name)
    return { name, config: named }
  }
  if (create.api !== 'sp-api' || account === undefined) return undefined
  const seller = catalogue.names().find((n) => {
    const config = catalogue.get(n)
    return same(config) && config.sellingPartnerId === account
  })
  return seller ? { name: seller, config: catalogue.get(seller) as RefreshTokenCredential } : undefined
}

/** The tags discovery reads the credential from; an SP-API one is pinned to its seller. */
function tagsFor(name: string, create: NewCredential, account: string | undefined): Record<string, string> {
  const sp = create.api === 'sp-api'
  const { applicationId, draft = false, vendor } = create
  return tagsOf(name, {
    api: create.api, region: create.region, app: create.app, labels: create.labels,
    ...(sp && account !== undefined ? { sellingPartnerId: account } : {}),
    ...(sp ? { onboarding: { applicationId, draft, ...vendor && { vendor } } } : {}),
  })
}
