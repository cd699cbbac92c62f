import { credentialNamePattern } from '../../config/schema.js'
import { BrokerError } from '../../errors.js'
import type { Services } from '../../services.js'
import type { CompatRequest } from '../contract/lwa-compat.js'
import { accessTokenType, subjectTokenTypes } from '../contract/lwa-compat-grants.js'
import type { CompatGrant } from './compat-grant.js'
import { secondsLeft } from './token.js'

const credentialName = new RegExp(credentialNamePattern)

/**
 * RFC 8693 token exchange: the caller's JWT is the `subject_token` (the caller guard takes
 * it from there for this grant alone), the credential is the `resource` or `audience`. The
 * same exchange as GET /token; the answer carries GET /token's `headers` beside RFC 8693's
 * fields, from the same issued token.
 */
export function tokenExchangeGrant(services: Services): CompatGrant {
  return async (_request, body, ask) => {
    const token = await services.exchange.issue(ask(targetOf(body)))
    return {
      access_token: token.accessToken,
      issued_token_type: accessTokenType,
      token_type: token.tokenType,
      expires_in: secondsLeft(services.clock, token.expiresAtMs),
      headers: token.headers,
    }
  }
}

/** The request's own checks, before the caller's JWT is looked at: the credential it names. */
function targetOf(body: CompatRequest): string {
  const { subject_token_type: subjectType, requested_token_type: requested, resource, audience } = body
  if (subjectType === undefined) throw refused('subject_token_type is required')
  // Delegation would make the answer the actor's too: refused rather than silently dropped.
  if (body.actor_token !== undefined) throw refused('actor_token is not served: the broker issues for the subject only')
  if (!subjectTokenTypes.includes(subjectType) || (requested !== undefined && requested !== accessTokenType)) {
    throw refused('only a JWT subject token for an access token is served', 'unsupported_token_type')
  }
  const target = resource ?? audience
  if (target === undefined) throw refused('resource or audience must name a broker credential')
  if (audience !== undefined && audience !== target) throw refused('resource and audience name different credentials')
  // Not a name the broker could have: the answer of a name it does not have.
  if (!credentialName.test(target)) throw refused('resource is not a credential name', 'invalid_target')
  return target
}

/** `reason`: the check's own RFC answer (requestCheckAnswers); without one, plain `invalid_request`. */
function refused(message: string, reason?: 'unsupported_token_type' | 'invalid_target'): BrokerError {
  return new BrokerError('invalid_request', message, reason ? { logDetail: { reason } } : {})
}
