import type { Catalogue } from '../catalogue/catalogue.js'
import type { SecretStore } from '../secrets/index.js'

/**
 * When each SP-API credential's seller last authorized it, as onboarding recorded it beside the
 * refresh token (`authorized_at`): Amazon ends an authorization 365 days later unless the seller
 * re-authorizes. Read from the secrets already cached (the start-up sweep reads every one), so a
 * scrape reads no secret; one not cached yet, or never onboarded here, has no deadline to show.
 */
export function authorizationsOf(
  catalogue: Catalogue,
  secrets: SecretStore,
): Array<{ credential: string; authorizedAtMs: number }> {
  const found: Array<{ credential: string; authorizedAtMs: number }> = []
  for (const name of catalogue.names()) {
    const config = catalogue.get(name)
    if (config?.grant !== 'refresh_token' || config.api !== 'sp-api') continue
    const at = secrets.peek?.(config.grantSecret)?.fields.authorized_at
    const authorizedAtMs = typeof at === 'string' ? Date.parse(at) : Number.NaN
    if (Number.isFinite(authorizedAtMs)) found.push({ credential: name, authorizedAtMs })
  }
  return found
}
