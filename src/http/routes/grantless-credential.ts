import type { Principal } from '../../auth/index.js'
import type { Catalogue } from '../../catalogue/catalogue.js'
import type { Exchange } from '../../exchange.js'
import type { SecretStore } from '../../secrets/index.js'
import type { TokenService } from '../../tokens/index.js'

/** What choosing a grantless credential reads: no HTTP, nothing written. */
export interface GrantlessDeps {
  catalogue: Catalogue
  exchange: Exchange
  tokens: Pick<TokenService, 'peek'>
  secrets: SecretStore
}

/** The credential chosen, or why none was (for the audit line only: the caller is told `invalid_scope` either way). */
export type GrantlessChoice = { credential: string } | { refused: 'no_credential_for_scope' | 'ambiguous_scope' }

/**
 * The credential an LWA `client_credentials` request for `scope` means: among the
 * `client_credentials` credentials with exactly that scope that the caller's policy allows,
 * the only one; if several, the only one whose app's client id is the `clientId` the SDK
 * sent. One allowed credential is chosen whatever `clientId` says, since SDK users set it to
 * anything (the refresh_token grant ignores it too). Several left (the same app in two
 * regions, or no `clientId`) is refused rather than guessed: a caller should get the same
 * credential every time, and the broker cannot tell which region an SDK meant (they all ask
 * api.amazon.com); a policy rule naming one of them settles it.
 */
export async function grantlessCredential(
  deps: GrantlessDeps,
  caller: Principal,
  scope: string,
  clientId: string | undefined,
): Promise<GrantlessChoice> {
  const allowed = deps.exchange.allowedAmong(caller, withScope(deps.catalogue, scope))
  if (allowed.length === 0) return { refused: 'no_credential_for_scope' }
  if (allowed.length === 1) return { credential: allowed[0] as string }
  if (clientId === undefined) return { refused: 'ambiguous_scope' }
  const ids = await Promise.all(allowed.map((name) => clientIdOf(deps, name)))
  const matching = allowed.filter((_, i) => ids[i] === clientId)
  return matching.length === 1 ? { credential: matching[0] as string } : { refused: 'ambiguous_scope' }
}

function withScope(catalogue: Catalogue, scope: string): string[] {
  return catalogue.names().filter((name) => {
    const config = catalogue.get(name)
    return config?.grant === 'client_credentials' && config.scope === scope
  })
}

/**
 * A credential's app client id: from its cached token when there is one, else from its app
 * secret (the store's cached copy first). Only `client_id` is read; a secret that cannot be
 * read leaves the credential unmatched, never fails the request.
 */
async function clientIdOf(deps: GrantlessDeps, name: string): Promise<string | undefined> {
  const cached = deps.tokens.peek(name).token?.clientId
  if (cached !== undefined) return cached
  const appSecret = deps.catalogue.get(name)?.appSecret
  if (appSecret === undefined) return undefined
  const secret = deps.secrets.peek?.(appSecret) ?? await deps.secrets.get(appSecret).catch(() => undefined)
  const id = secret?.fields.client_id
  return typeof id === 'string' ? id : undefined
}
