import { BrokerError } from '../../errors.js'
import type { TokenRequest } from '../../exchange.js'
import type { Services } from '../../services.js'
import type { IssuedToken } from '../../tokens/index.js'
import type { FastifyRequest } from 'fastify'
import type { CompatGrant } from './compat-grant.js'
import { grantlessCredential } from './grantless-credential.js'
import { secondsLeft } from './token.js'

/**
 * `grant_type=client_credentials`: an SDK's grantless call. The scope is resolved to one
 * credential the caller may use (grantless-credential.ts), which then goes through the
 * exchange as any named credential does. The answer is LWA's: `scope`, no `refresh_token`;
 * the region is the credential's own, whatever LWA host the SDK thought it was calling.
 */
export function grantlessGrant(services: Services): CompatGrant {
  return async (request, body, ask) => {
    const { scope } = body
    if (scope === undefined || scope === '') {
      throw new BrokerError('invalid_request', 'scope is required with grant_type=client_credentials')
    }
    const token = await grantlessToken(services, request, { scope, clientId: body.client_id }, ask)
    return {
      access_token: token.accessToken,
      scope,
      token_type: token.tokenType,
      expires_in: secondsLeft(services.clock, token.expiresAtMs),
    }
  }
}

async function grantlessToken(
  services: Services,
  request: FastifyRequest,
  { scope, clientId }: { scope: string; clientId: string | undefined },
  ask: (credential: string) => TokenRequest,
): Promise<IssuedToken> {
  const { exchange } = services
  // Refusals before a credential is chosen are audited under the scope; no credential name has a colon.
  const asked = ask(`scope:${scope}`)
  // No verified caller: the exchange refuses it (401), audited and counted as on every route.
  if (!request.principal) return exchange.issue(asked)
  const choice = await grantlessCredential(services, request.principal, scope, clientId)
  if ('refused' in choice) {
    throw exchange.refuse(asked, new BrokerError('forbidden', 'no credential the caller may use has this scope', {
      logDetail: { reason: choice.refused },
    }))
  }
  return exchange.issue({ ...asked, credential: choice.credential })
}
