import { Type } from 'typebox'
import type { ErrorCode } from '../../errors.js'

/** The grants POST /auth/o2/token serves. */
export const refreshTokenGrant = 'refresh_token'
export const clientCredentialsGrant = 'client_credentials'
export const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange'

/** RFC 8693 token type identifiers. */
export const jwtTokenType = 'urn:ietf:params:oauth:token-type:jwt'
export const idTokenType = 'urn:ietf:params:oauth:token-type:id_token'
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token'
/**
 * Subject tokens the broker takes: the caller's JWT, labelled either way. A Kubernetes
 * projected service-account token is an OIDC ID token in shape, and generic STS clients
 * label it either way; the broker verifies both exactly as it verifies a Bearer JWT.
 */
export const subjectTokenTypes: readonly string[] = [jwtTokenType, idTokenType]

/** LWA's client_credentials answer (LWA.md): the scope, and no refresh token. */
export const GrantlessToken = Type.Object({
  access_token: Type.String(),
  scope: Type.String({ description: 'The scope asked for: the chosen credential\'s configured `scope`.' }),
  token_type: Type.String(),
  expires_in: Type.Integer(),
}, { additionalProperties: false, title: 'LwaGrantlessTokenResponse' })

/** RFC 8693's answer, with GET /token's `headers` beside it. */
export const ExchangedToken = Type.Object({
  access_token: Type.String(),
  issued_token_type: Type.Literal(accessTokenType),
  token_type: Type.String({ description: 'As LWA says it, usually `bearer` (case-insensitive, RFC 6749 §7.1).' }),
  expires_in: Type.Integer(),
  headers: Type.Record(Type.String(), Type.String(), {
    description: 'Extension: exactly the headers the Amazon API wants with this token, as `GET /token` answers them.',
  }),
}, { additionalProperties: false, title: 'TokenExchangeResponse' })

export interface LwaAnswer { status: number; error: string; description: string }

export const invalidScope: LwaAnswer = {
  status: 400, error: 'invalid_scope', description: 'The request has an invalid parameter : scope',
}
/** One answer for a credential that does not exist and one the caller may not use. */
export const invalidTarget: LwaAnswer = {
  status: 400, error: 'invalid_target', description: 'No token can be issued for the requested resource',
}
export const unsupportedTokenType: LwaAnswer = {
  status: 400,
  error: 'unsupported_token_type',
  description: 'The broker takes a JWT subject token and issues access tokens',
}

/**
 * Where a grant's answers differ from the refresh_token grant's (`lwaErrors`). A grantless
 * request names a scope, so a scope no allowed credential has is LWA's `invalid_scope`; a
 * token exchange names its credential as the target, so RFC 8693's `invalid_target` — also
 * when LWA refused the credential's stored grant, which only a caller the policy allows ever
 * learns. A subject token that is missing or not acceptable is `invalid_request`: RFC 8693
 * (section 2.2.2) says MUST, for an invalid request and for an invalid or unacceptable token.
 */
export const grantAnswers = new Map<string, Partial<Record<ErrorCode, LwaAnswer>>>([
  [clientCredentialsGrant, { forbidden: invalidScope, unknown_credential: invalidScope }],
  [tokenExchangeGrant, {
    forbidden: invalidTarget,
    unknown_credential: invalidTarget,
    credential_rejected: { ...invalidTarget, description: 'Login with Amazon refused the credential' },
  }],
])

export const badSubjectToken: LwaAnswer = {
  status: 400, error: 'invalid_request', description: 'The subject_token is not acceptable',
}

export const missingSubjectToken: LwaAnswer = {
  status: 400, error: 'invalid_request', description: 'A token exchange needs its subject_token: the caller\'s JWT',
}

export const unsupportedGrant: LwaAnswer = {
  status: 400,
  error: 'unsupported_grant_type',
  description: `The authorization grant type is not supported: the broker serves ${refreshTokenGrant}, `
    + `${clientCredentialsGrant} and ${tokenExchangeGrant}`,
}

/**
 * A request check's own answer, by the `logDetail.reason` of the `invalid_request` it raised
 * (the broker's code stays `invalid_request`; the log says which check).
 */
export const requestCheckAnswers = new Map<string, LwaAnswer>([
  ['unsupported_grant_type', unsupportedGrant],
  ['unsupported_token_type', unsupportedTokenType],
  ['invalid_target', invalidTarget],
])
