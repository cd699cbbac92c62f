import type { Catalogue } from '../catalogue/catalogue.js'
import type { Region } from '../config/index.js'
import type { SecretStore } from '../secrets/index.js'

/** An app's secret: the client id and client secret every seller's or advertiser's token depends on. */
export interface AppSecret {
  /** The Secrets Manager secret id, as the credentials name it (also the metric label). */
  secretId: string
  /** SP-API apps rotate by API; the others (Ads, Developer Console) only have their expiry tracked. */
  api: 'ads' | 'sp-api' | 'appstore'
  /** Where to ask LWA when a new client secret is checked: the region of a credential that uses it. */
  region: Region
}

/** The app secrets the catalogue's credentials use, each once. */
export function appSecretsOf(catalogue: Catalogue): AppSecret[] {
  const found = new Map<string, AppSecret>()
  for (const name of catalogue.names()) {
    const config = catalogue.get(name)
    if (!config || found.has(config.appSecret)) continue
    found.set(config.appSecret, { secretId: config.appSecret, api: config.api, region: config.region })
  }
  return [...found.values()]
}

/** The app secret whose `client_id` is this one (a notification names the app by client id only). */
export async function appOfClient(
  catalogue: Catalogue,
  secrets: SecretStore,
  clientId: string,
): Promise<AppSecret | undefined> {
  for (const app of appSecretsOf(catalogue)) {
    const fields = (secrets.peek?.(app.secretId) ?? await secrets.get(app.secretId).catch(() => undefined))?.fields
    if (fields?.client_id === clientId) return app
  }
  return undefined
}

/** When each app secret's client secret expires, as recorded beside it (`client_secret_expires_at`). */
export function expiriesOf(catalogue: Catalogue, secrets: SecretStore): Array<{ app: string; expiresAtMs: number }> {
  return appSecretsOf(catalogue).flatMap(({ secretId }) => {
    const at = secrets.peek?.(secretId)?.fields.client_secret_expires_at
    const expiresAtMs = typeof at === 'string' ? Date.parse(at) : Number.NaN
    return Number.isFinite(expiresAtMs) ? [{ app: secretId, expiresAtMs }] : []
  })
}
